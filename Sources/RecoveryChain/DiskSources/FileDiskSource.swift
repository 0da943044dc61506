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
    /// - Throws: ``RecoveryChainError`` `notFound`, `ioError`, or `invalidArgument` when the size
    ///   is not a multiple of 512 bytes.
    public init(path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let e = errno
            if e == ENOENT { throw RecoveryChainError(.notFound, "disk \(path) does not exist") }
            throw RecoveryChainError.errno(e, "cannot open disk \(path)")
        }
        let isBlock = cbs_is_block_device(fd) == 1
        var size: UInt64 = 0
        if isBlock {
            guard cbs_block_device_size(fd, &size) == 0 else {
                let e = errno
                close(fd)
                throw RecoveryChainError.errno(e, "cannot read the size of block device \(path)")
            }
        } else {
            var st = stat()
            guard fstat(fd, &st) == 0 else {
                let e = errno
                close(fd)
                throw RecoveryChainError.errno(e, "cannot stat disk \(path)")
            }
            size = UInt64(st.st_size)
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
