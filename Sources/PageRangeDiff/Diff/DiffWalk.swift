import BlockStore
import CBlockSnapLinux

/// The tree-walk diff of two maps: descends both trees together, skipping equal child IDs
/// without reading them, and feeds per-block differences to a ``RangeCollector``.
///
/// Zones of the address space (T = target size, B = base size):
/// - common `[0, min(T, B))`: a block is reported when its IDs differ;
/// - grown `[B, T)`: reported in full (changed where the target holds data, cleared where it
///   reads zeros; with no base, only the data);
/// - cut `[T, B)`: one cleared range.
///
/// Trees of different heights are aligned by treating a shorter root as child 0 of virtual
/// nodes above it.
struct DiffWalk {
    /// A subtree on one side: absent (all zeros), a stored non-root node, or the side's root
    /// (which sits below virtual levels when the other tree is taller).
    enum Ref: Equatable {
        case absent
        case node(ChunkID)
        case root(ChunkID)
    }

    let reader: BlockMapReader
    let base: BlockMap?
    let target: BlockMap
    let geometry: BlockMapGeometry
    let granularity: DiffGranularity
    let contents: (any ChunkContentSource)?
    var collector: RangeCollector

    let blockSize: UInt64
    let targetSize: UInt64
    let baseSize: UInt64
    let noBase: Bool
    /// Whether nodes come straight from a memory store (no cache, no decode).
    let inMemory: Bool
    /// First block touching the grown zone (`UInt64.max` when there is none: a node that only
    /// reaches past the disk's end holds no entries there, so it takes the common-zone path).
    let grownFirstBlock: UInt64
    /// The first block still to report (raised when the synchronous walk restarts).
    var firstBlock: UInt64
    let endBlock: UInt64
    /// Blocks per node at each level, indexed by level.
    let spans: [UInt64]

    /// Reused by ``memoryChildren(level:first:base:target:)``, one list per level (no
    /// allocation per node).
    private var pendingByLevel: [[PendingPair]] = []

    /// Block buffers for exact mode, allocated on first use.
    private let scratch = Scratch()

    /// Two block-sized buffers that outlive copies of the walk and are freed with it.
    private final class Scratch {
        var target: UnsafeMutableRawBufferPointer?
        var base: UnsafeMutableRawBufferPointer?
        deinit {
            target?.deallocate()
            base?.deallocate()
        }
    }

    init(reader: BlockMapReader, base: BlockMap?, target: BlockMap, clip: Range<UInt64>,
        maxResults: Int, granularity: DiffGranularity, contents: (any ChunkContentSource)?) {
        self.reader = reader
        self.base = base
        self.target = target
        self.geometry = target.geometry
        self.granularity = granularity
        self.contents = contents
        self.collector = RangeCollector(clip: clip, maxResults: maxResults)
        blockSize = target.blockSizeBytes
        targetSize = target.diskSizeBytes
        baseSize = base?.diskSizeBytes ?? 0
        noBase = base == nil
        inMemory = reader.memoryStore != nil
        let count = target.blockCount
        grownFirstBlock = baseSize < targetSize ? baseSize / blockSize : .max
        firstBlock = clip.lowerBound / blockSize
        endBlock = min(count, (clip.upperBound + blockSize - 1) / blockSize)
        let height = max(target.geometry.height, base?.geometry.height ?? 1)
        spans = (0..<height).map { target.geometry.blocksPerNode(atLevel: $0) }
    }

    /// Walks the trees and returns the page's ranges.
    mutating func run() async throws -> [PageRange] {
        let height = spans.count
        let baseRoot: Ref = base.map { .root($0.rootID) } ?? .absent
        if firstBlock < endBlock {
            var needsAsyncWalk = granularity == .exact
            if granularity == .block {
                // Synchronous walk over nodes at hand (cached, or in a memory store). A node that
                // needs a suspending read stops it; the async walk then resumes at that node's
                // first block, since everything before it is already reported, in order.
                do {
                    try walkSync(level: height - 1, first: 0, base: baseRoot,
                        target: .root(target.rootID))
                } catch let need as NeedNode {
                    firstBlock = max(firstBlock, need.firstBlock)
                    needsAsyncWalk = true
                }
            }
            if needsAsyncWalk {
                try await walk(level: height - 1, first: 0, base: baseRoot,
                    target: .root(target.rootID))
            }
        }
        if !noBase && baseSize > targetSize {
            collector.add(targetSize, baseSize, .cleared)
        }
        return collector.finish()
    }

