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
    func open(_ root: ChunkID) async throws -> BlockMap? {
        if root.isZero { return nil }
        do {
            return try await reader.open(root: root)
        } catch {
            throw RecoveryChainError(.corruptMetadata, "block map \(root.shortHex) cannot be opened", underlying: error)
        }
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

    func builder(base: ChunkID?, sizeBytes: UInt64, blockSizeBytes: Int) async throws -> Builder {
        try await Builder(base: try await base.asyncMap { try await open($0) } ?? nil, sizeBytes: sizeBytes, blockSizeBytes: blockSizeBytes, reader: reader)
    }

    /// The chunk IDs of blocks `range` of a map (``ChunkID/zero`` for zero blocks and blocks
    /// past the map's end).
    func chunkIDs(root: ChunkID, sizeBytes: UInt64, blockSizeBytes: Int, blocks range: Range<UInt64>) async throws -> [ChunkID] {
        var out = [ChunkID](repeating: .zero, count: range.count)
        guard let map = try await open(root) else { return out }
        for try await entry in reader.entries(of: map, blocks: range) {
            out[Int(entry.blockIndex - range.lowerBound)] = entry.id
        }
        return out
    }

    /// Blocks that differ between two maps (ascending), including grown and cut parts that hold
    /// data or used to. `from.root == .zero` compares against nothing.
    func changedBlocks(from: (root: ChunkID, sizeBytes: UInt64), to: (root: ChunkID, sizeBytes: UInt64), blockSizeBytes: Int) async throws -> [UInt64] {
        guard let target = try await open(to.root) else { return [] }
        let base = try await open(from.root)
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
            _ = try await store.readChunk(id, into: buffer)
            return
        }
        let full = try await store.chunk(id)
        full.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: buffer.count) }
    }
}
