#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Owns one open file descriptor and closes it exactly once.
///
/// The owner is `~Copyable`, so the descriptor cannot be closed twice or used after it was
/// closed: ``close()`` consumes the owner, and an owner that goes out of scope without it closes
/// the descriptor in `deinit` (ignoring the result, as nothing can be done about it there).
/// Close explicitly when the result matters, e.g. after writing.
struct FileDescriptorOwner: ~Copyable {
    /// The descriptor, valid for the owner's lifetime. Never close it directly.
    let rawValue: Int32

    /// Takes ownership of an open descriptor.
    /// - Precondition: `rawValue` is a valid descriptor (not -1).
    init(taking rawValue: Int32) {
        precondition(rawValue >= 0, "FileDescriptorOwner needs an open descriptor")
        self.rawValue = rawValue
    }

    /// Closes the descriptor.
    /// - Returns: 0, or the `errno` of a failed `close(2)` (the descriptor is released anyway).
    consuming func close() -> Int32 {
        let result = closeIgnoringEINTR(rawValue)
        discard self
        return result
    }

    deinit {
        _ = closeIgnoringEINTR(rawValue)
    }
}

/// `close(2)` that does not retry on `EINTR` (on Linux the descriptor is released even then).
private func closeIgnoringEINTR(_ fd: Int32) -> Int32 {
    if close(fd) == 0 { return 0 }
    let error = errno
    return error == EINTR ? 0 : error
}