    /// The children of a subtree: its entries, and whether they point at the side's root.
    private func children(_ ref: Ref, map: BlockMap?, level: Int, first: UInt64)
        async throws -> (entries: [StoreNode.Entry], childIsRoot: Bool)
    {
        switch ref {
        case .absent:
            return ([], false)
        case .node(let id):
            let node = try await reader.load(id)
            try node.check(level: level, isRoot: false, geometry: map!.geometry,
                firstBlock: first, id: id)
            return (node.entries, false)
        case .root(let id):
            let g = map!.geometry
            if level == g.height - 1 {
                let node = try await reader.load(id)
                try node.check(level: level, isRoot: true, geometry: g, firstBlock: 0, id: id)
                return (node.entries, false)
            }
            return ([StoreNode.Entry(slot: 0, id: id)], true)
        }
    }

    /// Thrown by the synchronous walk for a node that needs a suspending read.
    struct NeedNode: Error {
        var id: ChunkID
        var firstBlock: UInt64
    }

    /// The children of a subtree, without suspending; throws ``NeedNode`` otherwise.
    private func childrenSync(_ ref: Ref, map: BlockMap?, level: Int, first: UInt64)
        throws -> (entries: [StoreNode.Entry], childIsRoot: Bool)
    {
        switch ref {
        case .absent:
            return ([], false)
        case .node(let id):
            if inMemory {
                return (Array(try reader.memoryEntries(id, level: level,
                    geometry: map!.geometry, firstBlock: first)), false)
            }
            guard let node = try reader.nodeWithoutSuspending(id) else {
                throw NeedNode(id: id, firstBlock: first)
            }
            try node.check(level: level, isRoot: false, geometry: map!.geometry,
                firstBlock: first, id: id)
            return (node.entries, false)
        case .root(let id):
            let g = map!.geometry
            if level == g.height - 1 {
                guard let node = try reader.nodeWithoutSuspending(id) else {
                    throw NeedNode(id: id, firstBlock: first)
                }
                try node.check(level: level, isRoot: true, geometry: g, firstBlock: 0, id: id)
                return (node.entries, false)
            }
            return ([StoreNode.Entry(slot: 0, id: id)], true)
        }
    }

    /// The block-granularity walk, synchronous (same rules as ``walk(level:first:base:target:)``).
    private mutating func walkSync(level: Int, first: UInt64, base a: Ref, target b: Ref) throws {
        if collector.isFull { return }
        let end = first &+ spans[level]
        guard first < endBlock, end > firstBlock else { return }
        let touchesGrown = end > grownFirstBlock
        if !touchesGrown && a == b { return }
        let (ea, aRoot) = try childrenSync(a, map: base, level: level, first: first)
        let (eb, bRoot) = try childrenSync(b, map: target, level: level, first: first)
        if level == 0 {
            if !touchesGrown {
                leafFast(first: first, base: ea, target: eb)
            } else {
                leafGeneralSync(first: first, base: ea, target: eb)
            }
            return
        }
        let childSpan = spans[level - 1]
        if inMemory && !aRoot && !bRoot && !touchesGrown {
            try ea.withUnsafeBufferPointer { pa in
                try eb.withUnsafeBufferPointer { pb in
                    try memoryChildren(level: level, first: first, base: pa, target: pb)
                }
            }
            return
        }
        if !touchesGrown {
            // Start at the first child that can still matter (cheap restarts).
            let startSlot = firstBlock > first ? UInt32((firstBlock - first) / childSpan) : 0
            var i = startSlot == 0 ? 0 : MapNodeSearch.firstIndex(ea, atOrAfter: startSlot)
            var j = startSlot == 0 ? 0 : MapNodeSearch.firstIndex(eb, atOrAfter: startSlot)
            while i < ea.count || j < eb.count {
                let sa = i < ea.count ? ea[i].slot : UInt32.max
                let sb = j < eb.count ? eb[j].slot : UInt32.max
                let slot = min(sa, sb)
                var ra = Ref.absent
                var rb = Ref.absent
                var same = false
                if sa == sb {
                    same = ea[i].id == eb[j].id && aRoot == bRoot
                    if !same {
                        ra = aRoot ? .root(ea[i].id) : .node(ea[i].id)
                        rb = bRoot ? .root(eb[j].id) : .node(eb[j].id)
                    }
                    i += 1
                    j += 1
                } else if sa < sb {
                    ra = aRoot ? .root(ea[i].id) : .node(ea[i].id)
                    i += 1
                } else {
                    rb = bRoot ? .root(eb[j].id) : .node(eb[j].id)
                    j += 1
                }
                if same { continue }
                let childFirst = first + UInt64(slot) * childSpan
                if childFirst >= endBlock { return }
                if childFirst + childSpan <= firstBlock { continue }
                try walkSync(level: level - 1, first: childFirst, base: ra, target: rb)
                if collector.isFull { return }
            }
            return
        }
        var i = 0
        var j = 0
        for slot in 0..<UInt32(geometry.interiorFanout) {
            let childFirst = first + UInt64(slot) * childSpan
            if childFirst >= endBlock { return }
            while i < ea.count && ea[i].slot < slot { i += 1 }
            while j < eb.count && eb[j].slot < slot { j += 1 }
            let ra: Ref = i < ea.count && ea[i].slot == slot
                ? (aRoot ? .root(ea[i].id) : .node(ea[i].id)) : .absent
            let rb: Ref = j < eb.count && eb[j].slot == slot
                ? (bRoot ? .root(eb[j].id) : .node(eb[j].id)) : .absent
            if childFirst + childSpan <= firstBlock { continue }
            if ra == .absent && rb == .absent {
                zeroSpan(firstBlock: childFirst, endBlock: childFirst + childSpan)
            } else {
                try walkSync(level: level - 1, first: childFirst, base: ra, target: rb)
            }
            if collector.isFull { return }
        }
    }

