import BlockStore

/// The tree-walk diff of two maps, written once: descends both trees together, skipping equal
/// child IDs without reading them, and feeds per-block differences to a ``RangeCollector``.
///
/// Zones of the address space (T = target size, B = base size):
/// - common `[0, min(T, B))`: a block is reported when its IDs differ;
/// - grown `[B, T)`: reported in full (changed where the target holds data, cleared where it
///   reads zeros; with no base, only the data);
/// - cut `[T, B)`: one cleared range.
///
/// Trees of different heights are aligned by treating a shorter root as child 0 of virtual
/// nodes above it.
///
/// This is the rule core, and it never suspends: a *pass* (``run(_:)``) walks from the roots
/// over the nodes its ``DiffNodeSource`` has at hand, and when it needs something it does not
/// have — a node to load, or (exact mode) block contents to compare — it returns that need as a
/// ``Pause``. Everything before the pause's first block is then reported, in order; the driver
/// (``BlockMapReader``'s diff) supplies what is missing, raises ``firstBlock`` and starts
/// another pass, which skips what is done by binary search on the way down. A store whose nodes
/// are all in memory needs one pass; a store read through the cache needs one per batch of
/// nodes loaded.
struct DiffWalk {
    /// A subtree on one side: absent (all zeros), a stored non-root node, or the side's root
    /// (which sits below virtual levels when the other tree is taller).
    enum Ref: Equatable {
        case absent
        case node(ChunkID)
        case root(ChunkID)
    }

    /// Why a pass stopped before the end of its range. Not an error: the driver provides what
    /// is needed and walks again.
    enum Pause {
        /// A node is not at hand: load it, then walk again from its first block.
        case node(NodeNeed)
        /// Exact mode: these blocks are compared page by page (both contents read), then the
        /// walk goes on from ``ContentNeed/resumeBlock``.
        case contents(ContentNeed)
    }

    /// A node a pass needs and its source does not have at hand.
    struct NodeNeed {
        var id: ChunkID
        /// Where the node sits.
        var level: Int
        var firstBlock: UInt64
        /// The end of the node's span: once the walk has passed it, the node is done with.
        var endBlock: UInt64
        /// The node pair whose children include this node, when they were looked up as one
        /// batch (common zone, neither side a root): its level and first block.
        var parent: (level: Int, firstBlock: UInt64)?
        /// That pair's children still to visit that are not at hand, base side then target
        /// side, each in slot order (this node first): what one batched read should bring.
        var batchBase: [ChunkID] = []
        var batchTarget: [ChunkID] = []
    }

    /// Blocks whose contents decide the ranges (exact mode).
    struct ContentNeed {
        var blocks: [(blockIndex: UInt64, base: ChunkID, target: ChunkID)]
        /// Where the walk goes on once these blocks are compared (the end of their leaf).
        var resumeBlock: UInt64
    }

    let base: BlockMap?
    let target: BlockMap
    let geometry: BlockMapGeometry
    let granularity: DiffGranularity
    var collector: RangeCollector

    let blockSize: UInt64
    let targetSize: UInt64
    let baseSize: UInt64
    let noBase: Bool
    /// First block touching the grown zone (`UInt64.max` when there is none: a node that only
    /// reaches past the disk's end holds no entries there, so it takes the common-zone path).
    let grownFirstBlock: UInt64
    /// The first block still to report (raised by the driver between passes).
    var firstBlock: UInt64
    let endBlock: UInt64
    /// Blocks per node at each level, indexed by level.
    let spans: [UInt64]

