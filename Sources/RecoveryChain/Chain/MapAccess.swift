import BlockStore
import PageRangeDiff

/// The block-map operations the chain needs, over the store and the chain's node cache.
struct MapAccess: Sendable {
    let store: ChunkStore
    let reader: BlockMapReader

    init(store: ChunkStore, cache: NodeCache) {
        self.store = store
        self.reader = BlockMapReader(store: store, cache: cache)
    }

    /// Opens a map by its root; `.zero` stands for "no map".
    ///
    /// The map's own geometry must be the one the point's metadata gives (disk size and block
    /// size), so that no block index or length computed from the metadata lies outside the map.
    /// - Throws: `corruptMetadata` when the map cannot be opened or its geometry disagrees.
    func open(_ root: ChunkID, sizeBytes: UInt64, blockSizeBytes: Int) async throws -> BlockMap? {
        if root.isZero { return nil }
        let map: BlockMap
        do {
            map = try await reader.open(root: root)
        } catch {
            throw RecoveryChainError(.corruptMetadata, "block map \(root.shortHex) cannot be opened", underlying: error)
        }
        guard map.diskSizeBytes == sizeBytes, map.blockSizeBytes == UInt64(blockSizeBytes) else {
            throw RecoveryChainError(
                .corruptMetadata,
                "block map \(root.shortHex) describes \(map.diskSizeBytes) bytes in \(map.blockSizeBytes)-byte blocks, but its point says \(sizeBytes) bytes in \(blockSizeBytes)-byte blocks"
            )
        }
        return map
    }

    /// A map under construction from a base map plus changes given in ascending block order,
    /// written as they come (memory bounded by one tree path).
    final class Builder: @unchecked Sendable {
        // Used by one task at a time: the disk's backup task.
        private var builder: BlockMapBuilder

        init(base: BlockMap?, sizeBytes: UInt64, blockSizeBytes: Int, reader: BlockMapReader) async throws {
            let geometry: BlockMapGeometry
            if let base {
                geometry = try base.geometry.resized(to: sizeBytes)
            } else {
                geometry = try BlockMapGeometry(diskSizeBytes: sizeBytes, blockSizeBytes: UInt64(blockSizeBytes))
            }
            builder = try await BlockMapBuilder(base: base, geometry: geometry, reader: reader)
        }

        func add(_ changes: [(UInt64, ChunkID)]) async throws {
            for (block, id) in changes { try await builder.set(blockIndex: block, to: id) }
        }

        func finish() async throws -> ChunkID {
            try await builder.finish().rootID
        }
    }

    /// A builder for a map of `sizeBytes`, starting from the map `base` (of `base.sizeBytes`).
    func builder(base: (root: ChunkID, sizeBytes: UInt64)?, sizeBytes: UInt64, blockSizeBytes: Int) async throws
        -> Builder
    {
        let baseMap =
            try await base.asyncMap { try await open($0.root, sizeBytes: $0.sizeBytes, blockSizeBytes: blockSizeBytes) }
            ?? nil
        return try await Builder(base: baseMap, sizeBytes: sizeBytes, blockSizeBytes: blockSizeBytes, reader: reader)
    }

    /// The chunk IDs of blocks `range` of a map (`ChunkID.zero` for zero blocks and blocks
    /// past the map's end).
    func chunkIDs(root: ChunkID, sizeBytes: UInt64, blockSizeBytes: Int, blocks range: Range<UInt64>) async throws
        -> [ChunkID]
    {
        var out = [ChunkID](repeating: .zero, count: range.count)
        guard let map = try await open(root, sizeBytes: sizeBytes, blockSizeBytes: blockSizeBytes) else { return out }
        for try await entry in reader.entries(of: map, blocks: range) {
            guard range.contains(entry.blockIndex) else {
                throw RecoveryChainError(
                    .corruptMetadata, "block map \(root.shortHex) lists block \(entry.blockIndex) outside \(range)")
            }
            out[Int(entry.blockIndex - range.lowerBound)] = entry.id
        }
        return out
    }

    /// Blocks that differ between two maps (ascending), including grown and cut parts that hold
    /// data or used to. `from.root == .zero` compares against nothing.
    func changedBlocks(
        from: (root: ChunkID, sizeBytes: UInt64), to: (root: ChunkID, sizeBytes: UInt64), blockSizeBytes: Int
    ) async throws -> [UInt64] {
        guard let target = try await open(to.root, sizeBytes: to.sizeBytes, blockSizeBytes: blockSizeBytes) else {
            return []
        }
        let base = try await open(from.root, sizeBytes: from.sizeBytes, blockSizeBytes: blockSizeBytes)
        var out: [UInt64] = []
        let b = UInt64(blockSizeBytes)
        for try await range in reader.ranges(from: base, to: target) {
            var block = range.range.lowerBound / b
            let end = min((range.range.upperBound + b - 1) / b, target.blockCount)
            if let last = out.last, last >= block { block = last + 1 }
            while block < end {
                out.append(block)
                block += 1
            }
        }
        return out
    }
}

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        switch self {
        case .some(let value): return try await transform(value)
        case .none: return nil
        }
    }
}

/// Lets exact-mode diffs read block contents from the store (padded last blocks are cut to the
/// length the diff asks for).
struct StoreContents: ChunkContentSource {
    let store: ChunkStore

    func readChunk(_ id: ChunkID, into buffer: UnsafeMutableRawBufferPointer) async throws {
        guard let length = store.length(of: id), length > buffer.count else {
            let n = try await store.readChunk(id, into: buffer)
            guard n == buffer.count else {
                // A shorter chunk would leave the rest of the buffer as it was: wrong contents.
                throw RecoveryChainError(
                    .corruptMetadata,
                    "a block maps to chunk \(id.shortHex) of \(n) bytes, shorter than the \(buffer.count) bytes the block holds"
                )
            }
            return
        }
        let full = try await store.chunk(id)
        full.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: buffer.count) }
    }
}
