import BlockStore
import PageRangeDiff
import Testing

/// Seeded randomized comparisons of the tree-walk diff with the brute-force oracle.
@Suite struct DiffPropertyTests {
    struct Case {
        var geometry: BlockMapGeometry
        var base: FlatDisk
        var target: FlatDisk
    }

    static func randomID(_ rng: inout SeededRNG, pool: Int) -> ChunkID {
        // A small pool makes equal IDs at different blocks (dedup) likely.
        let k = UInt64.random(in: 1...UInt64(pool), using: &rng)
        return ChunkHasher.sha256.dataID(withUnsafeBytes(of: k) { Array($0) })
    }

    static func randomDisk(_ rng: inout SeededRNG, blockSize: UInt64, maxBlocks: Int) -> FlatDisk {
        let pages = UInt64.random(in: 0...(UInt64(maxBlocks) * blockSize / 512), using: &rng)
        var disk = FlatDisk(diskSizeBytes: pages * 512, blockSizeBytes: blockSize)
        let density = Double.random(in: 0...1, using: &rng)
        for i in 0..<disk.blockCount where Double.random(in: 0..<1, using: &rng) < density {
            disk.ids[i] = randomID(&rng, pool: 40)
        }
        return disk
    }

    /// Scattered, clustered, zeroing and resizing mutations, mixed at random.
    static func mutate(_ disk: FlatDisk, _ rng: inout SeededRNG, maxBlocks: Int) -> FlatDisk {
        var d = disk
        for _ in 0..<Int.random(in: 1...3, using: &rng) {
            switch Int.random(in: 0..<5, using: &rng) {
            case 0:  // scattered
                for i in 0..<d.blockCount where Int.random(in: 0..<20, using: &rng) == 0 {
                    d.ids[i] = randomID(&rng, pool: 60)
                }
            case 1:  // clustered
                guard d.blockCount > 0 else { break }
                let s = Int.random(in: 0..<d.blockCount, using: &rng)
                let e = min(d.blockCount, s + Int.random(in: 1...40, using: &rng))
                for i in s..<e { d.ids[i] = randomID(&rng, pool: 60) }
            case 2:  // zeroing
                guard d.blockCount > 0 else { break }
                let s = Int.random(in: 0..<d.blockCount, using: &rng)
                let e = min(d.blockCount, s + Int.random(in: 1...60, using: &rng))
                for i in s..<e { d.ids[i] = .zero }
            case 3:  // resize
                let pages = UInt64.random(
                    in: 0...(UInt64(maxBlocks) * d.blockSizeBytes / 512),
                    using: &rng)
                d.resize(to: pages * 512)
            default:  // a single block
                guard d.blockCount > 0 else { break }
                d.ids[Int.random(in: 0..<d.blockCount, using: &rng)] = randomID(&rng, pool: 60)
            }
        }
        // A partial last block whose length changed has new content.
        if d.diskSizeBytes != disk.diskSizeBytes, d.blockCount > 0,
            d.diskSizeBytes % d.blockSizeBytes != 0, !d.ids[d.blockCount - 1].isZero
        {
            d.ids[d.blockCount - 1] = randomID(&rng, pool: 60)
        }
        return d
    }

    static func randomRange(_ rng: inout SeededRNG, extent: UInt64) -> Range<UInt64> {
        let pages = extent / 512
        let a = UInt64.random(in: 0...pages, using: &rng)
        let b = UInt64.random(in: 0...pages, using: &rng)
        return min(a, b) * 512..<max(a, b) * 512
    }

