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
        memoryStore = store as? MemoryNodeStore
    }

    /// Set when the store is in memory: nodes can then be read without suspending.
    let memoryStore: MemoryNodeStore?

    /// The checked entries of a non-root node in the memory store, read in place (no decode
    /// into the cache, no copy, no reference counting: the store already holds the nodes in
    /// memory, so a cache would only add cost). A well-formed header is recognised from the
    /// store's packed header prefix without reading the header itself; anything else takes
    /// the full decode for its typed error. The entries stay valid while the reader (which
    /// holds the store) lives.
    /// - Precondition: ``memoryStore`` is set.
    @inline(__always)
    func memoryEntries(_ id: ChunkID, level: Int, geometry: BlockMapGeometry, firstBlock: UInt64)
        throws -> UnsafeBufferPointer<StoreNode.Entry>
    {
        let store = memoryStore!
        guard let (entries, headerCount, prefix) = store.entriesAndHeaderPrefix(id) else {
            throw PageRangeDiffError(.nodeNotFound,
                "map node \(id.shortHex) is missing from the store")
        }
        if headerCount == MapNode.nonRootHeaderBytes,
            prefix == MapNode.nonRootHeaderPrefix(level: level), !entries.isEmpty
        {
            try MapNode.checkEntries(entries, id: id, level: level, geometry: geometry,
                firstBlock: firstBlock)
            return entries
        }
        // A non-root node at this level has exactly the header above; the full decode says
        // what is wrong instead.
        _ = try MapNode.checkedEntries(of: store.nodeSync(id), id: id, level: level,
            isRoot: false, geometry: geometry, firstBlock: firstBlock)
        throw PageRangeDiffError(.corruptNode,
            "block-map node \(id.shortHex) has a malformed header for level \(level)")
    }

    /// A node available without suspending (cached, or in a memory store), else nil.
    func nodeWithoutSuspending(_ id: ChunkID) throws -> MapNode? {
        if let node = cache.node(id) { return node }
        guard let memoryStore else { return nil }
        let stored: StoreNode
        do {
            stored = try memoryStore.nodeSync(id)
        } catch {
            throw PageRangeDiffError(.nodeNotFound,
                "map node \(id.shortHex) is missing from the store", underlying: error)
        }
        let node = try MapNode(decoding: stored, id: id)
        cache.insert(id, node)
        return node
    }

    /// Opens the map whose root node is `rootID`, reading its geometry from the root.
    /// - Throws: ``PageRangeDiffError`` `nodeNotFound`, `corruptNode`, `unsupportedFormat`.
    public func open(root rootID: ChunkID) async throws -> BlockMap {
        let node = try await load(rootID)
        guard node.isRoot, let geometry = node.rootGeometry else {
            throw PageRangeDiffError(.corruptNode, "node \(rootID.shortHex) is not a map root")
        }
        try node.check(level: geometry.height - 1, isRoot: true, geometry: geometry,
            firstBlock: 0, id: rootID)
        return BlockMap(rootID: rootID, geometry: geometry)
    }

    /// The chunk ID of one block (``ChunkID/zero`` for a zero block).
    /// - Throws: ``PageRangeDiffError`` `invalidArgument` past the disk's end, or a node error.
    /// - Complexity: O(height) node reads (usually cache hits).
    public func chunkID(in map: BlockMap, atBlock blockIndex: UInt64) async throws -> ChunkID {
        let g = map.geometry
        guard blockIndex < g.blockCount else {
            throw PageRangeDiffError(.invalidArgument,
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

    /// Lists the byte ranges that differ between two maps, one page at a time.
    ///
    /// With a base: *changed* where the target holds different data, *cleared* where the target
    /// now reads zeros. If the target is larger, the grown part is reported in full (changed
    /// where it holds data, cleared where it reads zeros); if it is smaller, the cut part
    /// (from the target's end to the base's end) is cleared. Without a base: the changed ranges
    /// holding data (Azure's Get Page Ranges without `prevsnapshot`). Either map may be older.
    ///
    /// - Parameters:
    ///   - base: The point to compare against, or nil.
    ///   - target: The point whose state is described.
    ///   - byteRange: Restrict to these bytes (half-open, both bounds multiples of 512, within
    ///     the larger disk); nil for everything.
    ///   - maxResults: The most ranges in this page, 1…``maxResultsLimit``.
    ///   - marker: The previous page's ``DiffPage/nextMarker``, or nil for the first page.
    ///   - granularity: ``DiffGranularity/block`` (whole blocks) or ``DiffGranularity/exact``.
    ///   - contents: Where exact mode reads block contents (required for exact mode).
    /// - Returns: Sorted, non-overlapping, coalesced, aligned ranges and the next marker.
    ///   Concatenating all pages gives exactly the unpaged list.
    /// - Throws: ``PageRangeDiffError``: `invalidArgument` (unaligned or out-of-range byte
    ///   range, bad `maxResults`, exact mode without contents), `invalidMarker`,
    ///   `geometryMismatch`, node errors, `chunkReadFailed`.
    /// - Complexity: O(differing blocks × height) node reads; identical maps cost O(1) and
    ///   identical subtrees are skipped by ID without being read.
    public func diff(
        from base: BlockMap?,
        to target: BlockMap,
        in byteRange: Range<UInt64>? = nil,
        maxResults: Int = BlockMapReader.defaultMaxResults,
        marker: DiffMarker? = nil,
        granularity: DiffGranularity = .block,
        contents: (any ChunkContentSource)? = nil
    ) async throws -> DiffPage {
        guard maxResults >= 1, maxResults <= BlockMapReader.maxResultsLimit else {
            throw PageRangeDiffError(.invalidArgument,
                "maxResults \(maxResults) is outside 1…\(BlockMapReader.maxResultsLimit)")
        }
        if let base, !base.geometry.isCompatible(with: target.geometry) {
            throw PageRangeDiffError(.geometryMismatch,
                "cannot diff \(base.geometry) against \(target.geometry): block size and "
                    + "fan-outs must match")
        }
        if granularity == .exact && contents == nil {
            throw PageRangeDiffError(.invalidArgument,
                "exact granularity needs a ChunkContentSource to compare block contents")
        }
        let extent = max(target.diskSizeBytes, base?.diskSizeBytes ?? 0)
        let request = byteRange ?? 0..<extent
        guard request.lowerBound % 512 == 0, request.upperBound % 512 == 0 else {
            throw PageRangeDiffError(.invalidArgument,
                "byte range \(request) is not 512-byte aligned")
        }
        guard request.upperBound <= extent else {
            throw PageRangeDiffError(.invalidArgument,
                "byte range \(request) reaches past the disks' end at \(extent)")
        }
        let fingerprint = DiffMarker.fingerprint(base: base, target: target, byteRange: request,
            granularity: granularity)
        var start = request.lowerBound
        if let marker {
            guard marker.requestFingerprint == fingerprint else {
                throw PageRangeDiffError(.invalidMarker,
                    "the marker belongs to a different diff request (other maps, range or "
                        + "granularity); start again without a marker")
            }
            guard marker.resumeOffsetBytes % 512 == 0,
                request.contains(marker.resumeOffsetBytes)
            else {
                throw PageRangeDiffError(.invalidMarker,
                    "the marker's offset \(marker.resumeOffsetBytes) is outside the request")
            }
            start = marker.resumeOffsetBytes
        }
        if let base, base.rootID == target.rootID, base.geometry == target.geometry {
            return DiffPage(ranges: [], nextMarker: nil)
        }
        var walk = DiffWalk(reader: self, base: base, target: target,
            clip: start..<request.upperBound, maxResults: maxResults, granularity: granularity,
            contents: contents)
        let ranges = try await walk.run()
        let next = walk.collector.stopOffset.map {
            DiffMarker(resumeOffsetBytes: $0, requestFingerprint: fingerprint)
        }
        return DiffPage(ranges: ranges, nextMarker: next)
    }

    /// The same ranges as ``diff(from:to:in:maxResults:marker:granularity:contents:)``, streamed.
    ///
    /// Memory stays bounded by `pageSize` ranges plus one tree path, whatever the disk size.
    /// - Parameters:
    ///   - base: The point to compare against, or nil.
    ///   - target: The point whose state is described.
    ///   - byteRange: Restrict to these bytes (512-aligned); nil for everything.
    ///   - granularity: Block or exact.
    ///   - contents: Where exact mode reads block contents.
    ///   - pageSize: Ranges fetched per internal page.
    public func ranges(
        from base: BlockMap?,
        to target: BlockMap,
        in byteRange: Range<UInt64>? = nil,
        granularity: DiffGranularity = .block,
        contents: (any ChunkContentSource)? = nil,
        pageSize: Int = 1024
    ) -> DiffRanges {
        DiffRanges(reader: self, base: base, target: target, byteRange: byteRange,
            granularity: granularity, contents: contents, pageSize: pageSize)
    }

    /// Reads the nodes among `ids` that the cache lacks with one batched store request
    /// (``NodeStore/nodes(_:)``: neighbouring nodes in one ranged read), decodes them and puts
    /// them in the cache, so a walk about to visit them finds them there.
    ///
    /// Only a hint: if the batch cannot be read or a node is damaged, nothing is reported here;
    /// the walk's own ``load(_:)`` of that node then gives the precise typed error, at the
    /// point where an unbatched walk would.
    func preload(_ ids: [ChunkID]) async {
        guard memoryStore == nil, ids.count > 1 else { return }
        let missing = ids.filter { cache.node($0) == nil }
        guard missing.count > 1 else { return }
        guard let stored = try? await store.nodes(missing) else { return }
        for (id, node) in zip(missing, stored) {
            if let decoded = try? MapNode(decoding: node, id: id) { cache.insert(id, decoded) }
        }
    }

    /// Reads and decodes a node through the cache.
    func load(_ id: ChunkID) async throws -> MapNode {
        if let node = try nodeWithoutSuspending(id) { return node }
        let stored: StoreNode
        do {
            stored = try await store.node(id)
        } catch let error as BlockStoreError {
            switch error.code {
            case .notFound:
                throw PageRangeDiffError(.nodeNotFound,
                    "map node \(id.shortHex) is missing from the store", underlying: error)
            case .corruptObject, .truncatedObject, .authenticationFailed:
                throw PageRangeDiffError(.corruptNode,
                    "map node \(id.shortHex) is damaged", underlying: error)
            case .unsupportedFormat:
                throw PageRangeDiffError(.unsupportedFormat,
                    "map node \(id.shortHex) has an unsupported format", underlying: error)
            default:
                throw PageRangeDiffError(.storeError,
                    "reading map node \(id.shortHex) failed", underlying: error)
            }
        } catch let error as PageRangeDiffError {
            throw error
        } catch {
            throw PageRangeDiffError(.storeError,
                "reading map node \(id.shortHex) failed: \(error)")
        }
        let node = try MapNode(decoding: stored, id: id)
        cache.insert(id, node)
        return node
    }
}

/// Binary search in sorted node entries.
enum MapNodeSearch {
    /// The entry at `slot`, if present.
    static func entry(_ entries: [StoreNode.Entry], slot: UInt32) -> StoreNode.Entry? {
        let i = firstIndex(entries, atOrAfter: slot)
        return i < entries.count && entries[i].slot == slot ? entries[i] : nil
    }

    /// The index of the first entry whose slot is `>= slot`.
    static func firstIndex<C: RandomAccessCollection<StoreNode.Entry>>(_ entries: C,
        atOrAfter slot: UInt32) -> Int where C.Index == Int
    {
        var lo = entries.startIndex
        var hi = entries.endIndex
        while lo < hi {
            let mid = (lo + hi) / 2
            if entries[mid].slot < slot { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }
}
