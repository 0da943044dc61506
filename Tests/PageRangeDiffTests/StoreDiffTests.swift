import BlockStore
import BlockStoreTesting
import PageRangeDiff
import Synchronization
import Testing

/// Diffs of maps kept in a real chunk store (the asynchronous walk, which batch-loads the
/// children it is about to visit): the same ranges as the brute-force oracle, whatever the
/// cache size, and fewer store reads than nodes visited.
@Suite struct StoreDiffTests {
    @Test func storeDiffsMatchTheOracleAndBatchTheirReads() async throws {
        for seed in UInt64(1)...30 {
            var rng = SeededRNG(seed: 1000 + seed)
            let leaf = [4, 8, 64].randomElement(using: &rng)!
            let interior = [4, 16, 256].randomElement(using: &rng)!
            let bs: UInt64 = 4096
            let maxBlocks = Int.random(in: 50...3000, using: &rng)
            let backend = FaultInjectingBackend(wrapping: MemoryBackend())
            var options = ChunkStoreOptions()
            options.keyDerivation = .fastForTesting
            options.packTargetBytes = 64 << 10
            let store = try await ChunkStore.create(
                on: backend, encryption: .passphrase("d"),
                options: options)
            let writer = BlockMapReader(store: store, cache: NodeCache(capacityBytes: 1 << 20))
            let baseDisk = DiffPropertyTests.randomDisk(&rng, blockSize: bs, maxBlocks: maxBlocks)
            let g = try BlockMapGeometry(
                diskSizeBytes: baseDisk.diskSizeBytes, blockSizeBytes: bs,
                leafFanout: leaf, interiorFanout: interior)
            var builder = try await BlockMapBuilder(base: nil, geometry: g, reader: writer)
            for c in baseDisk.nonZero { try await builder.set(blockIndex: c.blockIndex, to: c.id) }
            let base = try await builder.finish()
            try await store.flush()
            let targetDisk = DiffPropertyTests.mutate(baseDisk, &rng, maxBlocks: maxBlocks)
            var incremental = try await BlockMapBuilder(
                base: base,
                geometry: g.resized(to: targetDisk.diskSizeBytes), reader: writer)
            for c in baseDisk.changes(to: targetDisk) {
                try await incremental.set(blockIndex: c.blockIndex, to: c.id)
            }
            let target = try await incremental.finish()
            try await store.flush()

            let expected = Oracle.diff(base: baseDisk, target: targetDisk)
            for capacity in [0, 1 << 12, 1 << 22] {
                let reader = BlockMapReader(store: store, cache: NodeCache(capacityBytes: capacity))
                let page = try await reader.diff(from: base, to: target, maxResults: 100_000)
                #expect(page.ranges == expected, "seed \(seed) cache \(capacity): diff")
                let paged = try await allPages(reader, from: target, to: base, maxResults: 3)
                #expect(
                    paged.ranges == Oracle.diff(base: targetDisk, target: baseDisk),
                    "seed \(seed) cache \(capacity): reverse, paged")
            }
        }
    }

    /// 200 scattered changes on a 20,000-block map (default fan-outs): the changed leaves come
    /// back in a few ranged reads per pack, not one read per node.
    @Test func scatteredChangesAreReadInBatches() async throws {
        var rng = SeededRNG(seed: 77)
        let backend = FaultInjectingBackend(wrapping: MemoryBackend())
        var options = ChunkStoreOptions()
        options.keyDerivation = .fastForTesting
        let store = try await ChunkStore.create(
            on: backend, encryption: .passphrase("d"),
            options: options)
        let changes = (0..<20_000).map { (blockIndex: UInt64($0), id: DiffPropertyTests.randomID(&rng, pool: 1 << 30)) }
        let base = try await BlockMap.build(
            base: nil, changes: changes,
            newDiskSizeBytes: 20_000 * 65536, in: store)
        try await store.flush()
        let scattered = (0..<200).map { k in
            (
                blockIndex: UInt64(k * 100 + Int.random(in: 0..<100, using: &rng)),
                id: DiffPropertyTests.randomID(&rng, pool: 1 << 30)
            )
        }
        let target = try await BlockMap.build(base: base, changes: scattered, in: store)
        try await store.flush()

        let counting = RequestCountingStore(store)
        let reader = BlockMapReader(store: counting, cache: NodeCache())
        let before = backend.callCount(.rangedGet) + backend.callCount(.get)
        let page = try await reader.diff(from: base, to: target, maxResults: 100_000)
        let reads = backend.callCount(.rangedGet) + backend.callCount(.get) - before
        #expect(page.ranges.count == 200 && page.ranges.allSatisfy { $0.kind == .changed })
        #expect(counting.nodesRequested > 250, "\(counting.nodesRequested) nodes")
        #expect(
            reads * 5 < counting.nodesRequested,
            "\(reads) store reads for \(counting.nodesRequested) nodes")
    }
}

/// Forwards to a node store, counting the nodes asked for (singly or in batches).
final class RequestCountingStore: NodeStore {
    let inner: any NodeStore
    let requested = Mutex(0)
    init(_ inner: any NodeStore) { self.inner = inner }
    var nodesRequested: Int { requested.withLock { $0 } }
    func putNode(_ node: StoreNode) async throws -> ChunkID { try await inner.putNode(node) }
    func node(_ id: ChunkID) async throws -> StoreNode {
        requested.withLock { $0 += 1 }
        return try await inner.node(id)
    }
    func nodes(_ ids: [ChunkID]) async throws -> [StoreNode] {
        requested.withLock { $0 += ids.count }
        return try await inner.nodes(ids)
    }
}

