/// A disk to back up: a fixed-size byte array readable at absolute offsets.
///
/// Implementations: ``FileDiskSource`` (raw image files and block devices) and
/// ``MemoryDiskSource``. Hosts may write their own (a hypervisor's snapshot reader, an NBD client).
/// Reads are synchronous and may block; the backup engine calls them from a bounded set of
/// worker tasks.
public protocol DiskSource: Sendable {
    /// The disk's size in bytes (a multiple of 512).
    var sizeBytes: UInt64 { get }

    /// Reads up to `buffer.count` bytes at `offsetBytes` into `buffer`.
    /// - Returns: The bytes read; fewer than asked only at the end of the disk.
    func read(atOffset offsetBytes: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws -> Int

    /// The ranges that may hold data, sorted; everything else reads as zeros and is skipped
    /// without reading. Nil when the source cannot tell (then every byte is read).
    func allocatedRanges() throws -> [Range<UInt64>]?
}

extension DiskSource {
    /// Sources that cannot tell holes from data.
    public func allocatedRanges() throws -> [Range<UInt64>]? { nil }
}