    @Test func treeDiffMatchesOracleOnRandomMaps() async throws {
        var nonEmpty = 0
        var rangesSeen = 0
        for seed in UInt64(1)...400 {
            var rng = SeededRNG(seed: seed)
            let fanouts = [4, 8, 64]
            let leaf = fanouts.randomElement(using: &rng)!
            let interior = [4, 16, 256].randomElement(using: &rng)!
            let bs: UInt64 = [4096, 8192, 65536].randomElement(using: &rng)!
            let maxBlocks = Int.random(in: 1...400, using: &rng)
            let store = MemoryNodeStore()
            let reader = BlockMapReader(store: store, cache: NodeCache(capacityBytes: 1 << 16))
            let baseDisk = Self.randomDisk(&rng, blockSize: bs, maxBlocks: maxBlocks)
            let g = try BlockMapGeometry(
                diskSizeBytes: baseDisk.diskSizeBytes,
                blockSizeBytes: bs, leafFanout: leaf, interiorFanout: interior)
            var builder = try await BlockMapBuilder(base: nil, geometry: g, reader: reader)
            for c in baseDisk.nonZero { try await builder.set(blockIndex: c.blockIndex, to: c.id) }
            let base = try await builder.finish()

            let targetDisk = Self.mutate(baseDisk, &rng, maxBlocks: maxBlocks)
            var incremental = try await BlockMapBuilder(
                base: base,
                geometry: g.resized(to: targetDisk.diskSizeBytes), reader: reader)
            for c in baseDisk.changes(to: targetDisk) {
                try await incremental.set(blockIndex: c.blockIndex, to: c.id)
            }
            let target = try await incremental.finish()

            // Canonical: the incremental map equals a fresh full build of the same content.
            var fresh = try await BlockMapBuilder(
                base: nil,
                geometry: g.resized(to: targetDisk.diskSizeBytes), reader: reader)
            for c in targetDisk.nonZero { try await fresh.set(blockIndex: c.blockIndex, to: c.id) }
            let freshMap = try await fresh.finish()
            #expect(freshMap.rootID == target.rootID, "seed \(seed): history changed the root ID")

            // Lookup and iteration agree with the flat model.
            var listed: [(blockIndex: UInt64, id: ChunkID)] = []
            for try await e in reader.entries(of: target) { listed.append(e) }
            #expect(
                listed.map(\.blockIndex) == targetDisk.nonZero.map(\.blockIndex)
                    && listed.map(\.id) == targetDisk.nonZero.map(\.id), "seed \(seed): entries")
            if targetDisk.blockCount > 0 {
                for _ in 0..<5 {
                    let i = Int.random(in: 0..<targetDisk.blockCount, using: &rng)
                    let id = try await reader.chunkID(in: target, atBlock: UInt64(i))
                    #expect(id == targetDisk.ids[i], "seed \(seed): lookup of block \(i)")
                }
                let s = UInt64.random(in: 0..<UInt64(targetDisk.blockCount), using: &rng)
                var part: [UInt64] = []
                for try await e in reader.entries(of: target, blocks: s..<(s + 17)) {
                    part.append(e.blockIndex)
                }
                #expect(
                    part == targetDisk.nonZero.map(\.blockIndex).filter { $0 >= s && $0 < s + 17 },
                    "seed \(seed): entries in a block range")
            }

            // Diffs both ways, without base, in sub-ranges, paged.
            let pairs: [(FlatDisk?, BlockMap?, FlatDisk, BlockMap)] = [
                (baseDisk, base, targetDisk, target), (targetDisk, target, baseDisk, base),
                (nil, nil, targetDisk, target), (baseDisk, base, baseDisk, base),
            ]
            for (n, (bd, bm, td, tm)) in pairs.enumerated() {
                let expected = Oracle.diff(base: bd, target: td)
                let whole = try await reader.diff(from: bm, to: tm, maxResults: 100_000)
                #expect(whole.ranges == expected, "seed \(seed) pair \(n): whole diff")
                if !whole.ranges.isEmpty { nonEmpty += 1 }
                rangesSeen += whole.ranges.count
                #expect(whole.nextMarker == nil, "seed \(seed) pair \(n)")
                #expect(Oracle.invariantsHold(whole.ranges), "seed \(seed) pair \(n): invariants")

                let extent = max(td.diskSizeBytes, bd?.diskSizeBytes ?? 0)
                let sub = Self.randomRange(&rng, extent: extent)
                let pageSize = Int.random(in: 1...5, using: &rng)
                let paged = try await allPages(
                    reader, from: bm, to: tm, in: sub,
                    maxResults: pageSize)
                let expectedSub = Oracle.diff(base: bd, target: td, range: sub)
                #expect(
                    paged.ranges == expectedSub,
                    "seed \(seed) pair \(n): sub-range \(sub) paged by \(pageSize)")
                #expect(Oracle.invariantsHold(paged.ranges), "seed \(seed) pair \(n): invariants")

