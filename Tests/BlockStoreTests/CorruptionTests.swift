import BlockStore
import BlockStoreTesting
import Foundation
import Testing

@Suite struct CorruptionTests {
    struct Fixture {
        let backend: MemoryBackend
        let blocks: [String: [ChunkID: [UInt8]]]
    }

    /// Two roots over disjoint chunks, each root's chunks in their own packs.
    func makeStore(encrypted: Bool) async throws -> Fixture {
        let backend = MemoryBackend()
        let store = try await ChunkStore.create(
            on: backend, encryption: encrypted ? .passphrase("pw") : .none,
            options: fastOptions(packTargetBytes: 64 << 10))
        var all: [String: [ChunkID: [UInt8]]] = [:]
        for (n, name) in ["points/one", "points/two"].enumerated() {
            var rng = SplitMix64(seed: UInt64(100 + n))
            var blocks: [ChunkID: [UInt8]] = [:]
            var entries: [StoreNode.Entry] = []
            for i in 0..<12 {
                let block = Blocks.make(8192, kind: i % 2, rng: &rng)
                let id = try await store.putBlock(block).id
                blocks[id] = block
                entries.append(.init(slot: UInt32(i), id: id))
            }
            try await store.flush()  // keep each root's chunks in their own packs
            let node = try await store.putNode(StoreNode(entries: entries))
            try await store.publishRoot(name, id: node)
            all[name] = blocks
        }
        try await store.close()
        return Fixture(backend: backend, blocks: all)
    }

    func open(_ f: Fixture, encrypted: Bool) async throws -> ChunkStore {
        try await ChunkStore.open(on: f.backend, passphrase: encrypted ? "pw" : nil, options: fastOptions(lock: .none))
    }

    /// The pack holding `id`, found by trying each pack (the test knows no internals).
    func packHolding(_ id: ChunkID, in f: Fixture, encrypted: Bool) async throws -> ObjectKey {
        for key in f.backend.allKeys where key.rawValue.hasPrefix("data/") {
            let saved = try await f.backend.get(key)
            f.backend.overwriteForTesting(key, with: [])
            let store = try await open(f, encrypted: encrypted)
            let broken = (try? await store.chunk(id)) == nil
            f.backend.overwriteForTesting(key, with: saved)
            if broken { return key }
        }
        throw BlockStoreError(.notFound, "no pack holds \(id)")
    }

    @Test(arguments: [false, true])
    func aFlippedBitIsReportedWithExactlyTheDamagedPoint(encrypted: Bool) async throws {
        let f = try await makeStore(encrypted: encrypted)
        let (victim, original) = f.blocks["points/one"]!.first { $0.value.contains { $0 != 0 } }!
        let pack = try await packHolding(victim, in: f, encrypted: encrypted)
        var bytes = try await f.backend.get(pack)
        // Flip one bit in every blob of the pack's first 64 bytes' worth: at least the first chunk.
        bytes[3] ^= 0x10
        f.backend.overwriteForTesting(pack, with: bytes)

        let store = try await open(f, encrypted: encrypted)
        let report = try await store.verify()
        #expect(!report.isClean)
        #expect(report.damagedRoots == ["points/one"], "\(report.damagedRoots)")
        #expect(report.damagedObjects.contains(pack))
        #expect(report.damagedChunks.count >= 1)
        // Undamaged chunks still read, damaged ones throw: never wrong bytes.
        for (id, block) in f.blocks["points/two"]! { #expect(try await store.chunk(id) == block) }
        var threw = 0
        for (id, block) in f.blocks["points/one"]! {
            do {
                #expect(try await store.chunk(id) == block)
            } catch let error as BlockStoreError {
                #expect(
                    [.corruptObject, .authenticationFailed, .compressionError, .truncatedObject].contains(error.code),
                    "\(error)")
                threw += 1
            }
        }
        #expect(threw == report.damagedChunks.count)
        _ = original
        // Root-scoped verification agrees.
        let scoped = try await store.verify(roots: ["points/two", "points/one"])
        #expect(scoped.damagedRoots == ["points/one"])
    }

    @Test(arguments: [false, true])
    func truncatedOrDeletedPacksAndIndexesAreReported(encrypted: Bool) async throws {
        let f = try await makeStore(encrypted: encrypted)
        let victim = f.blocks["points/two"]!.keys.first!
        let pack = try await packHolding(victim, in: f, encrypted: encrypted)
        let bytes = try await f.backend.get(pack)
        f.backend.overwriteForTesting(pack, with: Array(bytes.prefix(bytes.count / 2)))
        var store = try await open(f, encrypted: encrypted)
        var report = try await store.verify()
        #expect(report.damagedRoots == ["points/two"])
        #expect(report.damagedObjects.contains(pack))

        try await f.backend.delete(pack)
        store = try await open(f, encrypted: encrypted)
        report = try await store.verify()
        #expect(report.damagedRoots == ["points/two"])
        #expect(!report.missingChunks.isEmpty)

        // A damaged index object is reported, not fatal.
        let index = f.backend.allKeys.first { $0.rawValue.hasPrefix("index/") }!
        f.backend.overwriteForTesting(index, with: Array(try await f.backend.get(index).prefix(10)))
        store = try await open(f, encrypted: encrypted)
        report = try await store.verify()
        #expect(report.damagedObjects.contains(index))
    }

    @Test func aDamagedRootObjectIsReportedByName() async throws {
        let f = try await makeStore(encrypted: true)
        var bytes = try await f.backend.get("roots/points/one")
        bytes[bytes.count - 1] ^= 1
        f.backend.overwriteForTesting("roots/points/one", with: bytes)
        let store = try await open(f, encrypted: true)
        let report = try await store.verify()
        #expect(report.damagedRoots == ["points/one"])
        do {
            _ = try await store.root("points/one")
            Issue.record("a tampered root must not decode")
        } catch let error as BlockStoreError {
            #expect(error.code == .authenticationFailed)
        }
        // Moving a root to another name is detected too (the name is authenticated).
        try await f.backend.put("roots/points/three", data: try await f.backend.get("roots/points/two"))
        await #expect(throws: BlockStoreError.self) { _ = try await store.root("points/three") }
    }
}
