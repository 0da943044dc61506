import CBlockSnapLinux

#if canImport(Glibc)
    import Glibc
#endif

/// A file or block device being written by a restore; closes once.
final class RestoreTarget: @unchecked Sendable {
    // The descriptor is written with pwrite at disjoint offsets from several workers, which the
    // kernel allows; the object itself is immutable after init.
    let fd: Int32
    let path: String
    /// Whether untouched ranges already read as zeros (a new or truncated regular file).
    let startsZeroed: Bool

    /// Opens `path` for a restore of `sizeBytes`.
    /// - Parameter inPlace: Keep the current contents (in-place revert) instead of starting empty.
    init(path: String, sizeBytes: UInt64, inPlace: Bool) throws {
        var flags = O_WRONLY | O_CREAT | O_CLOEXEC
        if !inPlace { flags |= 0 }
        let fd = open(path, flags, 0o644)
        guard fd >= 0 else { throw RecoveryChainError.errno(errno, "cannot open restore target \(path)") }
        let isBlock = cbs_is_block_device(fd) == 1
        if isBlock {
            var deviceSize: UInt64 = 0
            guard cbs_block_device_size(fd, &deviceSize) == 0 else {
                let e = errno
                close(fd)
                throw RecoveryChainError.errno(e, "cannot read the size of block device \(path)")
            }
            guard deviceSize >= sizeBytes else {
                close(fd)
                throw RecoveryChainError(
                    .invalidArgument,
                    "block device \(path) holds \(deviceSize) bytes, less than the disk's \(sizeBytes)")
            }
            startsZeroed = false
        } else {
            if !inPlace {
                guard ftruncate(fd, 0) == 0 else {
                    let e = errno
                    close(fd)
                    throw RecoveryChainError.errno(e, "cannot truncate restore target \(path)")
                }
            }
            guard ftruncate(fd, off_t(sizeBytes)) == 0 else {
                let e = errno
                close(fd)
                throw RecoveryChainError.errno(
                    e, "cannot size restore target \(path) to \(sizeBytes) bytes (disk full?)")
            }
            startsZeroed = !inPlace
        }
        self.fd = fd
        self.path = path
    }

    deinit { close(fd) }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws {
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw RecoveryChainError.errno(
                    errno, "writing \(bytes.count) bytes at offset \(offset) of \(path) failed")
            }
            done += n
        }
    }

    /// Makes `range` read as zeros: punches a hole where the file system can, writes zeros otherwise.
    func zero(_ range: Range<UInt64>, scratch: UnsafeMutableRawBufferPointer) throws {
        if cbs_punch_hole(fd, Int64(range.lowerBound), Int64(range.count)) == 0 { return }
        memset(scratch.baseAddress!, 0, scratch.count)
        var offset = range.lowerBound
        while offset < range.upperBound {
            let n = Int(min(UInt64(scratch.count), range.upperBound - offset))
            try write(UnsafeRawBufferPointer(rebasing: scratch[0..<n]), at: offset)
            offset += UInt64(n)
        }
    }

    func sync() throws {
        guard fsync(fd) == 0 else { throw RecoveryChainError.errno(errno, "flushing restore target \(path) failed") }
    }
}
