import BlockStore

/// Reads the bytes of stored chunks, for exact-mode diffs.
///
/// The chunk store implements this; tests and hosts that hold blocks in memory can too.
/// The zero chunk (`ChunkID.zero`) is never asked for: the diff knows it reads as zeros.
public protocol ChunkContentSource: Sendable {
    /// Reads the whole content of a chunk into `buffer`.
    ///
    /// - Parameters:
    ///   - id: The chunk to read (never `ChunkID.zero`).
    ///   - buffer: Exactly the block's length in its map (`blockSizeBytes`, or less for a
    ///     disk's partial last block). Fill all of it; the pointer must not escape the call.
    /// - Throws: Any error; the diff wraps it as ``PageRangeDiffError/Code/chunkReadFailed``.
    func readChunk(_ id: ChunkID, into buffer: UnsafeMutableRawBufferPointer) async throws
}
