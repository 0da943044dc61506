/// Chunks that one ranged read of one pack fetches together: neighbours in the pack, in pack
/// order, with at most a small gap of other chunks between two of them (see
/// ``ChunkStore/planReads(_:gapBytesMax:readBytesMax:)``).
///
/// A run whose pack the index did not know when it was planned holds a single chunk and is read
/// on its own (looked up again when read).
package struct ChunkReadRun: Sendable {
    /// One chunk of the run: its position in the planned list and where it was stored.
    package struct Member: Sendable {
        /// The chunk's position in the list given to `planReads`.
        package var position: Int
        /// The chunk.
        package var id: ChunkID
        /// Where the index placed it when the run was planned.
        var location: ChunkLocation?
    }

    /// The pack read, or nil for a lone chunk read through the index when the run is read.
    let pack: ChunkID?
    /// The byte range of the pack that one request fetches.
    let range: Range<UInt64>
    /// The chunks, in pack order.
    package private(set) var members: [Member]

    init(pack: ChunkID?, range: Range<UInt64>, members: [Member]) {
        self.pack = pack
        self.range = range
        self.members = members
    }

    /// Bytes the run's request fetches.
    package var byteCount: Int { range.count }
}
