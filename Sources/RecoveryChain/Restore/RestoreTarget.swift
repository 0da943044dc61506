import CBlockSnapLinux

#if canImport(Glibc)
    import Glibc
#endif

/// A file or block device being written by a restore; closes once.
///
/// Only a regular file or a block device is a target: a restore writes at offsets, which a FIFO,
/// a socket or a character device cannot take. A FIFO is opened without waiting for a reader,
/// so refusing it never blocks.
final class RestoreTarget: @unchecked Sendable {
    // The descriptor is written with pwrite at disjoint offsets from several workers, which the
    // kernel allows; the object itself is immutable after init.
    let fd: Int32
    let path: String
    /// Whether untouched ranges already read as zeros (a new or truncated regular file).
    let startsZeroed: Bool
    /// Whether this restore created the file (so a failed restore removes it again).
    let created: Bool

    /// Opens `path` for a restore of `sizeBytes`.
    /// - Parameters:
    ///   - path: The target file or block device; a symbolic link is followed.
    ///   - sizeBytes: The disk's size.
    ///   - inPlace: Keep the current contents (in-place revert) instead of starting empty; the
    ///     target must then exist already.
    /// - Throws: `notFound` for a missing in-place target, `invalidArgument` for a target that is
    ///   neither a regular file nor a block device or a device smaller than the disk, `ioError`.
    init(path: String, sizeBytes: UInt64, inPlace: Bool) throws {
        // O_NONBLOCK: opening a FIFO must not wait for a reader; cleared again before writing.
        let existing = O_WRONLY | O_CLOEXEC | O_NONBLOCK
        var fd = open(path, existing)
        var created = false
        // A new file is created exclusively, so `created` never claims a file someone else made
        // (a file appearing between the two opens is opened as an existing one).
        var attempts = 0
        while fd < 0 && errno == ENOENT && !inPlace && attempts < 3 {
            attempts += 1
            fd = open(path, O_WRONLY | O_CLOEXEC | O_CREAT | O_EXCL, 0o644)
            if fd >= 0 {
                created = true
                break
            }
            guard errno == EEXIST else { break }
            fd = open(path, existing)
        }
        guard fd >= 0 else {
            let e = errno
            var st = stat()
            if e == ENOENT && inPlace {
                throw RecoveryChainError(
                    .notFound, "in-place restore target \(path) does not exist; restore the point to it whole instead")
            }
            if e == ENOENT && lstat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFLNK {
                // O_EXCL never creates through a link: a link planted at the target cannot
                // redirect a new file elsewhere.
                throw Self.notATarget(path, "a symbolic link to a missing file")
            }
            if e == ENXIO || e == EOPNOTSUPP || e == EISDIR {
                // What open(2) says for a socket, a device without a driver, a directory.
                let kind = stat(path, &st) == 0 ? FileDiskSource.kind(of: st.st_mode) : "a special file"
                throw Self.notATarget(path, kind)
            }
            throw RecoveryChainError.errno(e, "cannot open restore target \(path)")
        }
        // Until init succeeds, a failure closes the descriptor and removes a file it created.
        func abandon(_ error: RecoveryChainError) -> RecoveryChainError {
            if created { Self.removeFile(path, ifStillHeldBy: fd) }
            close(fd)
            return error
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw abandon(RecoveryChainError.errno(errno, "cannot stat restore target \(path)"))
        }
        let type = st.st_mode & S_IFMT
        guard type == S_IFREG || type == S_IFBLK else {
            throw abandon(Self.notATarget(path, FileDiskSource.kind(of: st.st_mode)))
        }
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0, fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == 0 else {
            throw abandon(RecoveryChainError.errno(errno, "cannot set up restore target \(path) for writing"))
        }
        if type == S_IFBLK {
            var deviceSize: UInt64 = 0
            guard cbs_block_device_size(fd, &deviceSize) == 0 else {
                throw abandon(RecoveryChainError.errno(errno, "cannot read the size of block device \(path)"))
            }
            guard deviceSize >= sizeBytes else {
                throw abandon(
                    RecoveryChainError(
                        .invalidArgument,
                        "block device \(path) holds \(deviceSize) bytes, less than the disk's \(sizeBytes)"))
            }
        } else {
            if !inPlace && ftruncate(fd, 0) != 0 {
                throw abandon(RecoveryChainError.errno(errno, "cannot truncate restore target \(path)"))
            }
            guard ftruncate(fd, off_t(sizeBytes)) == 0 else {
                throw abandon(
                    RecoveryChainError.errno(
                        errno, "cannot size restore target \(path) to \(sizeBytes) bytes (disk full?)"))
            }
        }
        self.fd = fd
        self.path = path
        self.created = created
        self.startsZeroed = type == S_IFREG && !inPlace
    }

    /// The refusal of a path that is not a regular file or block device.
    private static func notATarget(_ path: String, _ kind: String) -> RecoveryChainError {
        RecoveryChainError(
            .invalidArgument,
            "restore target \(path) is \(kind); restore to a regular file or a block device")
    }

    /// Removes the file if this restore created it and it is still the same file at `path`
    /// (not one that replaced it meanwhile). A file that existed before is left alone.
    func removeIfCreated() {
        if created { Self.removeFile(path, ifStillHeldBy: fd) }
    }

    /// Unlinks `path` when it names the file open on `fd` (same device and inode).
    private static func removeFile(_ path: String, ifStillHeldBy fd: Int32) {
        var mine = stat()
        var there = stat()
        guard fstat(fd, &mine) == 0, stat(path, &there) == 0, mine.st_dev == there.st_dev,
            mine.st_ino == there.st_ino
        else { return }
        _ = unlink(path)
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