    init(
        base: BlockMap?, target: BlockMap, clip: Range<UInt64>, maxResults: Int,
        granularity: DiffGranularity
    ) {
        self.base = base
        self.target = target
        self.geometry = target.geometry
        self.granularity = granularity
        self.collector = RangeCollector(clip: clip, maxResults: maxResults)
        blockSize = target.blockSizeBytes
        targetSize = target.diskSizeBytes
        baseSize = base?.diskSizeBytes ?? 0
        noBase = base == nil
        let count = target.blockCount
        grownFirstBlock = baseSize < targetSize ? baseSize / blockSize : .max
        firstBlock = clip.lowerBound / blockSize
        endBlock = min(count, (clip.upperBound + blockSize - 1) / blockSize)
        let height = max(target.geometry.height, base?.geometry.height ?? 1)
        spans = (0..<height).map { target.geometry.blocksPerNode(atLevel: $0) }
    }

    /// Whether any block is still to visit (and the page has room).
    var isDone: Bool { firstBlock >= endBlock || collector.isFull }

    /// Closes the walk: the cut zone, then the page's ranges.
    mutating func finish() -> [PageRange] {
        if !noBase && baseSize > targetSize {
            collector.add(targetSize, baseSize, .cleared)
        }
        return collector.finish()
    }

    /// Walks from the roots over the nodes at hand; nil when the range is done or the page is
    /// full, else what the walk needs before it can go on.
    /// - Throws: ``PageRangeDiffError`` for a damaged or misplaced node.
    mutating func run<Source: DiffNodeSource>(_ pass: inout DiffPass<Source>) throws -> Pause? {
        let baseRoot: Ref = base.map { .root($0.rootID) } ?? .absent
        return try visit(
            &pass, level: spans.count - 1, first: 0, base: baseRoot,
            target: .root(target.rootID))
    }

    // MARK: - Node pairs

    /// One side of a node pair as found at hand.
    private enum Side<Node> {
        case absent
        /// The side's root, below virtual levels: one entry at slot 0 naming it.
        case virtualRoot(ChunkID)
        case stored(Node)
        case root(MapNode)
        case missing(ChunkID)

        var isVirtualRoot: Bool {
            if case .virtualRoot = self { return true }
            return false
        }
    }

    /// Finds and checks one side of a pair, without suspending.
    private func side<Source: DiffNodeSource>(
        _ source: Source, _ ref: Ref, map: BlockMap?,
        level: Int, first: UInt64
    ) throws -> Side<Source.Node> {
        switch ref {
        case .absent:
            return .absent
        case .node(let id):
            guard let node = source.node(id) else { return .missing(id) }
            try Source.check(
                node, id: id, level: level, geometry: map!.geometry,
                firstBlock: first, zeroIDsLeftToCaller: false)
            return .stored(node)
        case .root(let id):
            let g = map!.geometry
            if level == g.height - 1 {
                guard let node = try source.root(id) else { return .missing(id) }
                try node.check(level: level, isRoot: true, geometry: g, firstBlock: 0, id: id)
                return .root(node)
            }
            return .virtualRoot(id)
        }
    }

    /// Calls `body` with a side's entries.
    @inline(__always)
    private static func withEntries<Source: DiffNodeSource, R>(
        of side: Side<Source.Node>,
        in _: Source.Type, _ body: (UnsafeBufferPointer<StoreNode.Entry>) throws -> R
    ) rethrows -> R {
        switch side {
        case .absent:
            return try body(DiffWalk.noEntries)
        case .virtualRoot(let id):
            return try withUnsafePointer(to: StoreNode.Entry(slot: 0, id: id)) {
                try body(UnsafeBufferPointer(start: $0, count: 1))
            }
        case .stored(let node):
            return try Source.withEntries(of: node, body)
        case .root(let node):
            return try node.entries.withUnsafeBufferPointer(body)
        case .missing:
            preconditionFailure("a missing node has no entries")
        }
    }

    /// The entries of an absent (all-zero) subtree.
    static var noEntries: UnsafeBufferPointer<StoreNode.Entry> {
        UnsafeBufferPointer(start: nil, count: 0)
    }

