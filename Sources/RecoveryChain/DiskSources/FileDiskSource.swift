import CBlockSnapLinux

#if canImport(Glibc)
    import Glibc
#endif

/// A disk read from a raw image file or a block device with `pread`.
///
/// Sparse files report their holes through `SEEK_DATA`/`SEEK_HOLE`, so unallocated ranges are
/// skipped without reading; block devices report their size through `BLKGETSIZE64`.
public final class FileDiskSource: DiskSource {
    /// The path opened.
    public let path: String
    /// The file's or device's size in bytes, read when it was opened.
    public let sizeBytes: UInt64
    private let fd: Int32
    private let isBlockDevice: Bool

    /// Opens a file or block device read-only.
    ///
    /// Only a regular file or a block device is a disk. Anything else is refused before a byte is
    /// read: a character device (`/dev/null`, `/dev/zero`) or a FIFO would read as an empty or an
    /// endless disk, a directory or a socket cannot be read at offsets. A FIFO is opened without
    /// waiting for a writer, so refusing it never blocks.
    /// - Parameter path: The image file or block device; a symbolic link is followed.
    /// - Throws: ``RecoveryChainError`` `notFound` when nothing is at `path`; `invalidArgument`
    ///   (naming the path and what it is) for any other kind of file, for an empty disk (0
    ///   bytes) and for a size that is not a multiple of 512 bytes; `ioError` when it cannot be
    ///   opened or sized.
    public init(path: String) throws {
        // O_NONBLOCK: opening a FIFO must not wait for a writer; cleared again for reading.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            let e = errno
            if e == ENOENT { throw RecoveryChainError(.notFound, "disk \(path) does not exist") }
            if e == ENXIO || e == EOPNOTSUPP {
                // What open(2) says for a socket (and a device without a driver).
                var st = stat()
                let kind = stat(path, &st) == 0 ? Self.kind(of: st.st_mode) : "a special file"
                throw Self.notADisk(path, kind)
            }
            throw RecoveryChainError.errno(e, "cannot open disk \(path)")
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let e = errno
            close(fd)
            throw RecoveryChainError.errno(e, "cannot stat disk \(path)")
        }
        let type = st.st_mode & S_IFMT
        guard type == S_IFREG || type == S_IFBLK else {
            close(fd)
            throw Self.notADisk(path, Self.kind(of: st.st_mode))
        }
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0, fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == 0 else {
            let e = errno
            close(fd)
            throw RecoveryChainError.errno(e, "cannot set up disk \(path) for reading")
        }
        let isBlock = type == S_IFBLK
        var size: UInt64 = 0
        if isBlock {
            guard cbs_block_device_size(fd, &size) == 0 else {
                let e = errno
                close(fd)
                throw RecoveryChainError.errno(e, "cannot read the size of block device \(path)")
            }
        } else {
            size = UInt64(st.st_size)
        }
        guard size > 0 else {
            close(fd)
            throw RecoveryChainError(
                .invalidArgument,
                "disk \(path) is empty (0 bytes); a disk image or block device holds at least one 512-byte page"
            )
        }
        guard size % 512 == 0 else {
            close(fd)
            throw RecoveryChainError(
                .invalidArgument,
                "disk \(path) is \(size) bytes, not a multiple of 512; pad or truncate the image to whole 512-byte pages"
            )
        }
        self.path = path
        self.fd = fd
        self.sizeBytes = size
        self.isBlockDevice = isBlock
    }

    /// The refusal of a path that is not a regular file or block device.
    private static func notADisk(_ path: String, _ kind: String) -> RecoveryChainError {
        RecoveryChainError(
            .invalidArgument,
            "disk \(path) is \(kind), not a disk: give a regular image file or a block device")
    }

    /// A file type for messages, from `st_mode`.
    static func kind(of mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFREG: "a regular file"
        case S_IFBLK: "a block device"
        case S_IFCHR: "a character device"
        case S_IFIFO: "a FIFO (named pipe)"
        case S_IFSOCK: "a socket"
        case S_IFDIR: "a directory"
        case S_IFLNK: "a symbolic link"
        default: "a special file"
        }
    }

    deinit { close(fd) }

    /// Copies up to `buffer.count` bytes from `offsetBytes` (fewer only at the end of the disk).
    public func read(atOffset offsetBytes: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var done = 0
        while done < buffer.count {
            let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offsetBytes) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw RecoveryChainError.errno(
                    errno, "reading \(buffer.count) bytes at offset \(offsetBytes) of \(path) failed")
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// The file's data ranges from `SEEK_DATA`/`SEEK_HOLE` (nil where the file system cannot
    /// say): the rest reads as zeros and is backed up without reading.
    public func allocatedRanges() throws -> [Range<UInt64>]? {
        guard !isBlockDevice, cbs_seek_data() >= 0, sizeBytes > 0 else { return nil }
        var ranges: [Range<UInt64>] = []
        var offset: off_t = 0
        let end = off_t(sizeBytes)
        while offset < end {
            let data = lseek(fd, offset, cbs_seek_data())
            if data < 0 {
                if errno == ENXIO { break }  // no data after offset
                if errno == EINVAL { return nil }  // file system without hole support
                throw RecoveryChainError.errno(errno, "SEEK_DATA on \(path) failed")
            }
            var hole = lseek(fd, data, cbs_seek_hole())
            if hole < 0 { hole = end }
            ranges.append(UInt64(data)..<UInt64(min(hole, end)))
            offset = hole
        }
        return ranges
    }
}
