/// The fixed limits and work sizes of the recovery chain, named once.
enum ChainLimits {
    /// Blocks a backup, restore or accounting pass handles per window: the map entries of one
    /// window (32 bytes each, 128 KiB) bound the memory a disk's job holds whatever its size.
    static let blocksPerWindow: UInt64 = 4096
    /// The longest tag accepted, in UTF-8 bytes (tags are labels, not payloads).
    static let tagByteCountMax = 256
    /// Alignment of block buffers: a page, so reads of block devices opened with O_DIRECT and
    /// memory copies stay aligned.
    static let bufferAlignment = 4096
    /// The default block size of a new chain (a host or the store's setting may pick another).
    static let defaultBlockSizeBytes = 64 * 1024
    /// Stored bytes a changed block may plausibly take, beyond two copies of the block, when
    /// checking metadata read back (seal overhead, pack header share, compression framing).
    static let storedBytesSlackPerBlock: UInt64 = 4096
}