    /// Visits a pair of subtrees at `level` whose first block is `first`.
    private mutating func visit<Source: DiffNodeSource>(
        _ pass: inout DiffPass<Source>,
        level: Int, first: UInt64, base a: Ref, target b: Ref
    ) throws -> Pause? {
        if collector.isFull { return nil }
        let end = first &+ spans[level]
        guard first < endBlock, end > firstBlock else { return nil }
        let touchesGrown = end > grownFirstBlock
        if !touchesGrown && a == b { return nil }
        let sa = try side(pass.source, a, map: base, level: level, first: first)
        if case .missing(let id) = sa { return .node(need(id, level: level, first: first)) }
        let sb = try side(pass.source, b, map: target, level: level, first: first)
        if case .missing(let id) = sb { return .node(need(id, level: level, first: first)) }
        return try DiffWalk.withEntries(of: sa, in: Source.self) { ea in
            try DiffWalk.withEntries(of: sb, in: Source.self) { eb in
                try self.visitNodes(
                    &pass, level: level, first: first, touchesGrown: touchesGrown,
                    base: ea, baseIsRoot: sa.isVirtualRoot, target: eb,
                    targetIsRoot: sb.isVirtualRoot)
            }
        }
    }

    /// A need for a node found missing outside a batch.
    private func need(_ id: ChunkID, level: Int, first: UInt64) -> NodeNeed {
        NodeNeed(
            id: id, level: level, firstBlock: first, endBlock: first &+ spans[level],
            parent: nil)
    }

    /// The rules for one node pair whose entries are at hand (`aRoot`/`bRoot`: the entries name
    /// that side's root, below virtual levels).
    private mutating func visitNodes<Source: DiffNodeSource>(
        _ pass: inout DiffPass<Source>,
        level: Int, first: UInt64, touchesGrown: Bool,
        base ea: UnsafeBufferPointer<StoreNode.Entry>, baseIsRoot aRoot: Bool,
        target eb: UnsafeBufferPointer<StoreNode.Entry>, targetIsRoot bRoot: Bool
    ) throws -> Pause? {
        if level == 0 {
            if !touchesGrown && granularity == .block {
                // Both sides were checked in full (zero IDs too) when they were found.
                _ = compareLeaves(first: first, base: ea, target: eb)
                return nil
            }
            return compareLeavesByZone(first: first, base: ea, target: eb)
        }
        let childSpan = spans[level - 1]
        if !touchesGrown && !aRoot && !bRoot {
            return try visitChildPairs(&pass, level: level, first: first, base: ea, target: eb)
        }
        if !touchesGrown {
            // A root below virtual levels on one side: only slots present on at least one side
            // can differ. Start at the first child that can still matter (cheap restarts).
            let startSlot = firstBlock > first ? UInt32((firstBlock - first) / childSpan) : 0
            var i = startSlot == 0 ? 0 : MapNodeSearch.firstIndex(ea, atOrAfter: startSlot)
            var j = startSlot == 0 ? 0 : MapNodeSearch.firstIndex(eb, atOrAfter: startSlot)
            while i < ea.count || j < eb.count {
                let sa = i < ea.count ? ea[i].slot : UInt32.max
                let sb = j < eb.count ? eb[j].slot : UInt32.max
                let slot = min(sa, sb)
                var ra = Ref.absent
                var rb = Ref.absent
                if sa == slot {
                    ra = aRoot ? .root(ea[i].id) : .node(ea[i].id)
                    i += 1
                }
                if sb == slot {
                    rb = bRoot ? .root(eb[j].id) : .node(eb[j].id)
                    j += 1
                }
                if ra == rb { continue }
                let childFirst = first + UInt64(slot) * childSpan
                if childFirst >= endBlock { return nil }
                if childFirst + childSpan <= firstBlock { continue }
                if let pause = try visit(
                    &pass, level: level - 1, first: childFirst, base: ra,
                    target: rb)
                {
                    return pause
                }
                if collector.isFull { return nil }
            }
            return nil
        }
        // Touches the grown zone: every slot matters, even where both sides are zero.
        var i = 0
        var j = 0
        for slot in 0..<UInt32(geometry.interiorFanout) {
            let childFirst = first + UInt64(slot) * childSpan
            if childFirst >= endBlock { return nil }
            while i < ea.count && ea[i].slot < slot { i += 1 }
            while j < eb.count && eb[j].slot < slot { j += 1 }
            let ra: Ref =
                i < ea.count && ea[i].slot == slot
                ? (aRoot ? .root(ea[i].id) : .node(ea[i].id)) : .absent
            let rb: Ref =
                j < eb.count && eb[j].slot == slot
                ? (bRoot ? .root(eb[j].id) : .node(eb[j].id)) : .absent
            if childFirst + childSpan <= firstBlock { continue }
            if ra == .absent && rb == .absent {
                zeroSpan(firstBlock: childFirst, endBlock: childFirst + childSpan)
            } else if let pause = try visit(
                &pass, level: level - 1, first: childFirst, base: ra,
                target: rb)
            {
                return pause
            }
            if collector.isFull { return nil }
        }
        return nil
    }