    /// A child pair still to compare in ``memoryChildren(level:first:base:target:)``.
    struct PendingPair {
        var first: UInt64
        var baseID: ChunkID
        var targetID: ChunkID
        /// Found with a canonical header (entries still to check); nil: take the checked path.
        /// The memory store's own entries, valid while the reader lives.
        var base: UnsafeBufferPointer<StoreNode.Entry>?
        var target: UnsafeBufferPointer<StoreNode.Entry>?
    }

    /// The children of one interior node pair (common zone, neither side a root), from a
    /// memory store, in two passes: first every differing child pair is looked up (the table
    /// slots requested together, so the cache misses of independent lookups overlap instead of
    /// being paid one after the other), then each pair is checked and compared (leaves) or
    /// descended into, with the entries of the pairs two ahead requested meanwhile. Gives
    /// exactly what descending child by child gives: a lookup that fails is repeated on the
    /// checked path when (and only if) the walk reaches it, for the same typed error.
    private mutating func memoryChildren(level: Int, first: UInt64,
        base ea: UnsafeBufferPointer<StoreNode.Entry>, target eb: UnsafeBufferPointer<StoreNode.Entry>)
        throws
    {
        let store = reader.memoryStore!
        let childLevel = level - 1
        let childSpan = spans[childLevel]
        if pendingByLevel.count <= level {
            pendingByLevel += Array(repeating: [], count: level + 1 - pendingByLevel.count)
        }
        var pending = pendingByLevel[level]
        pendingByLevel[level] = []
        pending.removeAll(keepingCapacity: true)
        defer { pendingByLevel[level] = pending }
        let prefix = MapNode.nonRootHeaderPrefix(level: childLevel)
        @inline(__always) func canonical(_ id: ChunkID) -> UnsafeBufferPointer<StoreNode.Entry>? {
            guard let (entries, count, p) = store.entriesAndHeaderPrefix(id),
                count == MapNode.nonRootHeaderBytes, p == prefix, !entries.isEmpty
            else { return nil }
            return entries
        }
        forEachDifferingChild(first: first, childSpan: childSpan, base: ea, target: eb) {
            childFirst, idA, idB in
            if !idA.isZero { store.prefetch(idA) }
            if !idB.isZero { store.prefetch(idB) }
            pending.append(PendingPair(first: childFirst, baseID: idA, targetID: idB,
                base: nil, target: nil))
        }
        for k in pending.indices {
            let idA = pending[k].baseID
            let idB = pending[k].targetID
            pending[k].base = idA.isZero ? DiffWalk.noEntries : canonical(idA)
            pending[k].target = idB.isZero ? DiffWalk.noEntries : canonical(idB)
        }
        for p in pending.prefix(DiffWalk.prefetchDistance) { DiffWalk.prefetch(p) }
        for (k, p) in pending.enumerated() {
            if k + DiffWalk.prefetchDistance < pending.count {
                DiffWalk.prefetch(pending[k + DiffWalk.prefetchDistance])
            }
            // Leaves are checked for zero IDs by the comparison itself (it reads every entry).
            let fused = childLevel == 0
            let a: UnsafeBufferPointer<StoreNode.Entry>
            if let found = p.base {
                if fused {
                    try MapNode.checkLastSlot(found, id: p.baseID, level: 0,
                        geometry: base?.geometry ?? target.geometry, firstBlock: p.first)
                } else if !p.baseID.isZero {
                    try MapNode.checkEntries(found, id: p.baseID, level: childLevel,
                        geometry: base!.geometry, firstBlock: p.first)
                }
                a = found
            } else {
                a = try reader.memoryEntries(p.baseID, level: childLevel,
                    geometry: base!.geometry, firstBlock: p.first)
            }
            let b: UnsafeBufferPointer<StoreNode.Entry>
            if let found = p.target {
                if fused {
                    try MapNode.checkLastSlot(found, id: p.targetID, level: 0,
                        geometry: target.geometry, firstBlock: p.first)
                } else if !p.targetID.isZero {
                    try MapNode.checkEntries(found, id: p.targetID, level: childLevel,
                        geometry: target.geometry, firstBlock: p.first)
                }
                b = found
            } else {
                b = try reader.memoryEntries(p.targetID, level: childLevel,
                    geometry: target.geometry, firstBlock: p.first)
            }
            if childLevel == 0 {
                if !leafFast(first: p.first, base: a, target: b) {
                    // A zero ID: the full checks name the node (the page is discarded).
                    if !p.baseID.isZero {
                        try MapNode.checkEntries(a, id: p.baseID, level: 0,
                            geometry: base!.geometry, firstBlock: p.first)
                    }
                    try MapNode.checkEntries(b, id: p.targetID, level: 0,
                        geometry: target.geometry, firstBlock: p.first)
                    throw PageRangeDiffError(.corruptNode,
                        "a block-map leaf at block \(p.first) stores the zero ID")
                }
            } else {
                try memoryChildren(level: childLevel, first: p.first, base: a, target: b)
            }
            if collector.isFull { return }
        }
    }

