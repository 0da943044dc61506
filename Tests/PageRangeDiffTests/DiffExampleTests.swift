import BlockStore
import PageRangeDiff
import Testing

/// Fixed scenarios from the issue: Azure's coalescing example, exact pages, cost bounds.
@Suite struct DiffExampleTests {
    /// Writes bytes into a disk held as blocks, returning the changed blocks' new IDs.
    static func write(
        _ blocks: inout [Int: [UInt8]], blockSize: Int, at offset: Int, count: Int,
        contents: ContentStore
    ) {
        for o in offset..<(offset + count) {
            let b = o / blockSize
            if blocks[b] == nil { blocks[b] = [UInt8](repeating: 0, count: blockSize) }
            blocks[b]![o % blockSize] = 0xA5
        }
    }

    @Test func azureCoalescingExampleGivesTwoRanges() async throws {
        let contents = ContentStore()
        let store = MemoryNodeStore()
        let reader = BlockMapReader(store: store)
        let bs = 4096
        let size: UInt64 = 64 * 1024
        let empty = try await BlockMap.build(
            base: nil, changes: [], newDiskSizeBytes: size,
            blockSizeBytes: UInt64(bs), in: store)
        var blocks: [Int: [UInt8]] = [:]
        for (start, end) in [(512, 2048), (4096, 5120), (2048, 2560), (0, 1024)] {
            Self.write(&blocks, blockSize: bs, at: start, count: end - start, contents: contents)
        }
        let changes = blocks.keys.sorted().map { (blockIndex: UInt64($0), id: contents.add(blocks[$0]!)) }
        let written = try await BlockMap.build(base: empty, changes: changes, in: store)
        let expected = [
            PageRange(start: 0, end: 2559, kind: .changed),
            PageRange(start: 4096, end: 5119, kind: .changed),
        ]
        let page = try await reader.diff(
            from: empty, to: written, granularity: .exact,
            contents: contents)
        #expect(page.ranges == expected)
        #expect(page.ranges.map { "\($0.start)…\($0.end)" } == ["0…2559", "4096…5119"])
        let noBase = try await reader.diff(
            from: nil, to: written, granularity: .exact,
            contents: contents)
        #expect(noBase.ranges == expected)
        // Block granularity reports whole 4 KiB blocks.
        let blockLevel = try await reader.diff(from: empty, to: written)
        #expect(blockLevel.ranges == [PageRange(0..<8192, kind: .changed)])
    }

    @Test func oneByteChangeInA64KiBBlockIsOnePage() async throws {
        let contents = ContentStore()
        let store = MemoryNodeStore()
        let reader = BlockMapReader(store: store)
        var bytes = [UInt8](repeating: 7, count: 65536)
        let before = contents.add(bytes)
        bytes[40_000] ^= 1
        let after = contents.add(bytes)
        let a = try await BlockMap.build(
            base: nil, changes: [(blockIndex: UInt64(3), id: before)],
            newDiskSizeBytes: 1 << 20, blockSizeBytes: 65536, in: store)
        let b = try await BlockMap.build(base: a, changes: [(blockIndex: UInt64(3), id: after)], in: store)
        let page = try await reader.diff(from: a, to: b, granularity: .exact, contents: contents)
        let offset: UInt64 = 3 * 65536 + 40_000 / 512 * 512
        #expect(page.ranges == [PageRange(offset..<(offset + 512), kind: .changed)])
        let coarse = try await reader.diff(from: a, to: b)
        #expect(coarse.ranges == [PageRange(3 * 65536..<4 * 65536, kind: .changed)])
    }