    /// How many child pairs ahead of the comparison their nodes are requested.
    static let prefetchDistance = 4

    /// The children of one interior node pair (common zone, neither side a root), in two
    /// passes: first every differing child pair is looked up as one batch (a memory store
    /// requests the lookups together, so the cache misses of independent lookups overlap
    /// instead of being paid one after the other), then each pair is checked and compared
    /// (leaves) or descended into, with the nodes of the pairs a few ahead requested meanwhile.
    /// Gives exactly what descending child by child gives, in the same order, with the same
    /// checks.
    private mutating func visitChildPairs<Source: DiffNodeSource>(
        _ pass: inout DiffPass<Source>,
        level: Int, first: UInt64, base ea: UnsafeBufferPointer<StoreNode.Entry>,
        target eb: UnsafeBufferPointer<StoreNode.Entry>
    ) throws -> Pause? {
        let childLevel = level - 1
        let childSpan = spans[childLevel]
        if pass.pending.count <= level {
            pass.pending += Array(repeating: PendingPairs(), count: level + 1 - pass.pending.count)
        }
        var pending = pass.pending[level]
        pass.pending[level] = PendingPairs()
        defer { pass.pending[level] = pending }
        pending.removeAll()
        forEachDifferingChild(first: first, childSpan: childSpan, base: ea, target: eb) {
            childFirst, idA, idB in
            pending.append(childFirst, base: idA, target: idB)
        }
        pending.lookUp(in: pass.source)
        let count = pending.count
        let distance = DiffWalk.prefetchDistance
        for k in 0..<min(distance, count) { pending.prefetch(k, Source.self) }
        // Leaves at block granularity are checked for zero IDs by the comparison itself (it
        // reads every entry).
        let fused = childLevel == 0 && granularity == .block
        for k in 0..<count {
            if k + distance < count { pending.prefetch(k + distance, Source.self) }
            let childFirst = pending.firstBlocks[k]
            let idA = pending.ids[2 &* k]
            let idB = pending.ids[2 &* k &+ 1]
            let na = pending.nodes[2 &* k]
            let nb = pending.nodes[2 &* k &+ 1]
            if !idA.isZero {
                guard let na else {
                    return .node(batchNeed(idA, pending, from: k, level: level, first: first))
                }
                try Source.check(
                    na, id: idA, level: childLevel, geometry: base!.geometry,
                    firstBlock: childFirst, zeroIDsLeftToCaller: fused)
            }
            if !idB.isZero {
                guard let nb else {
                    return .node(batchNeed(idB, pending, from: k, level: level, first: first))
                }
                try Source.check(
                    nb, id: idB, level: childLevel, geometry: target.geometry,
                    firstBlock: childFirst, zeroIDsLeftToCaller: fused)
            }
            let pause = try Source.withEntries(orNone: na) { a in
                try Source.withEntries(orNone: nb) { b in
                    try self.visitChildPair(
                        &pass, level: childLevel, first: childFirst,
                        base: a, baseNode: na, baseID: idA, target: b, targetNode: nb,
                        targetID: idB)
                }
            }
            if let pause { return pause }
            if collector.isFull { return nil }
        }
        return nil
    }

