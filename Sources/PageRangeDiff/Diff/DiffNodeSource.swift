import BlockStore
import CBlockSnapLinux

/// Where a pass of the ``DiffWalk`` finds nodes without suspending.
///
/// Two sources, one walk: ``ResidentNodes`` reads a `ResidentNodeStore`'s nodes in place
/// (the in-memory diff), ``CachedNodes`` finds decoded nodes in the ``NodeCache`` (the
/// store-backed diff, whose driver loads what is not there). A node a source does not return
/// is not at hand: the walk pauses for it instead of failing.
protocol DiffNodeSource {
    /// A node at hand: a handle that keeps its entries readable.
    associatedtype Node

    /// A non-root node at hand, not yet checked for its place; nil when not at hand.
    func node(_ id: ChunkID) -> Node?

    /// Looks up `ids[k]` into `nodes[k]` for every `k` (the zero ID is left nil), as one batch.
    func nodes(_ ids: UnsafeBufferPointer<ChunkID>, into nodes: UnsafeMutableBufferPointer<Node?>)

    /// A map root at hand, decoded (roots are few: they go through the cache); nil when not at
    /// hand.
    /// - Throws: ``PageRangeDiffError`` when the node cannot be decoded.
    func root(_ id: ChunkID) throws -> MapNode?

    /// Checks that a non-root node may sit at `level` with its first block at `firstBlock`.
    /// With `zeroIDsLeftToCaller`, a check of every entry for the zero ID may be skipped: the
    /// caller reads every entry anyway and checks again in full if it meets one.
    /// - Throws: ``PageRangeDiffError`` `corruptNode` or `unsupportedFormat`.
    static func check(
        _ node: Node, id: ChunkID, level: Int, geometry: BlockMapGeometry,
        firstBlock: UInt64, zeroIDsLeftToCaller: Bool) throws

    /// Calls `body` with a node's entries.
    static func withEntries<R>(
        of node: Node,
        _ body: (UnsafeBufferPointer<StoreNode.Entry>) throws -> R
    ) rethrows -> R

    /// Starts loading a node's memory into the CPU cache (a hint; no effect on results).
    static func prefetch(_ node: Node)
}

extension DiffNodeSource {
    /// Calls `body` with a node's entries, or with none for an absent node.
    @inline(__always)
    static func withEntries<R>(
        orNone node: Node?,
        _ body: (UnsafeBufferPointer<StoreNode.Entry>) throws -> R
    ) rethrows -> R {
        guard let node else { return try body(DiffWalk.noEntries) }
        return try withEntries(of: node, body)
    }

    /// Requests every cache line of `bytes` (a hint).
    @inline(__always)
    static func prefetchLines(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        var line = UInt(bitPattern: base) & ~63
        let end = UInt(bitPattern: base + bytes.count)
        while line < end {
            cbs_prefetch(UnsafeRawPointer(bitPattern: line))
            line += 64
        }
    }
}

/// A pass's node access: its source, and the child pairs being visited at each level.
struct DiffPass<Source: DiffNodeSource> {
    var source: Source
    /// Reused, one list per level (no allocation per node pair).
    var pending: [PendingPairs<Source.Node>] = []

    init(source: Source) {
        self.source = source
    }
}

/// The differing child pairs of one node pair, looked up as a batch.
struct PendingPairs<Node> {
    /// Each pair's first block.
    var firstBlocks: [UInt64] = []
    /// Base then target ID of each pair (`ChunkID.zero` for an absent side).
    var ids: [ChunkID] = []
    /// What the lookup found, index for index with `ids` (nil: absent or not at hand).
    var nodes: [Node?] = []

    var count: Int { firstBlocks.count }

    mutating func removeAll() {
        firstBlocks.removeAll(keepingCapacity: true)
        ids.removeAll(keepingCapacity: true)
        nodes.removeAll(keepingCapacity: true)
    }

    @inline(__always)
    mutating func append(_ first: UInt64, base: ChunkID, target: ChunkID) {
        firstBlocks.append(first)
        ids.append(base)
        ids.append(target)
    }

    /// Looks up every pair's nodes in one batch.
    mutating func lookUp<Source: DiffNodeSource>(in source: Source) where Source.Node == Node {
        nodes.removeAll(keepingCapacity: true)
        nodes.append(contentsOf: repeatElement(nil, count: ids.count))
        ids.withUnsafeBufferPointer { i in
            nodes.withUnsafeMutableBufferPointer { n in source.nodes(i, into: n) }
        }
    }

    /// Requests both nodes of pair `k` into the CPU cache.
    @inline(__always)
    func prefetch<Source: DiffNodeSource>(_ k: Int, _: Source.Type) where Source.Node == Node {
        if let a = nodes[2 &* k] { Source.prefetch(a) }
        if let b = nodes[2 &* k &+ 1] { Source.prefetch(b) }
    }
}

