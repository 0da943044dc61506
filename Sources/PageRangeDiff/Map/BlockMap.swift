import BlockStore

/// One disk's state at one point: a persistent, content-addressed tree mapping each block to
/// the ID of its chunk (or to "zero").
///
/// The tree is made of `StoreNode`s: leaves hold `(slot = block within leaf, chunk ID)` for
/// non-zero blocks, interior nodes hold `(slot = child index, child node ID)` for non-zero
/// subtrees; the root's header carries the ``geometry``. Shape and encoding are canonical, so
/// equal content with equal geometry gives the same ``rootID`` whatever the history, and equal
/// subtrees are recognised by ID without reading them.
///
/// A `BlockMap` value is small (an ID and a geometry); nodes are read on demand through a
/// ``BlockMapReader`` and its ``NodeCache``.
///
/// ```swift
/// let store = MemoryNodeStore()
/// let full = try await BlockMap.build(base: nil, changes: [(blockIndex: 0, id: someChunk)],
///     newDiskSizeBytes: 1 << 30, in: store)
/// let next = try await BlockMap.build(base: full, changes: [(blockIndex: 7, id: otherChunk)],
///     in: store)
/// let page = try await BlockMapReader(store: store).diff(from: full, to: next)
/// ```
public struct BlockMap: Sendable, Hashable, CustomStringConvertible {
    /// The format version of block-map nodes this build writes and reads.
    public static let formatVersion = Int(MapNode.version)

    /// The ID of the root node (a `StoreNode` in the map's store).
    public let rootID: ChunkID
    /// Disk size, block size and fan-outs.
    public let geometry: BlockMapGeometry

    package init(rootID: ChunkID, geometry: BlockMapGeometry) {
        self.rootID = rootID
        self.geometry = geometry
    }

    /// The disk's size in bytes (a multiple of 512).
    public var diskSizeBytes: UInt64 { geometry.diskSizeBytes }
    /// The block size in bytes.
    public var blockSizeBytes: UInt64 { geometry.blockSizeBytes }
    /// The number of blocks (the last one possibly partial).
    public var blockCount: UInt64 { geometry.blockCount }

    /// `map 9f86d081 (64 KiB blocks × 16, …)`.
    public var description: String { "map \(rootID.shortHex) (\(geometry))" }

    /// Builds a map from a base map plus sorted changes, writing only the nodes on changed paths.
    ///
    /// - Parameters:
    ///   - base: The parent point's map, or nil for a first (full) map of an all-zero disk.
    ///   - changes: `(blockIndex, id)` pairs, strictly ascending by block index; `ChunkID.zero`
    ///     marks a block that now reads as zeros. Consumed in one pass (bounded memory).
    ///   - newDiskSizeBytes: The new disk size; nil keeps the base's size (required without a
    ///     base). Shrinking drops the blocks past the new end.
    ///   - blockSizeBytes: The block size when there is no base (ignored with a base).
    ///   - store: Where nodes are read and written.
    ///   - cache: The cache base nodes are read through (a small private one by default).
    /// - Returns: The new map.
    /// - Throws: ``PageRangeDiffError`` (unsorted changes, an index past the end, a damaged
    ///   base node, a failed write).
    /// - Complexity: O(changed blocks × tree height) node reads and writes.
    public static func build<Changes: Sequence>(
        base: BlockMap?,
        changes: Changes,
        newDiskSizeBytes: UInt64? = nil,
        blockSizeBytes: UInt64 = BlockMapGeometry.defaultBlockSizeBytes,
        in store: some NodeStore,
        cache: NodeCache? = nil
    ) async throws -> BlockMap where Changes.Element == (blockIndex: UInt64, id: ChunkID) {
        let reader = BlockMapReader(store: store, cache: cache ?? NodeCache(capacityBytes: 4 << 20))
        let geometry: BlockMapGeometry
        if let base {
            geometry = try base.geometry.resized(to: newDiskSizeBytes ?? base.diskSizeBytes)
        } else {
            guard let newDiskSizeBytes else {
                throw PageRangeDiffError(
                    .invalidArgument,
                    "a map without a base needs newDiskSizeBytes")
            }
            geometry = try BlockMapGeometry(
                diskSizeBytes: newDiskSizeBytes,
                blockSizeBytes: blockSizeBytes)
        }
        var builder = try await BlockMapBuilder(base: base, geometry: geometry, reader: reader)
        for change in changes {
            try await builder.set(blockIndex: change.blockIndex, to: change.id)
        }
        return try await builder.finish()
    }
}
