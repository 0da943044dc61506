import BlockStore
import PageRangeDiff

/// The block-map operations the chain needs, over the store (wired to `PageRangeDiff.BlockMap`).
struct MapAccess: Sendable {
    let store: ChunkStore

    /// A map under construction from a base map plus changes given in ascending block order.
    final class Builder: @unchecked Sendable {
        // Used by one task at a time (the disk's backup task).
        var changes: [(UInt64, ChunkID)] = []
        let base: ChunkID?
        let sizeBytes: UInt64
        let blockSizeBytes: Int
        init(base: ChunkID?, sizeBytes: UInt64, blockSizeBytes: Int) {
            self.base = base
            self.sizeBytes = sizeBytes
            self.blockSizeBytes = blockSizeBytes
        }
        func add(_ more: [(UInt64, ChunkID)]) { changes.append(contentsOf: more) }
    }

    /// Finishes a map: writes the nodes on changed paths and returns the new root.
    func finish(_ builder: Builder) async throws -> ChunkID {
        fatalError("wired to BlockMap on merge")
    }

    /// The chunk IDs of blocks `range` of a map (``ChunkID/zero`` for zero blocks and blocks
    /// past the map's end).
    func chunkIDs(root: ChunkID, sizeBytes: UInt64, blockSizeBytes: Int, blocks range: Range<UInt64>) async throws -> [ChunkID] {
        fatalError("wired to BlockMap on merge")
    }

    /// Blocks that differ between two maps (ascending), including grown and cut parts.
    func changedBlocks(from: (root: ChunkID, sizeBytes: UInt64), to: (root: ChunkID, sizeBytes: UInt64), blockSizeBytes: Int) async throws -> [UInt64] {
        fatalError("wired to BlockMap on merge")
    }
}
