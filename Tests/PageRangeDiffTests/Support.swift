import BlockStore
import PageRangeDiff
import Synchronization

/// A small, fast, repeatable generator (SplitMix64), so every failure names its seed.
struct SeededRNG: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 &+ 1 }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A disk as the oracle sees it: a flat array of chunk IDs, one per block.
struct FlatDisk {
    var diskSizeBytes: UInt64
    var blockSizeBytes: UInt64
    var ids: [ChunkID]

    init(diskSizeBytes: UInt64, blockSizeBytes: UInt64) {
        self.diskSizeBytes = diskSizeBytes
        self.blockSizeBytes = blockSizeBytes
        let count = Int((diskSizeBytes + blockSizeBytes - 1) / blockSizeBytes)
        ids = Array(repeating: .zero, count: count)
    }

    var blockCount: Int { ids.count }

    func id(_ block: Int) -> ChunkID { block < ids.count ? ids[block] : .zero }

    mutating func resize(to size: UInt64) {
        diskSizeBytes = size
        let count = Int((size + blockSizeBytes - 1) / blockSizeBytes)
        if count < ids.count { ids.removeLast(ids.count - count) }
        while ids.count < count { ids.append(.zero) }
    }

    /// Sorted changes that turn `self` into `other` (other may be smaller).
    func changes(to other: FlatDisk) -> [(blockIndex: UInt64, id: ChunkID)] {
        var out: [(blockIndex: UInt64, id: ChunkID)] = []
        for i in 0..<other.blockCount where other.ids[i] != id(i) {
            out.append((UInt64(i), other.ids[i]))
        }
        return out
    }

    var nonZero: [(blockIndex: UInt64, id: ChunkID)] {
        ids.indices.filter { !ids[$0].isZero }.map { (UInt64($0), ids[$0]) }
    }
}

/// Chunk contents for exact mode: each ID names a full block of bytes.
final class ContentStore: ChunkContentSource, @unchecked Sendable {
    let lock = Mutex<[ChunkID: [UInt8]]>([:])
    func add(_ bytes: [UInt8]) -> ChunkID {
        if bytes.allSatisfy({ $0 == 0 }) { return .zero }
        let id = ChunkHasher.sha256.dataID(bytes)
        lock.withLock { $0[id] = bytes }
        return id
    }
    func bytes(_ id: ChunkID, blockSize: Int) -> [UInt8] {
        if id.isZero { return Array(repeating: 0, count: blockSize) }
        return lock.withLock { $0[id]! }
    }
    func readChunk(_ id: ChunkID, into buffer: UnsafeMutableRawBufferPointer) async throws {
        let b = lock.withLock { $0[id] }
        guard let b else { throw BlockStoreError(.notFound, "no chunk \(id.shortHex)") }
        buffer.initializeMemory(as: UInt8.self, repeating: 0)
        b.withUnsafeBytes { src in
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[0..<min(src.count, buffer.count)]))
        }
    }
}

/// The brute-force oracle: page by page over the union of both disks, then coalesced.
enum Oracle {
    static func diff(
        base: FlatDisk?, target: FlatDisk, range: Range<UInt64>? = nil,
        contents: ContentStore? = nil
    ) -> [PageRange] {
        let T = target.diskSizeBytes
        let B = base?.diskSizeBytes ?? 0
        let extent = max(T, B)
        let r = range ?? 0..<extent
        let bs = target.blockSizeBytes
        var out: [PageRange] = []
        var cache: [Int: ([UInt8], [UInt8])] = [:]
        var p = r.lowerBound
        while p < r.upperBound {
            var kind: PageRange.Kind? = nil
            let block = Int(p / bs)
            if p < T {
                let idT = target.id(block)
                let idB = base?.id(block) ?? .zero
                let inCommon = base != nil && p < B
                if let contents {
                    if cache[block] == nil {
                        var bb = contents.bytes(idB, blockSize: Int(bs))
                        let baseEnd = min(UInt64(block + 1) * bs, B)
                        let baseLen = baseEnd > UInt64(block) * bs ? Int(baseEnd - UInt64(block) * bs) : 0
                        for k in baseLen..<Int(bs) { bb[k] = 0 }
                        cache = [block: (contents.bytes(idT, blockSize: Int(bs)), bb)]
                    }
                    let (tb, bb) = cache[block]!
                    let o = Int(p - UInt64(block) * bs)
                    let tPage = tb[o..<o + 512]
                    let tZero = tPage.allSatisfy { $0 == 0 }
                    if inCommon {
                        if tPage != bb[o..<o + 512] { kind = tZero ? .cleared : .changed }
                    } else if !tZero {
                        kind = .changed
                    } else if base != nil {
                        kind = .cleared
                    }
                } else {
                    if inCommon {
                        if idT != idB { kind = idT.isZero ? .cleared : .changed }
                    } else if !idT.isZero {
                        kind = .changed
                    } else if base != nil {
                        kind = .cleared
                    }
                }
            } else {
                kind = .cleared
            }
            if let kind {
                if let last = out.last, last.kind == kind, last.range.upperBound == p {
                    out[out.count - 1] = PageRange(last.range.lowerBound..<(p + 512), kind: kind)
                } else {
                    out.append(PageRange(p..<(p + 512), kind: kind))
                }
            }
            p += 512
        }
        return out
    }