    /// One checked child pair of ``visitChildPairs(_:level:first:base:target:)``.
    @inline(__always)
    private mutating func visitChildPair<Source: DiffNodeSource>(
        _ pass: inout DiffPass<Source>,
        level: Int, first: UInt64, base a: UnsafeBufferPointer<StoreNode.Entry>,
        baseNode na: Source.Node?, baseID idA: ChunkID,
        target b: UnsafeBufferPointer<StoreNode.Entry>, targetNode nb: Source.Node?,
        targetID idB: ChunkID
    ) throws -> Pause? {
        guard level == 0 else {
            return try visitChildPairs(&pass, level: level, first: first, base: a, target: b)
        }
        guard granularity == .block else {
            return compareLeavesByZone(first: first, base: a, target: b)
        }
        if !compareLeaves(first: first, base: a, target: b) {
            // A zero ID: the full checks name the node (the page is discarded).
            if let na {
                try Source.check(
                    na, id: idA, level: 0, geometry: base!.geometry,
                    firstBlock: first, zeroIDsLeftToCaller: false)
            }
            if let nb {
                try Source.check(
                    nb, id: idB, level: 0, geometry: target.geometry,
                    firstBlock: first, zeroIDsLeftToCaller: false)
            }
            throw PageRangeDiffError(
                .corruptNode,
                "a block-map leaf at block \(first) stores the zero ID")
        }
        return nil
    }

    /// The need for a child of a batch: that child, and every child of the batch from pair
    /// `k` on that is not at hand.
    private func batchNeed<Node>(
        _ id: ChunkID, _ pending: PendingPairs<Node>, from k: Int,
        level: Int, first: UInt64
    ) -> NodeNeed {
        let childFirst = pending.firstBlocks[k]
        var need = NodeNeed(
            id: id, level: level - 1, firstBlock: childFirst,
            endBlock: childFirst &+ spans[level - 1], parent: (level, first))
        for m in k..<pending.count {
            let idA = pending.ids[2 * m]
            let idB = pending.ids[2 * m + 1]
            if !idA.isZero && pending.nodes[2 * m] == nil { need.batchBase.append(idA) }
            if !idB.isZero && pending.nodes[2 * m + 1] == nil { need.batchTarget.append(idB) }
        }
        return need
    }

    /// Calls `body` for each child slot of a node pair (common zone, neither side a root) whose
    /// IDs differ and whose blocks reach into the range still to report, in slot order, with
    /// the child's first block and both IDs (`ChunkID.zero` where a side has no child).
    @inline(__always)
    private func forEachDifferingChild(
        first: UInt64, childSpan: UInt64,
        base ea: UnsafeBufferPointer<StoreNode.Entry>, target eb: UnsafeBufferPointer<StoreNode.Entry>,
        _ body: (UInt64, ChunkID, ChunkID) -> Void
    ) {
        // Start at the first child that can still matter (cheap restarts).
        let startSlot = firstBlock > first ? UInt32((firstBlock - first) / childSpan) : 0
        var i = startSlot == 0 ? 0 : MapNodeSearch.firstIndex(ea, atOrAfter: startSlot)
        var j = startSlot == 0 ? 0 : MapNodeSearch.firstIndex(eb, atOrAfter: startSlot)
        while i < ea.count || j < eb.count {
            let sa = i < ea.count ? ea[i].slot : UInt32.max
            let sb = j < eb.count ? eb[j].slot : UInt32.max
            let slot = min(sa, sb)
            let idA = sa == slot ? ea[i].id : .zero
            let idB = sb == slot ? eb[j].id : .zero
            if sa == slot { i += 1 }
            if sb == slot { j += 1 }
            if idA == idB { continue }
            let childFirst = first + UInt64(slot) * childSpan
            if childFirst >= endBlock { return }
            if childFirst + childSpan <= firstBlock { continue }
            body(childFirst, idA, idB)
        }
    }