    @Test func incrementalBuildWritesOnlyChangedPaths() async throws {
        let store = CountingStore()
        let reader = BlockMapReader(store: store)
        // 64 GiB at 64 KiB blocks: 1,048,576 blocks, height 3 with the default fan-outs.
        let g = try BlockMapGeometry(diskSizeBytes: 64 << 30)
        #expect(g.height == 3)
        var rng = SeededRNG(seed: 77)
        var base: [(blockIndex: UInt64, id: ChunkID)] = []
        var i: UInt64 = 0
        while i < g.blockCount {
            base.append((i, DiffPropertyTests.randomID(&rng, pool: 1000)))
            i += UInt64.random(in: 1...200, using: &rng)
        }
        let map = try await BlockMap.build(
            base: nil, changes: base, newDiskSizeBytes: g.diskSizeBytes,
            in: store)
        let writesBefore = store.writes
        let changed = (0..<10).map { _ in UInt64.random(in: 0..<g.blockCount, using: &rng) }
        let changes = Set(changed).sorted().map { (blockIndex: $0, id: DiffPropertyTests.randomID(&rng, pool: 5000)) }
        var builder = try await BlockMapBuilder(base: map, geometry: g, reader: reader)
        for c in changes { try await builder.set(blockIndex: c.blockIndex, to: c.id) }
        let next = try await builder.finish()
        let written = store.writes - writesBefore
        #expect(written == builder.nodesWritten)
        #expect(written <= changes.count * g.height, "wrote \(written) nodes for \(changes.count) changes")
        #expect(written >= changes.count)  // at least the leaves
        // Diffing them reads only the changed paths: at most 2 × changes × height nodes.
        let readsBefore = store.reads
        let fresh = BlockMapReader(store: store, cache: NodeCache())
        let page = try await fresh.diff(from: map, to: next)
        #expect(page.ranges.count <= changes.count)
        #expect(store.reads - readsBefore <= 2 * changes.count * g.height)
        // Same content again: nothing is written, the map is the same.
        var same = try await BlockMapBuilder(base: next, geometry: g, reader: reader)
        for c in changes { try await same.set(blockIndex: c.blockIndex, to: c.id) }
        let again = try await same.finish()
        #expect(again == next)
        #expect(same.nodesWritten == 0)
    }

    @Test func identicalMapsDiffWithoutReadingAnything() async throws {
        let store = CountingStore()
        let map = try await BlockMap.build(
            base: nil,
            changes: [(blockIndex: UInt64(5), id: DiffPropertyTests.randomID(&SeededRNG.one, pool: 9))],
            newDiskSizeBytes: 1 << 40, in: store)
        store.setFailReads(true)
        let reader = BlockMapReader(store: store, cache: NodeCache(capacityBytes: 0))
        let page = try await reader.diff(from: map, to: map)
        #expect(page.ranges.isEmpty && page.nextMarker == nil)
    }

    @Test func resizeReportsGrownAndCutParts() async throws {
        let store = MemoryNodeStore()
        let reader = BlockMapReader(store: store)
        let id = DiffPropertyTests.randomID(&SeededRNG.one, pool: 9)
        let small = try await BlockMap.build(
            base: nil, changes: [(blockIndex: UInt64(0), id: id)],
            newDiskSizeBytes: 65536, in: store)
        let grown = try await BlockMap.build(
            base: small, changes: [(blockIndex: UInt64(3), id: id)],
            newDiskSizeBytes: 5 * 65536, in: store)
        let up = try await reader.diff(from: small, to: grown)
        #expect(
            up.ranges == [
                PageRange(65536..<3 * 65536, kind: .cleared),
                PageRange(3 * 65536..<4 * 65536, kind: .changed),
                PageRange(4 * 65536..<5 * 65536, kind: .cleared),
            ])
        let down = try await reader.diff(from: grown, to: small)
        #expect(down.ranges == [PageRange(65536..<5 * 65536, kind: .cleared)])
        // Shrinking back gives the original map: equal content, equal root.
        let shrunk = try await BlockMap.build(
            base: grown, changes: [], newDiskSizeBytes: 65536,
            in: store)
        #expect(shrunk == small)
    }
}

extension SeededRNG {
    nonisolated(unsafe) static var one = SeededRNG(seed: 1)
}
