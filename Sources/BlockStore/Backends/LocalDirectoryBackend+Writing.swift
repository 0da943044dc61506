import CBlockSnapLinux

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension LocalDirectoryBackend {
    /// Writes `data` to a temporary file, then moves it to `key` (replacing any object) or
    /// links it there (only when the key is free), and flushes the directory.
    ///
    /// The temporary file is created in `.tmp/` and placed relative to the descriptor of the
    /// key's directory, reached without following links, so the object lands under the root
    /// or nowhere.
    /// - Returns: Whether the object was placed (always, when `replacing`).
    func place(_ key: ObjectKey, data: [UInt8], replacing: Bool) throws -> Bool {
        let target = try path(of: key)
        let (folders, name) = Self.split(key)
        guard let temporaryFolder = try openTemporaryFolder(creating: true) else {
            preconditionFailure("openTemporaryFolder(creating: true) returned no folder")
        }
        let temporaryName = try writeTemporaryFile(data, in: temporaryFolder.rawValue)
        var placed = false
        defer { if !placed { _ = unlinkat(temporaryFolder.rawValue, temporaryName, 0) } }
        var error: Int32 = ENOENT
        for _ in 0..<Self.placementAttemptsMax {
            // Nil: a concurrent delete removed a directory of the path meanwhile; try again.
            guard let directory = try openDirectory(folders, creating: true, for: key) else { continue }
            let result =
                replacing
                ? renameat(temporaryFolder.rawValue, temporaryName, directory.rawValue, name)
                : linkat(temporaryFolder.rawValue, temporaryName, directory.rawValue, name, 0)
            error = result == 0 ? 0 : errno
            switch error {
            case 0:
                placed = replacing
                try flushDirectory(directory.rawValue, path: parentPath(of: key))
                return true
            case EEXIST, EISDIR, ENOTEMPTY:
                guard try entry(name, in: directory.rawValue, path: target) == .directory else {
                    guard !replacing else { continue }  // Replaced meanwhile: try again.
                    // Flush on EEXIST too: the object may come from a concurrent creator that has
                    // not flushed the directory yet, and the caller relies on it being there.
                    try flushDirectory(directory.rawValue, path: parentPath(of: key))
                    return false
                }
                // An empty directory left by an interrupted delete is removed; one holding other
                // keys is a conflict.
                guard unlinkat(directory.rawValue, name, AT_REMOVEDIR) == 0 else {
                    throw keyConflict(key, directoryAt: target)
                }
            case ENOENT:
                // The directory was removed by a concurrent delete, unless the temporary file
                // itself vanished.
                guard try entry(temporaryName, in: temporaryFolder.rawValue, path: target) != .missing else {
                    throw BlockStoreError(
                        .ioError,
                        "the temporary file of object \(key) vanished from \(self.temporaryFolder) before it "
                            + "was moved into place: something removes files there (a cleanup with too "
                            + "short an age?)")
                }
            case ENOTDIR:
                throw keyConflict(key, directoryAt: nil)
            case EPERM where !replacing, EOPNOTSUPP where !replacing:
                throw BlockStoreError(
                    .ioError,
                    "the file system of \(root) does not support hard links, which create-only writes "
                        + "need: put the store on a local POSIX file system (ext4, xfs, btrfs, apfs) "
                        + "(errno \(error))")
            default:
                throw BlockStoreError.fileSystem(
                    error,
                    action: replacing ? "move a written object into place at" : "link a written object into place at",
                    path: target, volume: root)
            }
        }
        throw BlockStoreError.fileSystem(
            error, action: "place a written object (directories kept changing) at", path: target, volume: root)
    }

    /// Writes `data` to a new file in the open `.tmp/` folder and flushes it.
    /// - Returns: The file's name in the folder.
    func writeTemporaryFile(_ data: [UInt8], in folder: Int32) throws -> String {
        let name = Hex.random(byteCount: Self.temporaryNameByteCount) + ".tmp"
        let path = temporaryFolder + "/" + name
        let fd = openat(folder, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw BlockStoreError.fileSystem(
                errno, action: "create a temporary file", path: path, volume: root)
        }
        let owner = FileDescriptorOwner(taking: fd)
        var error = data.withUnsafeBytes { bytes -> Int32 in
            var done = 0
            while done < bytes.count {
                let written = write(owner.rawValue, bytes.baseAddress! + done, bytes.count - done)
                if written < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                done += written
            }
            return 0
        }
        if error == 0 && cbs_fsync(owner.rawValue) != 0 { error = cbs_errno() }
        let closeError = owner.close()
        if error == 0 { error = closeError }
        guard error == 0 else {
            _ = unlinkat(folder, name, 0)
            throw BlockStoreError.fileSystem(
                error, action: "write \(data.count) bytes to", path: path, volume: root)
        }
        return name
    }
}
