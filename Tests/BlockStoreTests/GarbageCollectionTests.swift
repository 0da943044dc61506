import BlockStore
import BlockStoreTesting
import Foundation
import Testing

@Suite struct GarbageCollectionTests {
    /// Writes `count` distinct blocks under a node published as root `name`.
    func publish(_ name: String, seed: UInt64, count: Int, shared: [ChunkID] = [], store: ChunkStore) async throws -> (
        ids: [ChunkID], blocks: [ChunkID: [UInt8]]
    ) {
        var rng = SplitMix64(seed: seed)
        var ids = shared
        var blocks: [ChunkID: [UInt8]] = [:]
        for _ in 0..<count {
            let block = Blocks.make(16384, kind: Int(rng.next() % 2), rng: &rng)
            let id = try await store.putBlock(block).id
            ids.append(id)
            blocks[id] = block
        }
        let entries = ids.enumerated().map { StoreNode.Entry(slot: UInt32($0.offset), id: $0.element) }
        let node = try await store.putNode(StoreNode(entries: entries))
        try await store.publishRoot(name, id: node)
        return (ids, blocks)
    }

    @Test func collectingRemovesOnlyWhatNoRootReaches() async throws {
        let backend = MemoryBackend()
        let writer = try await ChunkStore.create(
            on: backend, encryption: .passphrase("pw"), options: fastOptions(packTargetBytes: 128 << 10))
        let a = try await publish("points/a", seed: 1, count: 40, store: writer)
        let b = try await publish("points/b", seed: 2, count: 40, shared: Array(a.ids.prefix(10)), store: writer)
        try await writer.close()

        let gc = try await ChunkStore.open(
            on: backend, passphrase: "pw", options: fastOptions(lock: .exclusive, packTargetBytes: 128 << 10))
        let before = gc.statistics.chunkCount
        try await gc.deleteRoot("points/a")
        let dry = try await gc.collectGarbage(dryRun: true)
        #expect(dry.deletedChunks > 0)
        #expect(gc.statistics.chunkCount == before, "a dry run changes nothing")
        let report = try await gc.collectGarbage()
        try await gc.close()
        #expect(report.liveChunks > 0)
        // 30 chunks only `a` reached, plus a's node.
        #expect(report.deletedChunks == 31, "deleted \(report.deletedChunks)")
        #expect(report.freedBytes > 0)

        let reader = try await ChunkStore.open(on: backend, passphrase: "pw", options: fastOptions(lock: .none))
        #expect(reader.statistics.chunkCount == before - 31)
        for (id, block) in b.blocks { #expect(try await reader.chunk(id) == block) }
        for id in a.ids.prefix(10) { #expect(try await reader.chunk(id) == a.blocks[id]) }
        for id in a.ids.dropFirst(10) {
            await #expect(throws: BlockStoreError.self) { _ = try await reader.chunk(id) }
        }
        let verify = try await reader.verify()
        #expect(verify.isClean, "\(verify)")
        // Full verification reads every blob in every pack, including dead ones awaiting a rewrite.
        #expect(verify.checkedChunks >= before - 31)
    }

    @Test func garbageCollectionNeedsTheExclusiveLockAndWaitsForWriters() async throws {
        let backend = MemoryBackend()
        let writer = try await ChunkStore.create(on: backend, encryption: .none, options: fastOptions())
        // A second writer may share the store.
        let second = try await ChunkStore.open(on: backend, options: fastOptions())
        do {
            _ = try await ChunkStore.open(on: backend, options: fastOptions(lock: .exclusive))
            Issue.record("an exclusive lock must not be granted beside writers")
        } catch let error as BlockStoreError {
            #expect(error.code == .locked)
            #expect(error.message.contains("locked"))
        }
        await #expect(throws: BlockStoreError.self) { _ = try await writer.collectGarbage() }
        try await writer.close()
        try await second.close()
        let gc = try await ChunkStore.open(on: backend, options: fastOptions(lock: .exclusive))
        do {
            _ = try await ChunkStore.open(on: backend, options: fastOptions())
            Issue.record("a writer must not be admitted beside garbage collection")
        } catch let error as BlockStoreError {
            #expect(error.code == .locked)
        }
        try await gc.close()
        #expect(try await backend.listAll(prefix: "locks/").isEmpty, "closing releases every lock")
    }

    @Test func leftoversOfACrashedWriterAreIgnoredAndCollected() async throws {
        let backend = MemoryBackend()
        let writer = try await ChunkStore.create(
            on: backend, encryption: .none, options: fastOptions(packTargetBytes: 64 << 10))
        let committed = try await publish("points/kept", seed: 3, count: 20, store: writer)
        // A second batch is written (packs uploaded) but its root never published: the process "dies".
        var rng = SplitMix64(seed: 4)
        for _ in 0..<30 { _ = try await writer.putBlock(Blocks.make(16384, kind: 0, rng: &rng)) }
        // Drop the writer without closing; its lock object stays behind as a stale one would.
        let lockKeys = try await backend.listAll(prefix: "locks/").map(\.key)
        for key in lockKeys { try await backend.delete(key) }

        let gc = try await ChunkStore.open(
            on: backend, options: fastOptions(lock: .exclusive, packTargetBytes: 64 << 10))
        let report = try await gc.collectGarbage()
        #expect(report.deletedChunks >= 1)
        let verify = try await gc.verify()
        #expect(verify.isClean, "\(verify)")
        for (id, block) in committed.blocks { #expect(try await gc.chunk(id) == block) }
        try await gc.close()
    }
}
