import BlockStore
import BlockStoreTesting
import Foundation
import Testing

/// Garbage collection, verification and repair on damaged stores: GC deletes only on complete
/// knowledge, verify cross-checks the index against pack headers, repair rebuilds the index.
@Suite struct FailClosedTests {
    /// A store with two live roots (each over its own packs) and garbage from a deleted root.
    struct Fixture {
        let backend: MemoryBackend
        let encrypted: Bool
        /// Each live root's blocks by chunk ID.
        let blocks: [String: [ChunkID: [UInt8]]]
        /// The packs each root's chunks were written to.
        let packs: [String: [ObjectKey]]

        var passphrase: String? { encrypted ? "pw" : nil }

        func open(_ lock: StoreLockMode = .none) async throws -> ChunkStore {
            try await ChunkStore.open(
                on: backend, passphrase: passphrase, options: fastOptions(lock: lock, packTargetBytes: 64 << 10))
        }

        /// Every object but locks, with its bytes.
        func snapshot() async throws -> [ObjectKey: [UInt8]] {
            var out: [ObjectKey: [UInt8]] = [:]
            for key in backend.allKeys where !key.rawValue.hasPrefix("locks/") { out[key] = try await backend.get(key) }
            return out
        }

        /// Checks that every live root's chunks read back bit-exact.
        func expectEveryRootReads(_ context: String) async throws {
            let store = try await open()
            for (root, blocks) in blocks {
                for (id, block) in blocks {
                    #expect(try await store.chunk(id) == block, "\(context): \(root) chunk \(id.shortHex)")
                }
            }
            try await store.close()
        }

