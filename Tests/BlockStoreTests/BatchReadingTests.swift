import BlockStore
import BlockStoreTesting
import Foundation
import Testing

@Suite struct BatchReadingTests {
    @Test(arguments: [false, true])
    func batchedReadsReturnEveryChunkVerifiedInTheOrderAsked(encrypted: Bool) async throws {
        var rng = SplitMix64(seed: 77)
        let backend = MemoryBackend()
        let store = try await ChunkStore.create(
            on: backend, encryption: encrypted ? .passphrase("pw") : .none,
            options: fastOptions(packTargetBytes: 256 << 10))
        var blocks: [(ChunkID, [UInt8])] = []
        for i in 0..<60 {
            let block = Blocks.make(8192, kind: i % 2, rng: &rng)
            blocks.append((try await store.putBlock(block).id, block))
        }
        try await store.flush()
        // Ask in a shuffled order with repeats: runs break where the order jumps.
        var order = Array(blocks.indices) + [3, 3, 59, 0]
        order.shuffle(using: &rng)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 8192, alignment: 16)
        defer { buffer.deallocate() }
        var seen: [Int] = []
        try await store.readChunks(order.map { blocks[$0].0 }, into: buffer) { k, bytes in
            seen.append(k)
            #expect(Array(bytes) == blocks[order[k]].1, "position \(k)")
        }
        #expect(seen == Array(order.indices))
        // In pack order every neighbour coalesces; a damaged blob is still caught.
        let pack = try #require(backend.allKeys.first { $0.rawValue.hasPrefix("data/") })
        var bytes = try await backend.get(pack)
        bytes[40] ^= 0x01
        backend.overwriteForTesting(pack, with: bytes)
        await #expect(throws: BlockStoreError.self) {
            try await store.readChunks(blocks.map(\.0), into: buffer) { _, _ in }
        }
    }
}
