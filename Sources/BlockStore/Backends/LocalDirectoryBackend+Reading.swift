#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension LocalDirectoryBackend {
    /// Flags of an object opened for reading: `O_NONBLOCK` so a FIFO put in its place cannot
    /// block the open or a read, `O_NOFOLLOW` so a symbolic link is refused.
    static let readFlags = O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC

    /// Reads `range` of an object (the whole object when nil), clamped to its end.
    ///
    /// The file is opened relative to its directory (reached without following links), checked
    /// with `fstat(2)` to be a regular file and, with a cap, to be no larger than `byteCountMax`,
    /// before a buffer is allocated.
    func read(_ key: ObjectKey, range: Range<UInt64>?, byteCountMax: Int?) throws -> [UInt8] {
        let target = try path(of: key)
        let (folders, name) = Self.split(key)
        guard let directory = try openDirectory(folders, creating: false, for: nil) else {
            throw notFound(key)
        }
        let fd = openat(directory.rawValue, name, Self.readFlags)
        guard fd >= 0 else {
            let error = errno
            switch error {
            case ENOENT, ENOTDIR, ENAMETOOLONG:
                throw notFound(key)
            case ELOOP, EMLINK, ENXIO, EOPNOTSUPP:
                // A symbolic link (ELOOP; EMLINK on FreeBSD), a socket (ENXIO, EOPNOTSUPP).
                switch try entry(name, in: directory.rawValue, path: target) {
                case .missing: throw notFound(key)
                case .other(let what): throw notAnObject(target, is: what)
                default: break
                }
            default:
                break
            }
            throw BlockStoreError.fileSystem(error, action: "open the object", path: target)
        }
        let owner = FileDescriptorOwner(taking: fd)
        var info = stat()
        guard fstat(owner.rawValue, &info) == 0 else {
            throw BlockStoreError.fileSystem(errno, action: "read the size of", path: target)
        }
        let sizeBytes: UInt64
        switch Self.entry(info) {
        case .regularFile(let size): sizeBytes = size
        case .directory, .missing: throw notFound(key)  // A directory of other keys.
        case .other(let what): throw notAnObject(target, is: what)
        }
        if let byteCountMax, sizeBytes > UInt64(byteCountMax) {
            throw BlockStoreError.objectTooLarge(
                key, sizeBytes: sizeBytes, byteCountMax: byteCountMax, location: location)
        }
        let end = min(range?.upperBound ?? sizeBytes, sizeBytes)
        let start = min(range?.lowerBound ?? 0, end)
        guard end - start <= UInt64(Int.max) else {
            throw BlockStoreError(
                .limitExceeded, "object \(key) at \(target) is \(sizeBytes) bytes, too large to read into memory")
        }
        let count = Int(end - start)
        var error: Int32 = 0
        var endedEarly = false
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            while initialized < count {
                let got = pread(
                    owner.rawValue, buffer.baseAddress! + initialized, count - initialized,
                    off_t(start) + off_t(initialized))
                if got > 0 {
                    initialized += got
                } else if got == 0 {
                    endedEarly = true
                    return
                } else if errno != EINTR {
                    error = errno
                    return
                }
            }
        }
        guard error == 0 else {
            throw BlockStoreError.fileSystem(error, action: "read", path: target)
        }
        if endedEarly {
            throw BlockStoreError(
                .ioError,
                "object \(key) at \(target) ended after \(start + UInt64(bytes.count)) of "
                    + "\(sizeBytes) bytes while being read: something outside BlockSnap is "
                    + "changing files in the store directory")
        }
        return bytes
    }

    /// The error for a missing object.
    func notFound(_ key: ObjectKey) -> BlockStoreError {
        BlockStoreError(.notFound, "object \(key) does not exist in \(location)")
    }
}