    // MARK: - Blocks

    /// Both sides read zeros over these blocks: only the grown zone is reported (cleared).
    private mutating func zeroSpan(firstBlock first: UInt64, endBlock end: UInt64) {
        guard !noBase else { return }
        let s = max(first &* blockSize, baseSize)
        let e = min(end &* blockSize, targetSize)
        if s < e { collector.add(s, e, .cleared) }
    }

    /// A leaf pair wholly inside the common zone, block granularity: merges the entries,
    /// gathering consecutive differing blocks of one kind into a run so the collector sees one
    /// call per run, not per block (a fully rewritten leaf is one call). Returns false when
    /// some entry holds the zero ID (never stored: an absent slot means zeros), for callers
    /// that leave that check to this pass over every entry.
    @inline(__always)
    private mutating func compareLeaves(
        first: UInt64, base pa: UnsafeBufferPointer<StoreNode.Entry>,
        target pb: UnsafeBufferPointer<StoreNode.Entry>
    ) -> Bool {
        // Slots of this leaf inside [firstBlock, endBlock).
        let lo = firstBlock > first ? firstBlock - first : 0
        let hi = endBlock - first
        let bs = blockSize
        let size = targetSize
        var start: UInt32 = 0
        var end: UInt32 = 0
        var kind = PageRange.Kind.changed
        var zeroSeen = false

        func flush() {
            let s = max(UInt64(start), lo)
            let e = min(UInt64(end), hi)
            if s < e { collector.add((first + s) * bs, min((first + e) * bs, size), kind) }
        }
        @inline(__always) func note(_ slot: UInt32, _ k: PageRange.Kind) {
            if slot == end && k == kind && end > start {
                end += 1
                return
            }
            if end > start { flush() }
            start = slot
            end = slot + 1
            kind = k
        }

        let na = pa.count
        let nb = pb.count
        if na == nb, na > 0, pa[na - 1].slot == UInt32(na - 1), pb[nb - 1].slot == UInt32(nb - 1) {
            // Both dense (slots 0..<n, strictly ascending): entry k is slot k on both sides.
            for k in 0..<na {
                let x = pa[k].id
                let y = pb[k].id
                zeroSeen = zeroSeen || x.isZero || y.isZero
                if x != y { note(UInt32(k), .changed) }
            }
        } else {
            var i = 0
            var j = 0
            while i < na && j < nb {
                let sa = pa[i].slot
                let sb = pb[j].slot
                if sa == sb {
                    zeroSeen = zeroSeen || pa[i].id.isZero || pb[j].id.isZero
                    if pa[i].id != pb[j].id { note(sa, .changed) }
                    i += 1
                    j += 1
                } else if sa < sb {
                    zeroSeen = zeroSeen || pa[i].id.isZero
                    note(sa, .cleared)
                    i += 1
                } else {
                    zeroSeen = zeroSeen || pb[j].id.isZero
                    note(sb, .changed)
                    j += 1
                }
            }
            while i < na {
                zeroSeen = zeroSeen || pa[i].id.isZero
                note(pa[i].slot, .cleared)
                i += 1
            }
            while j < nb {
                zeroSeen = zeroSeen || pb[j].id.isZero
                note(pb[j].slot, .changed)
                j += 1
            }
        }
        if end > start { flush() }
        return !zeroSeen
    }