        /// Checks that every live root's chunks read back bit-exact or fail with a typed error
        /// (a damaged index may hide a chunk; it must never yield other bytes).
        func expectNoWrongBytes(_ context: String) async throws {
            let store = try await open()
            for (root, blocks) in blocks {
                for (id, block) in blocks {
                    do {
                        #expect(try await store.chunk(id) == block, "\(context): \(root) chunk \(id.shortHex)")
                    } catch let error as BlockStoreError {
                        #expect(
                            [.notFound, .corruptObject, .truncatedObject, .authenticationFailed, .compressionError]
                                .contains(error.code),
                            "\(context): \(error)")
                    }
                }
            }
            try await store.close()
        }
    }

    static func makeStore(encrypted: Bool, seed: UInt64 = 7) async throws -> Fixture {
        let backend = MemoryBackend()
        let store = try await ChunkStore.create(
            on: backend, encryption: encrypted ? .passphrase("pw") : .none,
            options: fastOptions(packTargetBytes: 64 << 10))
        var blocks: [String: [ChunkID: [UInt8]]] = [:]
        var packs: [String: [ObjectKey]] = [:]
        var rng = SplitMix64(seed: seed)
        for name in ["points/one", "points/two", "points/garbage"] {
            let before = Set(backend.allKeys.filter { $0.rawValue.hasPrefix("data/") })
            var entries: [StoreNode.Entry] = []
            var mine: [ChunkID: [UInt8]] = [:]
            for i in 0..<14 {
                let block = Blocks.make(8192, kind: i % 2, rng: &rng)
                let id = try await store.putBlock(block).id
                mine[id] = block
                entries.append(.init(slot: UInt32(i), id: id))
            }
            let node = try await store.putNode(StoreNode(entries: entries))
            try await store.flush()
            try await store.publishRoot(name, id: node)
            packs[name] = backend.allKeys.filter { $0.rawValue.hasPrefix("data/") && !before.contains($0) }
            blocks[name] = mine
        }
        try await store.deleteRoot("points/garbage")
        blocks["points/garbage"] = nil
        try await store.close()
        return Fixture(backend: backend, encrypted: encrypted, blocks: blocks, packs: packs)
    }

    /// Runs GC and a GC dry run and expects both to refuse with `damaged`, changing nothing.
    func expectGarbageCollectionRefuses(_ f: Fixture, naming key: ObjectKey?, _ context: String) async throws {
        let before = try await f.snapshot()
        for dryRun in [true, false] {
            let store = try await f.open(dryRun ? .none : .exclusive)
            do {
                let report = try await store.collectGarbage(dryRun: dryRun)
                Issue.record("\(context): GC (dryRun \(dryRun)) ran on a damaged store: \(report)")
            } catch let error as BlockStoreError {
                #expect(error.code == .damaged, "\(context): \(error)")
                if let key {
                    let report = try #require(error.underlying as? DamageReport, "\(context): \(error)")
                    #expect(report.damagedObjects.contains(key), "\(context): \(report) does not name \(key)")
                }
            }
            try await store.close()
        }
        #expect(try await f.snapshot() == before, "\(context): a refused GC changed the store")
    }

    @Test(arguments: [true, false])
    func aFlippedIndexByteNeverCostsData(encrypted: Bool) async throws {
        var rng = SplitMix64(seed: encrypted ? 11 : 12)
        let template = try await Self.makeStore(encrypted: encrypted)
        let indexKeys = template.backend.allKeys.filter { $0.rawValue.hasPrefix("index/") }
        #expect(indexKeys.count >= 2)
        for key in indexKeys {
            let original = try await template.backend.get(key)
            for _ in 0..<4 {
                let f = try await Self.makeStore(encrypted: encrypted)
                // The store is rebuilt each time; index objects are content-named and the
                // contents differ (random pack IDs), so pick the same position among them.
                let target = f.backend.allKeys.filter { $0.rawValue.hasPrefix("index/") }[
                    indexKeys.firstIndex(of: key)!]
                var bytes = try await f.backend.get(target)
                let offset = Int(rng.next() % UInt64(bytes.count))
                bytes[offset] ^= UInt8(1 << (rng.next() % 8))
                f.backend.overwriteForTesting(target, with: bytes)
                let context = "encrypted \(encrypted), \(target) byte \(offset) of \(original.count)"
                if encrypted {
                    // Every byte of a sealed index object is authenticated: GC refuses, verify reports.
                    try await expectGarbageCollectionRefuses(f, naming: target, context)
                    let report = try await f.open().verify()
                    #expect(report.damagedObjects.contains(target), "\(context): \(report)")
                } else {
                    // A plain index object is not authenticated; GC marks from the pack headers,
                    // so whatever the flip did, nothing live is lost.
                    let store = try await f.open(.exclusive)
                    _ = try? await store.collectGarbage()
                    try await store.close()
                }
                try await f.expectNoWrongBytes("\(context), after GC")
                // Repair rebuilds the index from the headers: verify is clean, GC runs.
                let store = try await f.open(.exclusive)
                let repair = try await store.repair()
                #expect(repair.damagedRoots.isEmpty, "\(context): \(repair)")
                #expect(try await store.verify().isClean, "\(context)")
                let gc = try await store.collectGarbage()
                #expect(gc.liveChunks == 30, "\(context): \(gc)")
                try await store.close()
                try await f.expectEveryRootReads("\(context), after repair and GC")
            }
        }
    }

    @Test func aFlippedIndexByteStopsGarbageCollectionBeforeItDeletesALivePack() async throws {
        // One flipped byte in one index object made `gc` delete every live pack.
        let f = try await Self.makeStore(encrypted: true)
        let index = f.backend.allKeys.first { $0.rawValue.hasPrefix("index/") }!
        var bytes = try await f.backend.get(index)
        bytes[bytes.count / 2] ^= 0x40
        f.backend.overwriteForTesting(index, with: bytes)
        try await expectGarbageCollectionRefuses(f, naming: index, "flipped index byte")
        // Putting the original back is enough: nothing was lost meanwhile.
        bytes[bytes.count / 2] ^= 0x40
        f.backend.overwriteForTesting(index, with: bytes)
        let store = try await f.open(.exclusive)
        let report = try await store.collectGarbage()
        #expect(report.liveChunks == 30 && report.deletedChunks == 15, "\(report)")
        try await store.close()
        try await f.expectEveryRootReads("after the index was put back and GC ran")
        #expect(try await f.open().verify().isClean)
    }

    @Test(arguments: [true, false])
    func aMissingIndexObjectCannotHideLiveChunks(encrypted: Bool) async throws {
        // A deleted (or rolled-back) index object is invisible to a listing, so GC must mark
        // from the pack headers: it keeps every live chunk and re-indexes them.
        let f = try await Self.makeStore(encrypted: encrypted)
        for key in f.backend.allKeys where key.rawValue.hasPrefix("index/") { try await f.backend.delete(key) }
        let store = try await f.open(.exclusive)
        #expect(store.statistics.chunkCount == 0)
        let report = try await store.collectGarbage()
        #expect(report.liveChunks == 30 && report.deletedChunks == 15, "\(report)")
        try await store.close()
        try await f.expectEveryRootReads("after GC without index objects")
        #expect(try await f.open().verify().isClean)
    }

    @Test(arguments: [true, false])
    func damagedRootsPackHeadersAndMissingPacksStopGarbageCollection(encrypted: Bool) async throws {
        // A damaged root.
        var f = try await Self.makeStore(encrypted: encrypted)
        var root = try await f.backend.get("roots/points/two")
        root[root.count - 3] ^= 0x01
        f.backend.overwriteForTesting("roots/points/two", with: root)
        if encrypted {
            try await expectGarbageCollectionRefuses(f, naming: "roots/points/two", "damaged root")
        }
        // A root that does not decode at all (any store).
        f.backend.overwriteForTesting("roots/points/two", with: Array(root.prefix(5)))
        try await expectGarbageCollectionRefuses(f, naming: "roots/points/two", "truncated root")
        await #expect(throws: BlockStoreError.self) { _ = try await f.open().roots(prefix: "points/") }
        let listing = try await f.open().rootListing(prefix: "points/")
        #expect(listing.records.map(\.name) == ["points/one"] && listing.damaged.map(\.name) == ["points/two"])

        // A damaged pack header (the trailer's magic) of a pack with live chunks.
        f = try await Self.makeStore(encrypted: encrypted)
        let pack = try #require(f.packs["points/one"]?.first)
        var bytes = try await f.backend.get(pack)
        bytes[bytes.count - 8] ^= 0x01
        f.backend.overwriteForTesting(pack, with: bytes)
        try await expectGarbageCollectionRefuses(f, naming: pack, "damaged pack trailer")

        // A pack holding live chunks is gone: GC refuses (missing chunks), naming them.
        f = try await Self.makeStore(encrypted: encrypted)
        try await f.backend.delete(try #require(f.packs["points/two"]?.first))
        let before = try await f.snapshot()
        let store = try await f.open(.exclusive)
        do {
            _ = try await store.collectGarbage()
            Issue.record("GC ran with a live pack missing")
        } catch let error as BlockStoreError {
            #expect(error.code == .damaged)
            let report = try #require(error.underlying as? DamageReport)
            #expect(!report.missingChunks.isEmpty && report.damagedRoots == ["points/two"], "\(report)")
        }
        try await store.close()
        #expect(try await f.snapshot() == before)
    }

    @Test func verifyCrossChecksTheIndexAgainstPackHeaders() async throws {
        let f = try await Self.makeStore(encrypted: false)
        var store = try await f.open()
        #expect(try await store.verify().isClean)
        // An index object listing a pack that does not exist, and one that misplaces a chunk.
        let real = try #require(f.packs["points/one"]?.first)
        let bytes = try await f.backend.get(real)
        let realID = try #require(ChunkID(hex: real.lastSegment))
        let entries = try PackFormat.entries(ofPack: bytes, packID: realID, crypto: .plain, what: "test pack")
        let ghost = ChunkID(bytes: [UInt8](repeating: 0xAB, count: 32))!
        var moved = entries[0]
        moved.offset += 1
        let file = try IndexFile(packs: [(ghost, [entries[1]]), (realID, [moved])]).encoded(crypto: .plain)
        // Index objects are named by their hash (a well-formed, misleading one).
        try await f.backend.put(
            try ObjectKey(validating: "index/" + ChunkHasher.sha256.dataID(file).hex), data: file)
        store = try await f.open()
        let report = try await store.verify()
        #expect(report.danglingIndexEntries == [entries[1].id], "\(report)")
        #expect(report.indexMismatches == [moved.id], "\(report)")
        #expect(!report.isClean && report.damagedRoots.isEmpty)
        try await f.expectNoWrongBytes("with a misleading index object")
        // Repair rewrites the index from the headers.
        let exclusive = try await f.open(.exclusive)
        let repair = try await exclusive.repair()
        #expect(repair.rebuiltIndex && repair.damagedRoots.isEmpty && repair.removedIndexObjects >= 1, "\(repair)")
        try await exclusive.close()
        #expect(try await f.open().verify().isClean)
        try await f.expectEveryRootReads("after repair")
        // A second repair finds nothing to do.
        let again = try await f.open(.exclusive)
        #expect(try await again.repair().rebuiltIndex == false)
        try await again.close()
    }

    @Test func dataSubsetsCoverEveryPackOnce() async throws {
        let f = try await Self.makeStore(encrypted: true)
        let victim = try #require(f.packs["points/two"]?.first)
        var bytes = try await f.backend.get(victim)
        bytes[10] ^= 0x01  // inside the first blob
        f.backend.overwriteForTesting(victim, with: bytes)
        let store = try await f.open()
        let slices = 3
        var checked = 0
        var found: [Int] = []
        for n in 1...slices {
            let report = try await store.verify(dataSubset: try PackSubset(n, of: slices))
            checked += report.checkedPacks
            #expect(report.packCount == f.backend.allKeys.filter { $0.rawValue.hasPrefix("data/") }.count)
            if !report.damagedChunks.isEmpty {
                found.append(n)
                #expect(report.damagedRoots == ["points/two"] && report.damagedObjects.contains(victim), "\(report)")
            } else {
                #expect(report.isClean, "slice \(n): \(report)")
            }
        }
        #expect(checked == f.backend.allKeys.filter { $0.rawValue.hasPrefix("data/") }.count)
        #expect(found.count == 1, "the damaged pack is in exactly one slice: \(found)")
        #expect(throws: BlockStoreError.self) { try PackSubset(parsing: "0/3") }
        #expect(throws: BlockStoreError.self) { try PackSubset(parsing: "4/3") }
        #expect(throws: BlockStoreError.self) { try PackSubset(parsing: "1/") }
        #expect(try PackSubset(parsing: "2/5") == PackSubset(2, of: 5))
    }

    @Test(arguments: [true, false])
    func repairSetsAsideAPackWithADamagedHeaderAndNamesTheDamagedRoots(encrypted: Bool) async throws {
        let f = try await Self.makeStore(encrypted: encrypted)
        let pack = try #require(f.packs["points/one"]?.first)
        var bytes = try await f.backend.get(pack)
        bytes[bytes.count - 8] ^= 0x01  // the trailer's magic
        f.backend.overwriteForTesting(pack, with: bytes)
        let original = bytes

        let dry = try await f.open().repair(dryRun: true)
        #expect(dry.damagedPacks == [pack] && dry.damagedRoots == ["points/one"] && dry.rebuiltIndex, "\(dry)")
        #expect(f.backend.allKeys.contains(pack), "a dry run moves nothing")

        var store = try await f.open(.exclusive)
        let report = try await store.repair()
        try await store.close()
        #expect(report.damagedPacks == [pack] && report.damagedRoots == ["points/one"], "\(report)")
        #expect(!f.backend.allKeys.contains(pack))
        #expect(try await f.backend.get(ObjectKey(validating: "quarantine/\(pack.rawValue)")) == original)
        // The intact root still reads; GC still refuses while a root reaches what is gone.
        for (id, block) in f.blocks["points/two"]! { #expect(try await f.open().chunk(id) == block) }
        try await expectGarbageCollectionRefuses(f, naming: nil, "a root reaching a quarantined pack")
        // Once the damaged root is dealt with, GC runs again and keeps what is live.
        store = try await f.open(.exclusive)
        try await store.deleteRoot("points/one")
        let gc = try await store.collectGarbage()
        #expect(gc.liveChunks == 15, "\(gc)")
        try await store.close()
        for (id, block) in f.blocks["points/two"]! { #expect(try await f.open().chunk(id) == block) }
        #expect(try await f.open().verify().isClean)
    }

    @Test(arguments: [true, false])
    func repackingADamagedLiveChunkStopsBeforeDeletingAnything(encrypted: Bool) async throws {
        let backend = MemoryBackend()
        let store = try await ChunkStore.create(
            on: backend, encryption: encrypted ? .passphrase("pw") : .none,
            options: fastOptions(packTargetBytes: 1 << 20))
        var rng = SplitMix64(seed: 31)
        var ids: [ChunkID] = []
        for _ in 0..<7 { ids.append(try await store.putBlock(Blocks.make(8192, kind: 0, rng: &rng)).id) }
        try await store.flush()
        let keepNode = try await store.putNode(StoreNode(entries: [.init(slot: 0, id: ids[0])]))
        let dropNode = try await store.putNode(
            StoreNode(entries: ids.dropFirst().enumerated().map { .init(slot: UInt32($0.offset), id: $0.element) }))
        try await store.publishRoot("points/keep", id: keepNode)
        try await store.publishRoot("points/drop", id: dropNode)
        try await store.deleteRoot("points/drop")
        try await store.close()
        // The first pack holds the seven blocks; the kept block is its first blob.
        let packs = backend.allKeys.filter { $0.rawValue.hasPrefix("data/") }
        var target: ObjectKey? = nil
        for pack in packs where try await backend.get(pack).count > 7 * 8192 { target = pack }
        let pack = try #require(target)
        var bytes = try await backend.get(pack)
        bytes[20] ^= 0x02
        backend.overwriteForTesting(pack, with: bytes)
        let before = backend.allKeys.filter { !$0.rawValue.hasPrefix("locks/") }
        let gc = try await ChunkStore.open(
            on: backend, passphrase: encrypted ? "pw" : nil, options: fastOptions(lock: .exclusive))
        let error = await #expect(throws: BlockStoreError.self) {
            _ = try await gc.collectGarbage(repackThreshold: 0.3)
        }
        #expect(error?.code == .damaged, "\(String(describing: error))")
        #expect((error?.underlying as? DamageReport)?.damagedObjects == [pack])
        try await gc.close()
        #expect(backend.allKeys.filter { !$0.rawValue.hasPrefix("locks/") } == before, "nothing written or deleted")
        #expect(try await backend.get(pack) == bytes)
    }
}
