import BlockStore

/// Reads block maps through a bounded ``NodeCache``: open, lookup, iteration and diffs.
///
/// A reader is a small value (a store and a cache); copies share the cache. All reads of
/// nodes are checked: a damaged, truncated, misplaced or missing node is a typed
/// ``PageRangeDiffError``, never a wrong answer.
///
/// ```swift
/// let reader = BlockMapReader(store: store)
/// var marker: DiffMarker? = nil
/// repeat {
///     let page = try await reader.diff(from: older, to: newer, marker: marker)
///     for r in page.ranges { print(r) }          // "changed 0…65535"
///     marker = page.nextMarker
/// } while marker != nil
/// ```
public struct BlockMapReader: Sendable {
    /// Where nodes live.
    public let store: any NodeStore
    /// The cache every node read goes through.
    public let cache: NodeCache

    /// The most ranges one page may hold.
    public static let maxResultsLimit = 100_000
    /// Ranges per page by default (Azure's default too).
    public static let defaultMaxResults = 10_000

    /// Creates a reader.
    /// - Parameters:
    ///   - store: The node store holding the maps.
    ///   - cache: The cache to read through (a new 64 MiB one by default).
    public init(store: some NodeStore, cache: NodeCache = NodeCache()) {
        self.store = store
        self.cache = cache
        resident = store as? any ResidentNodeStore
    }

    /// Set when the store holds its nodes in memory (`ResidentNodeStore`): nodes are then read
    /// in place, without suspending.
    let resident: (any ResidentNodeStore)?

    /// Opens the map whose root node is `rootID`, reading its geometry from the root.
    /// - Throws: ``PageRangeDiffError`` `nodeNotFound`, `corruptNode`, `unsupportedFormat`.
    public func open(root rootID: ChunkID) async throws -> BlockMap {
        let node = try await load(rootID)
        guard node.isRoot, let geometry = node.rootGeometry else {
            throw PageRangeDiffError(.corruptNode, "node \(rootID.shortHex) is not a map root")
        }
        try node.check(
            level: geometry.height - 1, isRoot: true, geometry: geometry,
            firstBlock: 0, id: rootID)
        return BlockMap(rootID: rootID, geometry: geometry)
    }

    /// The chunk ID of one block (`ChunkID.zero` for a zero block).
    /// - Throws: ``PageRangeDiffError`` `invalidArgument` past the disk's end, or a node error.
    /// - Complexity: O(height) node reads (usually cache hits).
    public func chunkID(in map: BlockMap, atBlock blockIndex: UInt64) async throws -> ChunkID {
        let g = map.geometry
        guard blockIndex < g.blockCount else {
            throw PageRangeDiffError(
                .invalidArgument,
                "block \(blockIndex) is past the end of a \(g.blockCount)-block disk")
        }
        var level = g.height - 1
        var id = map.rootID
        var first: UInt64 = 0
        var isRoot = true
        while true {
            let node = try await load(id)
            try node.check(level: level, isRoot: isRoot, geometry: g, firstBlock: first, id: id)
            let span = level == 0 ? 1 : g.blocksPerNode(atLevel: level - 1)
            let slot = UInt32((blockIndex - first) / span)
            guard let entry = MapNodeSearch.entry(node.entries, slot: slot) else { return .zero }
            if level == 0 { return entry.id }
            first += UInt64(slot) * span
            id = entry.id
            level -= 1
            isRoot = false
        }
    }

    /// The non-zero blocks of a map in ascending order, as an async sequence.
    /// - Parameters:
    ///   - map: The map to read.
    ///   - blocks: The block indices to cover (all by default); clipped to the disk.
    /// - Returns: A sequence of `(blockIndex, id)` holding one leaf at a time in memory.
    public func entries(of map: BlockMap, blocks: Range<UInt64>? = nil) -> BlockMapEntries {
        let all = 0..<map.blockCount
        let r = (blocks ?? all).clamped(to: all)
        return BlockMapEntries(reader: self, map: map, blocks: r)
    }

    /// Reads the nodes among `ids` that the cache lacks with one batched store request
    /// (`NodeStore.nodes(_:)`: neighbouring nodes in one ranged read), decodes them and puts
    /// them in the cache, so a walk about to visit them finds them there.
    ///
    /// Only a hint: if the batch cannot be read or a node is damaged, nothing is reported here;
    /// the walk's own ``load(_:)`` of that node then gives the precise typed error, at the
    /// point where an unbatched walk would.
    func preload(_ ids: [ChunkID]) async {
        guard resident == nil, ids.count > 1 else { return }
        let missing = ids.filter { cache.node($0) == nil }
        guard missing.count > 1 else { return }
        guard let stored = try? await store.nodes(missing) else { return }
        for (id, node) in zip(missing, stored) {
            if let decoded = try? MapNode(decoding: node, id: id) { cache.insert(id, decoded) }
        }
    }

    /// Reads and decodes a node through the cache.
    func load(_ id: ChunkID) async throws -> MapNode {
        if let node = cache.node(id) { return node }
        if let view = resident?.residentNode(id) {
            let node = try MapNode(decoding: view.node, id: id)
            cache.insert(id, node)
            return node
        }
        let stored: StoreNode
        do {
            stored = try await store.node(id)
        } catch let error as BlockStoreError {
            switch error.code {
            case .notFound:
                throw PageRangeDiffError(
                    .nodeNotFound,
                    "map node \(id.shortHex) is missing from the store", underlying: error)
            case .corruptObject, .truncatedObject, .authenticationFailed:
                throw PageRangeDiffError(
                    .corruptNode,
                    "map node \(id.shortHex) is damaged", underlying: error)
            case .unsupportedFormat:
                throw PageRangeDiffError(
                    .unsupportedFormat,
                    "map node \(id.shortHex) has an unsupported format", underlying: error)
            default:
                throw PageRangeDiffError(
                    .storeError,
                    "reading map node \(id.shortHex) failed", underlying: error)
            }
        } catch let error as PageRangeDiffError {
            throw error
        } catch {
            throw PageRangeDiffError(
                .storeError,
                "reading map node \(id.shortHex) failed: \(error)")
        }
        let node = try MapNode(decoding: stored, id: id)
        cache.insert(id, node)
        return node
    }
}
