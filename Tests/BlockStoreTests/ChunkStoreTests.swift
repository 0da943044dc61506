import BlockStore
import BlockStoreTesting
import Foundation
import Testing

@Suite struct ChunkStoreTests {
    @Test(arguments: [false, true])
    func randomBlocksRoundTripAtEveryBlockSize(encrypted: Bool) async throws {
        let seed: UInt64 = 0xB10C_5EED
        var rng = SplitMix64(seed: seed)
        let backend = MemoryBackend()
        let store = try await ChunkStore.create(
            on: backend, encryption: encrypted ? .passphrase("pw") : .none, options: fastOptions())
        var written: [(ChunkID, [UInt8])] = []
        for shift in 12...22 {  // 4 KiB … 4 MiB
            for kind in 0..<3 {
                let block = Blocks.make(1 << shift, kind: kind, rng: &rng)
                let stored = try await store.putBlock(block)
                written.append((stored.id, block))
            }
        }
        try await store.close()
        let reopened = try await ChunkStore.open(
            on: backend, passphrase: encrypted ? "pw" : nil, options: fastOptions(lock: .none))
        for (id, block) in written {
            if block.allSatisfy({ $0 == 0 }) {
                #expect(id == .zero, "seed \(seed)")
                continue
            }
            let back = try await reopened.chunk(id)
            #expect(back == block, "seed \(seed): block of \(block.count) bytes differs after round trip")
        }
        #expect(reopened.isEncrypted == encrypted)
    }

    @Test func sameBytesAreStoredOnceAndZerosNever() async throws {
        var rng = SplitMix64(seed: 7)
        let store = try await ChunkStore.create(on: MemoryBackend(), encryption: .none, options: fastOptions())
        let block = Blocks.make(65536, kind: 1, rng: &rng)
        let first = try await store.putBlock(block)
        let second = try await store.putBlock(block)
        #expect(first.isNew && first.storedBytes > 0)
        #expect(!second.isNew && second.storedBytes == 0 && second.id == first.id)
        #expect(first.storedBytes < block.count, "text-like data should compress")
        let zero = try await store.putBlock([UInt8](repeating: 0, count: 65536))
        #expect(zero.id == .zero && !zero.isNew)
        try await store.flush()
        #expect(store.statistics.chunkCount == 1)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 16)
        defer { buffer.deallocate() }
        buffer.initializeMemory(as: UInt8.self, repeating: 0xFF)
        _ = try await store.readChunk(.zero, into: buffer)
        #expect(buffer.allSatisfy { $0 == 0 })
        #expect(first.id == ChunkHasher.sha256.dataID(block), "unencrypted IDs are plain SHA-256")
    }

    @Test func randomDataIsStoredRawNotExpanded() async throws {
        var rng = SplitMix64(seed: 8)
        let store = try await ChunkStore.create(on: MemoryBackend(), encryption: .none, options: fastOptions())
        let block = Blocks.make(65536, kind: 0, rng: &rng)
        let stored = try await store.putBlock(block)
        #expect(stored.storedBytes == block.count + 1, "incompressible blocks are stored raw plus one flag byte")
    }

    @Test func encryptedIDsAreKeyedAndRevealNothing() async throws {
        let block = [UInt8](repeating: 42, count: 4096)
        let a = try await ChunkStore.create(on: MemoryBackend(), encryption: .passphrase("a"), options: fastOptions())
        let b = try await ChunkStore.create(on: MemoryBackend(), encryption: .passphrase("a"), options: fastOptions())
        let idA = try await a.putBlock(block).id
        let idB = try await b.putBlock(block).id
        #expect(idA != ChunkHasher.sha256.dataID(block))
        #expect(idA != idB, "two stores have different ID keys")
    }