/// The nodes of a `ResidentNodeStore`, read in place: no decode into the cache, no copy, no
/// reference counting (the store already holds the nodes in memory, so a cache would only add
/// cost). A well-formed header is recognised by its packed prefix
/// (``MapNode/isCanonicalNonRootHeader(_:level:)``); anything else takes the full decode for
/// its typed error. The views stay valid while the store lives: the reader holds it.
struct ResidentNodes: DiffNodeSource {
    let store: any ResidentNodeStore
    let cache: NodeCache

    @inline(__always)
    func node(_ id: ChunkID) -> ResidentNode? { store.residentNode(id) }

    @inline(__always)
    func nodes(
        _ ids: UnsafeBufferPointer<ChunkID>,
        into nodes: UnsafeMutableBufferPointer<ResidentNode?>
    ) {
        store.residentNodes(ids, into: nodes)
    }

    func root(_ id: ChunkID) throws -> MapNode? {
        if let node = cache.node(id) { return node }
        guard let view = store.residentNode(id) else { return nil }
        let node = try MapNode(decoding: view.node, id: id)
        cache.insert(id, node)
        return node
    }

    @inline(__always)
    static func check(
        _ node: ResidentNode, id: ChunkID, level: Int, geometry: BlockMapGeometry,
        firstBlock: UInt64, zeroIDsLeftToCaller: Bool
    ) throws {
        if MapNode.isCanonicalNonRootHeader(node.header, level: level), !node.entries.isEmpty {
            if zeroIDsLeftToCaller {
                try MapNode.checkLastSlot(
                    node.entries, id: id, level: level, geometry: geometry,
                    firstBlock: firstBlock)
            } else {
                try MapNode.checkEntries(
                    node.entries, id: id, level: level, geometry: geometry,
                    firstBlock: firstBlock)
            }
            return
        }
        // A non-root node at this level has exactly the header above; the full decode says
        // what is wrong instead.
        _ = try MapNode.checkedEntries(
            of: node.node, id: id, level: level, isRoot: false,
            geometry: geometry, firstBlock: firstBlock)
        throw PageRangeDiffError(
            .corruptNode,
            "block-map node \(id.shortHex) has a malformed header for level \(level)")
    }

    @inline(__always)
    static func withEntries<R>(
        of node: ResidentNode,
        _ body: (UnsafeBufferPointer<StoreNode.Entry>) throws -> R
    ) rethrows -> R {
        try body(node.entries)
    }

    @inline(__always)
    static func prefetch(_ node: ResidentNode) {
        prefetchLines(node.header)
        prefetchLines(UnsafeRawBufferPointer(node.entries))
    }
}

/// Decoded nodes in the ``NodeCache``, plus the few the driver loaded for this walk and holds
/// until the walk has passed them (so a walk makes progress whatever the cache's size, even 0).
struct CachedNodes: DiffNodeSource {
    let cache: NodeCache
    /// Nodes the driver loaded, with the end of the span where they were needed.
    private(set) var held: [(id: ChunkID, node: MapNode, endBlock: UInt64)] = []

    init(cache: NodeCache) {
        self.cache = cache
    }

    /// Keeps a loaded node at hand until the walk passes `endBlock`.
    mutating func hold(_ node: MapNode, id: ChunkID, until endBlock: UInt64) {
        held.append((id, node, endBlock))
    }

    /// Lets go of the held nodes whose spans end at or before `firstBlock`.
    mutating func release(before firstBlock: UInt64) {
        held.removeAll { $0.endBlock <= firstBlock }
    }

    @inline(__always)
    func node(_ id: ChunkID) -> MapNode? {
        for h in held where h.id == id { return h.node }
        return cache.node(id)
    }

    func nodes(_ ids: UnsafeBufferPointer<ChunkID>, into nodes: UnsafeMutableBufferPointer<MapNode?>) {
        for k in ids.indices { nodes[k] = ids[k].isZero ? nil : node(ids[k]) }
    }

    func root(_ id: ChunkID) throws -> MapNode? { node(id) }

    @inline(__always)
    static func check(
        _ node: MapNode, id: ChunkID, level: Int, geometry: BlockMapGeometry,
        firstBlock: UInt64, zeroIDsLeftToCaller: Bool
    ) throws {
        // Decoding checked the entries for zero IDs already.
        try node.check(
            level: level, isRoot: false, geometry: geometry, firstBlock: firstBlock,
            id: id)
    }

    @inline(__always)
    static func withEntries<R>(
        of node: MapNode,
        _ body: (UnsafeBufferPointer<StoreNode.Entry>) throws -> R
    ) rethrows -> R {
        try node.entries.withUnsafeBufferPointer(body)
    }

    @inline(__always)
    static func prefetch(_ node: MapNode) {
        node.entries.withUnsafeBytes { prefetchLines($0) }
    }
}
