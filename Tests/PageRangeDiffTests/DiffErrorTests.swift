import BlockStore
import PageRangeDiff
import Testing

/// Bad requests, foreign markers and damaged nodes give typed errors, never a wrong diff.
@Suite struct DiffErrorTests {
    static func maps(_ store: some NodeStore) async throws -> (BlockMap, BlockMap) {
        var rng = SeededRNG(seed: 9)
        let changes = (0..<300).map { (blockIndex: UInt64($0 * 3), id: DiffPropertyTests.randomID(&rng, pool: 50)) }
        let a = try await BlockMap.build(
            base: nil, changes: changes, newDiskSizeBytes: 1000 * 4096,
            blockSizeBytes: 4096, in: store)
        let b = try await BlockMap.build(
            base: a,
            changes: [
                (blockIndex: UInt64(1), id: DiffPropertyTests.randomID(&rng, pool: 50)),
                (blockIndex: UInt64(900), id: .zero),
            ],
            in: store)
        return (a, b)
    }

    static func code(_ body: () throws -> Void) -> PageRangeDiffError.Code? {
        do {
            try body()
            return nil
        } catch let error as PageRangeDiffError {
            return error.code
        } catch {
            return nil
        }
    }

    static func code(_ body: () async throws -> Void) async -> PageRangeDiffError.Code? {
        do {
            try await body()
            return nil
        } catch let error as PageRangeDiffError {
            return error.code
        } catch {
            return nil
        }
    }