    /// How many child pairs ahead of the comparison their entries are requested.
    static let prefetchDistance = 4

    /// Starts loading both sides' entries of a pending pair into the cache.
    @inline(__always)
    private static func prefetch(_ p: PendingPair) {
        if let b = p.base { prefetch(UnsafeRawBufferPointer(b)) }
        if let t = p.target { prefetch(UnsafeRawBufferPointer(t)) }
    }

    /// The entries of an absent (all-zero) subtree.
    static var noEntries: UnsafeBufferPointer<StoreNode.Entry> {
        UnsafeBufferPointer(start: nil, count: 0)
    }

    @inline(__always)
    private static func prefetch(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress else { return }
        var offset = 0
        while offset < bytes.count {
            cbs_prefetch(base + offset)
            offset += 64
        }
    }

    /// Any leaf pair at block granularity: every slot in range, grown-zone rules.
    private mutating func leafGeneralSync(first: UInt64, base ea: [StoreNode.Entry],
        target eb: [StoreNode.Entry])
    {
        var i = 0
        var j = 0
        for slot in 0..<UInt32(geometry.leafFanout) {
            let block = first + UInt64(slot)
            if block >= endBlock { return }
            while i < ea.count && ea[i].slot < slot { i += 1 }
            while j < eb.count && eb[j].slot < slot { j += 1 }
            if block < firstBlock { continue }
            let idA = i < ea.count && ea[i].slot == slot ? ea[i].id : .zero
            let idB = j < eb.count && eb[j].slot == slot ? eb[j].id : .zero
            emitWholeBlock(block, base: idA, target: idB)
            if collector.isFull { return }
        }
    }