/// The two drivers of the one diff walk agree: maps read in place from a memory store, and the
/// same maps read through the cache of a store that suspends, whatever the cache's size (0
/// holds nothing: the walk keeps the nodes it loaded until it has passed them), in block and
/// exact mode, paged.
@Suite struct DiffDriverTests {
    @Test func inMemoryAndStoreBackedDiffsAgree() async throws {
        for seed in UInt64(1)...40 {
            var rng = SeededRNG(seed: 7000 + seed)
            let bs: UInt64 = 4096
            let contents = ContentStore()
            func randomBlock() -> ChunkID {
                var bytes = [UInt8](repeating: 0, count: Int(bs))
                for p in 0..<Int(bs / 512) where Int.random(in: 0..<3, using: &rng) == 0 {
                    bytes[p * 512 + Int.random(in: 0..<512, using: &rng)] = UInt8.random(in: 1...3, using: &rng)
                }
                return contents.add(bytes)
            }
            let maxBlocks = Int.random(in: 1...300, using: &rng)
            var baseDisk = FlatDisk(
                diskSizeBytes: UInt64.random(in: 0...UInt64(maxBlocks) * bs / 512, using: &rng) * 512,
                blockSizeBytes: bs)
            for i in 0..<baseDisk.blockCount where Bool.random(using: &rng) { baseDisk.ids[i] = randomBlock() }
            var targetDisk = baseDisk
            if Bool.random(using: &rng) {
                targetDisk.resize(to: UInt64.random(in: 0...UInt64(maxBlocks) * bs / 512, using: &rng) * 512)
            }
            for i in 0..<targetDisk.blockCount where Int.random(in: 0..<4, using: &rng) == 0 {
                targetDisk.ids[i] = Bool.random(using: &rng) ? randomBlock() : .zero
            }
            let store = MemoryNodeStore()
            let leaf = [4, 8, 64].randomElement(using: &rng)!
            let interior = [4, 16].randomElement(using: &rng)!
            let g = try BlockMapGeometry(
                diskSizeBytes: baseDisk.diskSizeBytes, blockSizeBytes: bs,
                leafFanout: leaf, interiorFanout: interior)
            let reader = BlockMapReader(store: store)
            var builder = try await BlockMapBuilder(base: nil, geometry: g, reader: reader)
            for c in baseDisk.nonZero { try await builder.set(blockIndex: c.blockIndex, to: c.id) }
            let base = try await builder.finish()
            let target = try await BlockMap.build(
                base: base, changes: baseDisk.changes(to: targetDisk),
                newDiskSizeBytes: targetDisk.diskSizeBytes, in: store)
            for (n, (bd, bm, td, tm)) in [
                (baseDisk, base, targetDisk, target),
                (targetDisk, target, baseDisk, base),
            ].enumerated() {
                for granularity in [DiffGranularity.block, .exact] {
                    let expected = Oracle.diff(
                        base: bd, target: td,
                        contents: granularity == .exact ? contents : nil)
                    let pageSize = Int.random(in: 1...6, using: &rng)
                    let inMemory = try await allPages(
                        reader, from: bm, to: tm, maxResults: pageSize,
                        granularity: granularity, contents: contents)
                    #expect(inMemory.ranges == expected, "seed \(seed) pair \(n) \(granularity): in memory")
                    for capacity in [0, 1 << 12, 1 << 22] {
                        let suspending = BlockMapReader(
                            store: ForwardingStore(store),
                            cache: NodeCache(capacityBytes: capacity))
                        let got = try await allPages(
                            suspending, from: bm, to: tm,
                            maxResults: pageSize, granularity: granularity, contents: contents)
                        #expect(
                            got.ranges == expected,
                            "seed \(seed) pair \(n) \(granularity) cache \(capacity): through the store")
                    }
                }
            }
        }
    }

    /// The packed header prefix recognises exactly the canonical non-root header of a level.
    @Test func canonicalHeadersAreRecognisedByTheirPackedPrefix() {
        func canonical(_ header: [UInt8], level: Int) -> Bool {
            header.withUnsafeBytes { MapNode.isCanonicalNonRootHeader($0, level: level) }
        }
        for level in 0..<6 {
            #expect(canonical([66, 77, 1, UInt8(level), 0], level: level))
            #expect(!canonical([66, 77, 1, UInt8(level), 0], level: level + 1))
            #expect(!canonical([66, 77, 1, UInt8(level), 1], level: level))
            #expect(!canonical([66, 77, 2, UInt8(level), 0], level: level))
            #expect(!canonical([66, 78, 1, UInt8(level), 0], level: level))
            #expect(!canonical([66, 77, 1, UInt8(level), 0, 0], level: level))
            #expect(!canonical([66, 77, 1, UInt8(level)], level: level))
        }
        let header: [UInt8] = [1, 2, 3, 4, 5, 6, 7, 8, 9]
        for n in 0...9 {
            var expected: UInt64 = 0
            for (k, b) in header.prefix(min(n, 8)).enumerated() { expected |= UInt64(b) << (8 * UInt64(k)) }
            let packed = Array(header.prefix(n)).withUnsafeBytes { MapNode.packedHeaderPrefix($0) }
            #expect(packed == expected, "\(n)-byte header")
        }
        #expect(
            MapNode.nonRootHeaderPrefix(level: 3)
                == ([66, 77, 1, 3, 0] as [UInt8]).withUnsafeBytes { MapNode.packedHeaderPrefix($0) })
    }
}