    /// Any leaf pair, every slot in range by the zone rules: at block granularity reported
    /// here; in exact mode the blocks to compare page by page are returned.
    private mutating func compareLeavesByZone(
        first: UInt64,
        base ea: UnsafeBufferPointer<StoreNode.Entry>, target eb: UnsafeBufferPointer<StoreNode.Entry>
    )
        -> Pause?
    {
        var blocks: [(blockIndex: UInt64, base: ChunkID, target: ChunkID)] = []
        var i = 0
        var j = 0
        for slot in 0..<UInt32(geometry.leafFanout) {
            let block = first + UInt64(slot)
            if block >= endBlock { break }
            while i < ea.count && ea[i].slot < slot { i += 1 }
            while j < eb.count && eb[j].slot < slot { j += 1 }
            if block < firstBlock { continue }
            let idA = i < ea.count && ea[i].slot == slot ? ea[i].id : .zero
            let idB = j < eb.count && eb[j].slot == slot ? eb[j].id : .zero
            if granularity == .block {
                emitWholeBlock(block, base: idA, target: idB)
                if collector.isFull { return nil }
            } else if needsComparison(block, base: idA, target: idB) {
                blocks.append((block, idA, idB))
            }
        }
        if blocks.isEmpty { return nil }
        return .contents(ContentNeed(blocks: blocks, resumeBlock: first + spans[0]))
    }

    /// Whether a block is reported at all by the zone rules: its IDs differ in the common
    /// zone, or it reaches into the grown zone.
    private func needsComparison(_ block: UInt64, base idA: ChunkID, target idB: ChunkID) -> Bool {
        let s = block * blockSize
        let e = min(s + blockSize, targetSize)
        let commonEnd = max(s, min(e, baseSize))
        return (s < commonEnd && idA != idB) || commonEnd < e
    }

    /// Reports one block by the zone rules at block granularity.
    @inline(__always)
    private mutating func emitWholeBlock(_ block: UInt64, base idA: ChunkID, target idB: ChunkID) {
        let s = block * blockSize
        let e = min(s + blockSize, targetSize)
        let commonEnd = max(s, min(e, baseSize))
        let kind: PageRange.Kind = idB.isZero ? .cleared : .changed
        if s < commonEnd && idA != idB { collector.add(s, commonEnd, kind) }
        if commonEnd < e && !(noBase && kind == .cleared) { collector.add(commonEnd, e, kind) }
    }

    // MARK: - Pages (exact mode)

    /// How many bytes of each side's chunk a block's comparison reads (the rest reads zeros):
    /// the target's up to its disk's end, the base's up to its own.
    func contentByteCounts(_ block: UInt64) -> (target: Int, base: Int) {
        let s = block * blockSize
        let e = min(s + blockSize, targetSize)
        let baseEnd = min(s + blockSize, baseSize)
        return (Int(e - s), baseEnd > s ? Int(baseEnd - s) : 0)
    }

    /// Exact mode: reports one block page by page from both sides' contents (each a block's
    /// worth of bytes, zeros past what was read).
    mutating func comparePages(
        _ block: UInt64, base bb: UnsafeRawBufferPointer,
        target tb: UnsafeRawBufferPointer
    ) {
        let s = block * blockSize
        let e = min(s + blockSize, targetSize)
        let commonEnd = max(s, min(e, baseSize))
        var p = s
        while p < e {
            let offset = Int(p - s)
            let targetPage = UnsafeRawBufferPointer(rebasing: tb[offset..<offset + 512])
            let targetZero = DiffWalk.isZero(targetPage)
            if p < commonEnd {
                let basePage = UnsafeRawBufferPointer(rebasing: bb[offset..<offset + 512])
                if !targetPage.elementsEqual(basePage) {
                    collector.add(p, p + 512, targetZero ? .cleared : .changed)
                }
            } else if !targetZero {
                collector.add(p, p + 512, .changed)
            } else if !noBase {
                collector.add(p, p + 512, .cleared)
            }
            p += 512
        }
    }

    private static func isZero(_ page: UnsafeRawBufferPointer) -> Bool {
        var acc: UInt64 = 0
        var k = 0
        while k < page.count {
            acc |= page.loadUnaligned(fromByteOffset: k, as: UInt64.self)
            k += 8
        }
        return acc == 0
    }
}