    private mutating func walk(level: Int, first: UInt64, base a: Ref, target b: Ref) async throws {
        if collector.isFull { return }
        let end = first &+ spans[level]
        guard first < endBlock, end > firstBlock else { return }
        let touchesGrown = end > grownFirstBlock
        if !touchesGrown && a == b { return }
        let (ea, aRoot) = try await children(a, map: base, level: level, first: first)
        let (eb, bRoot) = try await children(b, map: target, level: level, first: first)
        if level == 0 {
            if !touchesGrown && granularity == .block {
                leafFast(first: first, base: ea, target: eb)
            } else {
                try await leafGeneral(first: first, base: ea, target: eb)
            }
            return
        }
        let childSpan = spans[level - 1]
        var i = 0
        var j = 0
        if !touchesGrown && !aRoot && !bRoot {
            await preloadChildren(first: first, childSpan: childSpan, base: ea, target: eb)
        }
        if !touchesGrown {
            // Only slots present on at least one side can differ.
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
                let childFirst = first + UInt64(slot) * childSpan
                if childFirst >= endBlock { return }
                if ra == rb || childFirst + childSpan <= firstBlock { continue }
                try await walk(level: level - 1, first: childFirst, base: ra, target: rb)
                if collector.isFull { return }
            }
            return
        }
        // Touches the grown zone: every slot matters, even where both sides are zero.
        for slot in 0..<UInt32(geometry.interiorFanout) {
            let childFirst = first + UInt64(slot) * childSpan
            if childFirst >= endBlock { return }
            while i < ea.count && ea[i].slot < slot { i += 1 }
            while j < eb.count && eb[j].slot < slot { j += 1 }
            let ra: Ref = i < ea.count && ea[i].slot == slot
                ? (aRoot ? .root(ea[i].id) : .node(ea[i].id)) : .absent
            let rb: Ref = j < eb.count && eb[j].slot == slot
                ? (bRoot ? .root(eb[j].id) : .node(eb[j].id)) : .absent
            if childFirst + childSpan <= firstBlock { continue }
            if ra == .absent && rb == .absent {
                zeroSpan(firstBlock: childFirst, endBlock: childFirst + childSpan)
            } else {
                try await walk(level: level - 1, first: childFirst, base: ra, target: rb)
            }
            if collector.isFull { return }
        }
    }

    /// Calls `body` for each child slot of a node pair (common zone, neither side a root) whose
    /// IDs differ and whose blocks reach into the range still to report, in slot order, with
    /// the child's first block and both IDs (``ChunkID/zero`` where a side has no child).
    @inline(__always)
    private func forEachDifferingChild<C: RandomAccessCollection<StoreNode.Entry>>(
        first: UInt64, childSpan: UInt64, base ea: C, target eb: C,
        _ body: (UInt64, ChunkID, ChunkID) -> Void
    ) where C.Index == Int {
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

    /// Asks the reader to batch-load the children the walk is about to visit under one node
    /// pair (those that differ, within the range still to report): the base's in slot order,
    /// then the target's, so nodes written together come back in few ranged reads.
    private func preloadChildren(first: UInt64, childSpan: UInt64, base ea: [StoreNode.Entry],
        target eb: [StoreNode.Entry]) async
    {
        var baseIDs: [ChunkID] = []
        var targetIDs: [ChunkID] = []
        forEachDifferingChild(first: first, childSpan: childSpan, base: ea, target: eb) {
            _, idA, idB in
            if !idA.isZero { baseIDs.append(idA) }
            if !idB.isZero { targetIDs.append(idB) }
        }
        // Never more than a quarter of the cache: what is loaded must still be there when the
        // walk gets to it.
        let fanout = spans[0] == childSpan ? geometry.leafFanout : geometry.interiorFanout
        let limit = reader.cache.capacityBytes / 4 / (fanout * 36 + 64)
        var ids = baseIDs + targetIDs
        if ids.count > limit {
            ids = Array(baseIDs.prefix(limit / 2)) + Array(targetIDs.prefix(limit / 2))
        }
        await reader.preload(ids)
    }

    /// Both sides read zeros over these blocks: only the grown zone is reported (cleared).
    private mutating func zeroSpan(firstBlock first: UInt64, endBlock end: UInt64) {
        guard !noBase else { return }
        let s = max(first &* blockSize, baseSize)
        let e = min(end &* blockSize, targetSize)
        if s < e { collector.add(s, e, .cleared) }
    }

    /// A leaf pair wholly inside the common zone, block granularity: merge the entries,
    /// gathering consecutive differing blocks of one kind into a run so the collector sees one
    /// call per run, not per block (a fully rewritten leaf is one call).
    private mutating func leafFast(first: UInt64, base ea: [StoreNode.Entry], target eb: [StoreNode.Entry]) {
        ea.withUnsafeBufferPointer { pa in
            eb.withUnsafeBufferPointer { pb in leafFast(first: first, base: pa, target: pb) }
        }
    }

    /// ``leafFast(first:base:target:)`` over entries in place. Returns false when some entry
    /// holds the zero ID (never stored: an absent slot means zeros), for callers that leave
    /// that check to this pass over every entry.
    @discardableResult
    private mutating func leafFast(first: UInt64, base pa: UnsafeBufferPointer<StoreNode.Entry>,
        target pb: UnsafeBufferPointer<StoreNode.Entry>) -> Bool
    {
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

    /// Any leaf pair: every slot in range, grown-zone rules and exact refinement.
    private mutating func leafGeneral(first: UInt64, base ea: [StoreNode.Entry], target eb: [StoreNode.Entry])
        async throws
    {
        var i = 0
        var j = 0
        for slot in 0..<UInt32(geometry.leafFanout) {
            let block = first + UInt64(slot)
            if block >= endBlock { return }
            while i < ea.count && ea[i].slot < slot { i += 1 }
            while j < eb.count && eb[j].slot < slot { j += 1 }
            if block < firstBlock { continue }
            let idA = i < ea.count && ea[i].slot == slot ? ea[i].id : .zero
            let idB = j < eb.count && eb[j].slot == slot ? eb[j].id : .zero
            if granularity == .block {
                emitWholeBlock(block, base: idA, target: idB)
            } else {
                try await emitBlock(block, base: idA, target: idB)
            }
            if collector.isFull { return }
        }
    }

    /// Reports one block by the zone rules.
    private mutating func emitBlock(_ block: UInt64, base idA: ChunkID, target idB: ChunkID) async throws {
        let s = block * blockSize
        let e = min(s + blockSize, targetSize)
        let commonEnd = max(s, min(e, baseSize))
        let commonDiffers = s < commonEnd && idA != idB
        let hasGrown = commonEnd < e
        if !commonDiffers && !hasGrown { return }
        if granularity == .exact {
            try await refine(start: s, end: e, commonEnd: commonEnd, base: idA, target: idB)
            return
        }
        emitWholeBlock(block, base: idA, target: idB)
    }

    /// Reports one block by the zone rules at block granularity (no reads, no suspension).
    @inline(__always)
    private mutating func emitWholeBlock(_ block: UInt64, base idA: ChunkID, target idB: ChunkID) {
        let s = block * blockSize
        let e = min(s + blockSize, targetSize)
        let commonEnd = max(s, min(e, baseSize))
        let kind: PageRange.Kind = idB.isZero ? .cleared : .changed
        if s < commonEnd && idA != idB { collector.add(s, commonEnd, kind) }
        if commonEnd < e && !(noBase && kind == .cleared) { collector.add(commonEnd, e, kind) }
    }

    /// Exact mode: compares both blocks page by page over `[start, end)`.
    private mutating func refine(start s: UInt64, end e: UInt64, commonEnd: UInt64, base idA: ChunkID,
        target idB: ChunkID) async throws
    {
        let bs = Int(blockSize)
        if scratch.target == nil {
            scratch.target = .allocate(byteCount: bs, alignment: 64)
            scratch.base = .allocate(byteCount: bs, alignment: 64)
        }
        let tb = scratch.target!
        let bb = scratch.base!
        try await read(idB, into: tb, count: Int(e - s))
        let baseEnd = min(s + blockSize, baseSize)
        try await read(idA, into: bb, count: baseEnd > s ? Int(baseEnd - s) : 0)
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

    /// Fills `buffer[0..<blockSizeBytes]`: the chunk's `count` bytes, zeros after.
    private func read(_ id: ChunkID, into buffer: UnsafeMutableRawBufferPointer, count: Int)
        async throws
    {
        buffer.initializeMemory(as: UInt8.self, repeating: 0)
        guard !id.isZero, count > 0, let contents else { return }
        do {
            try await contents.readChunk(id, into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count]))
        } catch {
            throw PageRangeDiffError(.chunkReadFailed,
                "reading chunk \(id.shortHex) for an exact diff failed",
                underlying: error)
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