    @Test func wrongPassphraseIsAClearErrorAndKeysRotate() async throws {
        let backend = MemoryBackend()
        let store = try await ChunkStore.create(on: backend, encryption: .passphrase("first"), options: fastOptions())
        let id = try await store.putBlock(Array(repeating: 1, count: 4096)).id
        let second = try await store.addPassphrase("second", label: "ops")
        try await store.close()
        await #expect(throws: BlockStoreError.self) {
            _ = try await ChunkStore.open(on: backend, passphrase: "wrong", options: fastOptions())
        }
        do {
            _ = try await ChunkStore.open(on: backend, passphrase: "wrong", options: fastOptions())
        } catch let error as BlockStoreError {
            #expect(error.code == .wrongPassphrase)
            #expect(error.message.contains("passphrase"))
        }
        let viaSecond = try await ChunkStore.open(on: backend, passphrase: "second", options: fastOptions())
        #expect(try await viaSecond.chunk(id) == Array(repeating: 1, count: 4096))
        let keys = try await viaSecond.keys()
        #expect(keys.count == 2)
        let firstKey = try #require(keys.first { $0.id != second })
        try await viaSecond.removeKey(id: firstKey.id)
        await #expect(throws: BlockStoreError.self) { try await viaSecond.removeKey(id: second) }
        try await viaSecond.close()
        await #expect(throws: BlockStoreError.self) {
            _ = try await ChunkStore.open(on: backend, passphrase: "first", options: fastOptions())
        }
    }

    @Test func creatingTwiceAndOpeningNothingAreErrors() async throws {
        let backend = MemoryBackend()
        do {
            _ = try await ChunkStore.open(on: backend, options: fastOptions())
            Issue.record("opening an empty backend must fail")
        } catch let error as BlockStoreError {
            #expect(error.code == .notFound)
        }
        _ = try await ChunkStore.create(on: backend, encryption: .none, options: fastOptions(lock: .none))
        do {
            _ = try await ChunkStore.create(on: backend, encryption: .none, options: fastOptions())
            Issue.record("creating over a store must fail")
        } catch let error as BlockStoreError {
            #expect(error.code == .alreadyExists)
        }
    }

    @Test func manyConcurrentWritersOfOverlappingChunksLoseNothing() async throws {
        let backend = MemoryBackend()
        let store = try await ChunkStore.create(
            on: backend, encryption: .passphrase("pw"), options: fastOptions(packTargetBytes: 256 << 10))
        let distinct = 64
        let ids = try await withThrowingTaskGroup(of: [ChunkID].self) { group in
            for task in 0..<8 {
                group.addTask {
                    var rng = SplitMix64(seed: UInt64(task))
                    var out: [ChunkID] = []
                    for _ in 0..<48 {
                        let n = Int(rng.next() % UInt64(distinct))
                        var block = [UInt8](repeating: UInt8(n), count: 16384)
                        block[0] = UInt8(n &+ 1)  // never all-zero
                        out.append(try await store.putBlock(block).id)
                    }
                    return out
                }
            }
            var all: [ChunkID] = []
            for try await part in group { all += part }
            return all
        }
        try await store.close()
        let reopened = try await ChunkStore.open(on: backend, passphrase: "pw", options: fastOptions(lock: .none))
        #expect(reopened.statistics.chunkCount == Set(ids).count)
        for id in Set(ids) {
            let bytes = try await reopened.chunk(id)
            #expect(bytes.count == 16384)
        }
    }

    @Test func nodesRoundTripAndAreDomainSeparated() async throws {
        let store = try await ChunkStore.create(on: MemoryBackend(), encryption: .none, options: fastOptions())
        let data = try await store.putBlock(Array(repeating: 3, count: 4096)).id
        let node = StoreNode(header: [9], entries: [.init(slot: 2, id: data)])
        let id = try await store.putNode(node)
        try await store.flush()
        #expect(try await store.node(id) == node)
        #expect(store.kind(of: id) == .node)
        await #expect(throws: BlockStoreError.self) { _ = try await store.node(data) }
    }
}