    @Test func badRequestsAreInvalidArguments() async throws {
        let store = MemoryNodeStore()
        let (a, b) = try await Self.maps(store)
        let reader = BlockMapReader(store: store)
        #expect(await Self.code { _ = try await reader.diff(from: a, to: b, in: 100..<1024) } == .invalidArgument)
        #expect(await Self.code { _ = try await reader.diff(from: a, to: b, in: 0..<(1 << 40)) } == .invalidArgument)
        #expect(await Self.code { _ = try await reader.diff(from: a, to: b, maxResults: 0) } == .invalidArgument)
        #expect(await Self.code { _ = try await reader.diff(from: a, to: b, granularity: .exact) } == .invalidArgument)
        #expect(await Self.code { _ = try await reader.chunkID(in: a, atBlock: 1000) } == .invalidArgument)
        #expect(Self.code { _ = try BlockMapGeometry(diskSizeBytes: 1000) } == .invalidArgument)
        #expect(Self.code { _ = try BlockMapGeometry(diskSizeBytes: 1 << 51) } == .limitExceeded)
        #expect(
            Self.code { _ = try BlockMapGeometry(diskSizeBytes: 4096, blockSizeBytes: 3000) } == .invalidArgument)
        let other = try await BlockMap.build(
            base: nil, changes: [], newDiskSizeBytes: 8192,
            blockSizeBytes: 8192, in: store)
        #expect(await Self.code { _ = try await reader.diff(from: a, to: other) } == .geometryMismatch)
        var builder = try await BlockMapBuilder(base: a, geometry: a.geometry, reader: reader)
        try await builder.set(blockIndex: UInt64(5), to: .zero)
        #expect(await Self.code { try await builder.set(blockIndex: UInt64(5), to: .zero) } == .invalidArgument)
    }

    @Test func markersAreValidated() async throws {
        let store = MemoryNodeStore()
        let (a, b) = try await Self.maps(store)
        let reader = BlockMapReader(store: store)
        let first = try await reader.diff(from: nil, to: a, maxResults: 2)
        let marker = try #require(first.nextMarker)
        #expect(try DiffMarker(parsing: marker.description) == marker)
        for text in [
            "", "prd1-", "prd1-00-00", "xyz1-0000000000000000-0000000000000000",
            "prd1-000000000000000g-0000000000000000", marker.description + "0",
            marker.description.uppercased(),
        ] {
            #expect(Self.code { _ = try DiffMarker(parsing: text) } == .invalidMarker, "\(text)")
        }
        // A marker of another request is refused.
        #expect(
            await Self.code { _ = try await reader.diff(from: a, to: b, maxResults: 2, marker: marker) }
                == .invalidMarker)
        #expect(
            await Self.code { _ = try await reader.diff(from: nil, to: a, in: 0..<4096, marker: marker) }
                == .invalidMarker)
        // A forged offset is refused.
        let forged = try DiffMarker(parsing: "prd1-0000000000000100-" + marker.description.suffix(16))
        #expect(await Self.code { _ = try await reader.diff(from: nil, to: a, marker: forged) } == .invalidMarker)
    }

    @Test func damagedNodesGiveTypedErrors() async throws {
        let store = ByteNodeStore()
        let (a, b) = try await Self.maps(store)
        let reference = try await BlockMapReader(store: store).diff(from: a, to: b)
        #expect(!reference.ranges.isEmpty)
        let ids = store.ids
        var rng = SeededRNG(seed: 31)
        var failures = 0
        for (n, id) in ids.enumerated() {
            for mode in 0..<3 {
                let saved = try await store.node(id).encoded()
                switch mode {
                case 0: store.damage(id) { $0.removeLast(Int.random(in: 1...$0.count, using: &rng)) }
                // Flip a byte of the node's structure (StoreNode and block-map headers: the first
                // 17 bytes). A flipped entry ID yields another well-formed node that only the
                // store's hash check catches (ChunkStore verifies every node against its ID; this
                // test store does not), so entries are left to the hostile-node tests.
                case 1: store.damage(id) { $0[Int.random(in: 0..<min($0.count, 17), using: &rng)] ^= 0xFF }
                default: store.remove(id)
                }
                let reader = BlockMapReader(store: store, cache: NodeCache(capacityBytes: 0))
                do {
                    for m in [a, b] {
                        let page = try await reader.diff(from: nil, to: m)
                        _ = page
                    }
                    let page = try await reader.diff(from: a, to: b)
                    // A damaged node the walk never needed must not change the answer.
                    #expect(page == reference, "node \(n) mode \(mode): wrong diff from a damaged store")
                } catch let error as PageRangeDiffError {
                    failures += 1
                    #expect(
                        [.corruptNode, .nodeNotFound, .unsupportedFormat].contains(error.code),
                        "node \(n) mode \(mode): \(error)")
                }
                store.restore(id, saved)
            }
        }
        #expect(failures >= ids.count * 2)
    }

    @Test func hostileNodesAreRejected() async throws {
        let store = MemoryNodeStore()
        let reader = BlockMapReader(store: store, cache: NodeCache(capacityBytes: 0))
        let id = DiffPropertyTests.randomID(&SeededRNG.one, pool: 3)
        let g = try BlockMapGeometry(
            diskSizeBytes: 200 * 4096, blockSizeBytes: 4096,
            leafFanout: 8, interiorFanout: 8)
        #expect(g.height == 3)
        func rootHeader(level: Int, size: UInt64 = 200 * 4096) -> [UInt8] {
            var h: [UInt8] = [66, 77, 1, UInt8(level), 1, 12, 3, 3]
            for k in 0..<8 { h.append(UInt8(truncatingIfNeeded: size >> (8 * UInt64(k)))) }
            return h
        }
        let leaf = store.putNodeSync(StoreNode(header: [66, 77, 1, 0, 0], entries: [.init(slot: 1, id: id)]))
        let cases: [(String, StoreNode)] = [
            ("wrong level", StoreNode(header: rootHeader(level: 2), entries: [.init(slot: 0, id: leaf)])),
            ("slot beyond fan-out", StoreNode(header: rootHeader(level: 2), entries: [.init(slot: 8, id: leaf)])),
            ("entry past the end", StoreNode(header: rootHeader(level: 2), entries: [.init(slot: 4, id: leaf)])),
            ("missing child", StoreNode(header: rootHeader(level: 2), entries: [.init(slot: 0, id: id)])),
            ("root level does not fit", StoreNode(header: rootHeader(level: 1), entries: [])),
            ("zero id", StoreNode(header: rootHeader(level: 2), entries: [.init(slot: 0, id: .zero)])),
            ("bad magic", StoreNode(header: [1, 2, 3, 4, 5], entries: [])),
            ("future version", StoreNode(header: [66, 77, 9, 0, 0], entries: [])),
        ]
        for (name, node) in cases {
            let root = store.putNodeSync(node)
            let map = try? await reader.open(root: root)
            let code = await DiffErrorTests.code {
                let m = try await reader.open(root: root)
                _ = try await reader.diff(from: nil, to: m)
                _ = try await reader.chunkID(in: m, atBlock: 1)
            }
            #expect(code != nil, "\(name): accepted \(String(describing: map))")
            #expect(
                [.corruptNode, .nodeNotFound, .unsupportedFormat].contains(code), "\(name): \(String(describing: code))"
            )
        }
    }
    /// Hostile nodes below a valid root, in a memory store (read in place, without the cache):
    /// every diff that reaches them, either way round, fails with a typed error.
    @Test func hostileChildNodesInAMemoryStoreAreRejected() async throws {
        let store = MemoryNodeStore()
        let reader = BlockMapReader(store: store, cache: NodeCache(capacityBytes: 0))
        var rng = SeededRNG(seed: 21)
        let g = try BlockMapGeometry(
            diskSizeBytes: 200 * 4096, blockSizeBytes: 4096,
            leafFanout: 8, interiorFanout: 8)
        #expect(g.height == 3)
        var builder = try await BlockMapBuilder(base: nil, geometry: g, reader: reader)
        for b in 0..<200 {
            try await builder.set(blockIndex: UInt64(b), to: DiffPropertyTests.randomID(&rng, pool: 40))
        }
        let base = try await builder.finish()
        let data = DiffPropertyTests.randomID(&rng, pool: 40)
        let leaf = store.putNodeSync(StoreNode(header: [66, 77, 1, 0, 0], entries: [.init(slot: 1, id: data)]))
        let zeroLeaf = store.putNodeSync(StoreNode(header: [66, 77, 1, 0, 0], entries: [.init(slot: 1, id: .zero)]))
        let wideLeaf = store.putNodeSync(StoreNode(header: [66, 77, 1, 0, 0], entries: [.init(slot: 8, id: data)]))
        let denseZeroLeaf = store.putNodeSync(
            StoreNode(
                header: [66, 77, 1, 0, 0],
                entries: (0..<8).map { .init(slot: UInt32($0), id: $0 == 5 ? .zero : data) }))
        let absent = DiffPropertyTests.randomID(&rng, pool: 40)
        var rootHeader: [UInt8] = [66, 77, 1, 2, 1, 12, 3, 3]
        for k in 0..<8 { rootHeader.append(UInt8(truncatingIfNeeded: g.diskSizeBytes >> (8 * UInt64(k)))) }
        let level1: [(String, StoreNode)] = [
            ("zero ID", StoreNode(header: [66, 77, 1, 1, 0], entries: [.init(slot: 0, id: .zero)])),
            ("slot beyond fan-out", StoreNode(header: [66, 77, 1, 1, 0], entries: [.init(slot: 8, id: leaf)])),
            ("empty non-root", StoreNode(header: [66, 77, 1, 1, 0], entries: [])),
            ("leaf where level 1 belongs", StoreNode(header: [66, 77, 1, 0, 0], entries: [.init(slot: 0, id: data)])),
            ("bad flags", StoreNode(header: [66, 77, 1, 1, 1], entries: [.init(slot: 0, id: leaf)])),
            ("future version", StoreNode(header: [66, 77, 2, 1, 0], entries: [.init(slot: 0, id: leaf)])),
            ("long header", StoreNode(header: [66, 77, 1, 1, 0, 0], entries: [.init(slot: 0, id: leaf)])),
            ("missing leaf", StoreNode(header: [66, 77, 1, 1, 0], entries: [.init(slot: 0, id: absent)])),
            ("leaf with a zero ID", StoreNode(header: [66, 77, 1, 1, 0], entries: [.init(slot: 0, id: zeroLeaf)])),
            (
                "full leaf with a zero ID",
                StoreNode(header: [66, 77, 1, 1, 0], entries: [.init(slot: 0, id: denseZeroLeaf)])
            ),
            (
                "leaf slot beyond fan-out",
                StoreNode(header: [66, 77, 1, 1, 0], entries: [.init(slot: 0, id: wideLeaf)])
            ),
        ]
        for (name, node) in level1 {
            let child = store.putNodeSync(node)
            let root = store.putNodeSync(StoreNode(header: rootHeader, entries: [.init(slot: 0, id: child)]))
            let hostile = try await reader.open(root: root)
            for (from, to) in [(base, hostile), (hostile, base)] {
                let code = await DiffErrorTests.code { _ = try await reader.diff(from: from, to: to) }
                #expect(
                    [.corruptNode, .nodeNotFound, .unsupportedFormat].contains(code),
                    "\(name): \(String(describing: code))")
            }
        }
    }
}