    /// Sorted, non-overlapping, coalesced, aligned.
    static func invariantsHold(_ ranges: [PageRange]) -> Bool {
        for (i, r) in ranges.enumerated() {
            guard !r.range.isEmpty, r.range.lowerBound % 512 == 0, r.range.upperBound % 512 == 0
            else { return false }
            if i > 0 {
                let prev = ranges[i - 1]
                if prev.range.upperBound > r.range.lowerBound { return false }
                if prev.range.upperBound == r.range.lowerBound && prev.kind == r.kind { return false }
            }
        }
        return true
    }
}

/// A node store that counts reads and writes and can fail reads on demand.
final class CountingStore: NodeStore {
    let inner = MemoryNodeStore()
    let counters = Mutex<(reads: Int, writes: Int, failReads: Bool)>((0, 0, false))
    func putNode(_ node: StoreNode) async throws -> ChunkID {
        counters.withLock { $0.writes += 1 }
        return inner.putNodeSync(node)
    }
    func node(_ id: ChunkID) async throws -> StoreNode {
        let fail = counters.withLock { c -> Bool in
            c.reads += 1
            return c.failReads
        }
        if fail { throw BlockStoreError(.ioError, "reads are switched off in this test") }
        return try inner.nodeSync(id)
    }
    var reads: Int { counters.withLock { $0.reads } }
    var writes: Int { counters.withLock { $0.writes } }
    func setFailReads(_ v: Bool) { counters.withLock { $0.failReads = v } }
}

/// A node store that keeps encoded bytes, so tests can damage them.
final class ByteNodeStore: NodeStore {
    let objects = Mutex<[ChunkID: [UInt8]]>([:])
    func putNode(_ node: StoreNode) async throws -> ChunkID {
        let bytes = node.encoded()
        let id = ChunkHasher.sha256.nodeID(bytes)
        objects.withLock { $0[id] = bytes }
        return id
    }
    func node(_ id: ChunkID) async throws -> StoreNode {
        guard let bytes = objects.withLock({ $0[id] }) else {
            throw BlockStoreError(.notFound, "no node \(id.shortHex)")
        }
        // Like a real store, verify the bytes against their name before decoding.
        guard ChunkHasher.sha256.nodeID(bytes) == id else {
            throw BlockStoreError(.corruptObject, "node \(id.shortHex) does not match its ID")
        }
        return try StoreNode(decoding: bytes)
    }
    func damage(_ id: ChunkID, _ change: (inout [UInt8]) -> Void) {
        objects.withLock { change(&$0[id]!) }
    }
    func restore(_ id: ChunkID, _ bytes: [UInt8]) { objects.withLock { $0[id] = bytes } }
    func remove(_ id: ChunkID) { objects.withLock { $0[id] = nil } }
    /// Sorted, so a seeded test visits nodes in the same order in every process.
    var ids: [ChunkID] { objects.withLock { Array($0.keys) }.sorted() }
}

/// Collects every page of a diff by following markers.
func allPages(
    _ reader: BlockMapReader, from base: BlockMap?, to target: BlockMap,
    in range: Range<UInt64>? = nil, maxResults: Int, granularity: DiffGranularity = .block,
    contents: (any ChunkContentSource)? = nil
) async throws -> (ranges: [PageRange], pages: Int) {
    var out: [PageRange] = []
    var marker: DiffMarker? = nil
    var pages = 0
    repeat {
        let page = try await reader.diff(
            from: base, to: target, in: range, maxResults: maxResults,
            marker: marker, granularity: granularity, contents: contents)
        precondition(page.ranges.count <= maxResults)
        // Markers survive a trip through their string form.
        marker = try page.nextMarker.map { try DiffMarker(parsing: $0.description) }
        out += page.ranges
        pages += 1
    } while marker != nil
    return (out, pages)
}

/// Forwards to a memory store without being one, so reads take the suspending path.
final class ForwardingStore: NodeStore {
    let inner: MemoryNodeStore
    init(_ inner: MemoryNodeStore) { self.inner = inner }
    func putNode(_ node: StoreNode) async throws -> ChunkID { inner.putNodeSync(node) }
    func node(_ id: ChunkID) async throws -> StoreNode { try inner.nodeSync(id) }
}
