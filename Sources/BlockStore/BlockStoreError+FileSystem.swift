#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension BlockStoreError {
    /// The error for a failed file-system call, with a message that names the path and says what
    /// to do.
    ///
    /// `ENOENT` becomes ``Code/notFound`` and `ENAMETOOLONG` ``Code/limitExceeded``; everything
    /// else is an ``Code/ioError``. Each message starts with what went wrong in plain words
    /// ("permission denied on …", "disk full …").
    /// The `errno` value and its system text end every message.
    ///
    /// - Parameters:
    ///   - value: The `errno` of the failed call.
    ///   - action: What was being done, as a verb phrase: `"create a temporary file"`.
    ///   - path: The path the call was given.
    ///   - volume: The directory whose volume should be checked when it is full; `path` if nil.
    package static func fileSystem(
        _ value: Int32, action: String, path: String, volume: String? = nil
    ) -> BlockStoreError {
        let cause = "(errno \(value): \(String(cString: strerror(value))))"
        switch value {
        case ENOENT:
            return BlockStoreError(.notFound, "\(path) does not exist: cannot \(action) \(cause)")
        case EACCES, EPERM:
            return BlockStoreError(
                .ioError,
                "permission denied on \(path): cannot \(action); give this process read and write "
                    + "access to it \(cause)")
        case ENOSPC, EDQUOT:
            return BlockStoreError(
                .ioError,
                "disk full: cannot \(action) \(path); free space or raise the quota on the volume "
                    + "holding \(volume ?? path) \(cause)")
        case EROFS:
            return BlockStoreError(
                .ioError,
                "read-only file system: cannot \(action) \(path); mount it read-write, or only "
                    + "read from it \(cause)")
        case EMFILE, ENFILE:
            return BlockStoreError(
                .ioError,
                "too many open files: cannot \(action) \(path); raise the open-file limit "
                    + "(ulimit -n) or lower the concurrency \(cause)")
        case EIO:
            return BlockStoreError(
                .ioError,
                "I/O error: cannot \(action) \(path); the device may be failing, check the "
                    + "system log \(cause)")
        case ENAMETOOLONG:
            return BlockStoreError(
                .limitExceeded,
                "name too long: cannot \(action) \(path); a key segment is longer than the file "
                    + "system allows (255 bytes on most) or the root path is too long \(cause)")
        default:
            return BlockStoreError(.ioError, "cannot \(action) \(path) \(cause)")
        }
    }
}