                // A store that suspends, with a partly warm cache: the synchronous walk stops
                // at the first missing node and the async walk finishes the job.
                let partial = BlockMapReader(
                    store: ForwardingStore(store),
                    cache: NodeCache(capacityBytes: 1 << 20))
                if td.blockCount > 0 {
                    _ = try await partial.chunkID(
                        in: tm,
                        atBlock: UInt64.random(in: 0..<UInt64(td.blockCount), using: &rng))
                }
                let hybrid = try await partial.diff(from: bm, to: tm, maxResults: 100_000)
                #expect(hybrid.ranges == expected, "seed \(seed) pair \(n): partly cached diff")

                var streamed: [PageRange] = []
                for try await r in reader.ranges(from: bm, to: tm, in: sub, pageSize: 3) {
                    streamed.append(r)
                }
                #expect(streamed == expectedSub, "seed \(seed) pair \(n): streamed")
            }
        }
        // The generator must actually exercise the diff.
        #expect(nonEmpty > 600 && rangesSeen > 5000, "only \(nonEmpty) non-empty diffs, \(rangesSeen) ranges")
    }

    @Test func exactModeMatchesPageOracle() async throws {
        for seed in UInt64(500)...540 {
            var rng = SeededRNG(seed: seed)
            let bs: UInt64 = [4096, 8192].randomElement(using: &rng)!
            let contents = ContentStore()
            func randomBlock() -> ChunkID {
                var bytes = [UInt8](repeating: 0, count: Int(bs))
                for p in 0..<Int(bs / 512) where Bool.random(using: &rng) {
                    let k = Int.random(in: 0..<512, using: &rng)
                    bytes[p * 512 + k] = UInt8.random(in: 1...3, using: &rng)
                }
                return contents.add(bytes)
            }
            let maxBlocks = Int.random(in: 1...40, using: &rng)
            var baseDisk = FlatDisk(
                diskSizeBytes: UInt64.random(in: 0...UInt64(maxBlocks) * bs / 512, using: &rng) * 512,
                blockSizeBytes: bs)
            for i in 0..<baseDisk.blockCount where Bool.random(using: &rng) { baseDisk.ids[i] = randomBlock() }
            var targetDisk = baseDisk
            if Bool.random(using: &rng) {
                targetDisk.resize(to: UInt64.random(in: 0...UInt64(maxBlocks) * bs / 512, using: &rng) * 512)
            }
            for i in 0..<targetDisk.blockCount where Int.random(in: 0..<3, using: &rng) == 0 {
                targetDisk.ids[i] = Bool.random(using: &rng) ? randomBlock() : .zero
            }
            let store = MemoryNodeStore()
            let reader = BlockMapReader(store: store)
            let g = try BlockMapGeometry(
                diskSizeBytes: baseDisk.diskSizeBytes, blockSizeBytes: bs,
                leafFanout: 4, interiorFanout: 4)
            let base = try await BlockMap.build(
                base: nil, changes: baseDisk.nonZero,
                newDiskSizeBytes: baseDisk.diskSizeBytes, blockSizeBytes: bs, in: store)
            _ = g
            let target = try await BlockMap.build(
                base: base, changes: baseDisk.changes(to: targetDisk),
                newDiskSizeBytes: targetDisk.diskSizeBytes, in: store)
            for (n, (bd, bm, td, tm)) in [
                (baseDisk, base, targetDisk, target),
                (targetDisk, target, baseDisk, base),
            ].enumerated() {
                let expected = Oracle.diff(base: bd, target: td, contents: contents)
                let got = try await allPages(
                    reader, from: bm, to: tm,
                    maxResults: Int.random(in: 1...4, using: &rng), granularity: .exact,
                    contents: contents)
                #expect(got.ranges == expected, "seed \(seed) pair \(n): exact diff")
                let none = try await reader.diff(
                    from: nil, to: tm, granularity: .exact,
                    contents: contents)
                #expect(
                    none.ranges == Oracle.diff(base: nil, target: td, contents: contents),
                    "seed \(seed) pair \(n): exact diff without base")
                _ = bd
            }
        }
    }
}
