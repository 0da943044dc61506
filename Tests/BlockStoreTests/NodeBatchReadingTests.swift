import BlockStore
import BlockStoreTesting
import Foundation
import Testing

/// Batched node reads: the same nodes as one-by-one reads, in order, in fewer requests.
@Suite struct NodeBatchReadingTests {
    @Test(arguments: [false, true])
    func nodesComeBackInOrderVerifiedAndInFewReads(encrypted: Bool) async throws {
        var rng = SplitMix64(seed: 5)
        let backend = FaultInjectingBackend(wrapping: MemoryBackend())
        let store = try await ChunkStore.create(
            on: backend,
            encryption: encrypted ? .passphrase("pw") : .none,
            options: fastOptions(packTargetBytes: 64 << 10))
        var nodes: [(ChunkID, StoreNode)] = []
        for n in 0..<80 {
            let entries = (0..<(100 + n % 300)).map { k in
                StoreNode.Entry(
                    slot: UInt32(k * 2),
                    id: ChunkHasher.sha256.dataID(Array("\(n).\(k).\(rng.next())".utf8)))
            }
            let node = StoreNode(header: [UInt8(n), 7], entries: entries)
            nodes.append((try await store.putNode(node), node))
        }
        let data = try await store.putBlock(Blocks.make(4096, kind: 1, rng: &rng)).id
        try await store.flush()
        #expect(backend.allPackCount(store: store) > 1)

        let before = backend.callCount(.rangedGet) + backend.callCount(.get)
        let all = try await store.nodes(nodes.map(\.0))
        let reads = backend.callCount(.rangedGet) + backend.callCount(.get) - before
        #expect(all == nodes.map(\.1))
        #expect(reads < nodes.count / 4, "\(reads) reads for \(nodes.count) nodes in pack order")

        var order = Array(nodes.indices) + [0, 0, 79]
        order.shuffle(using: &rng)
        #expect(try await store.nodes(order.map { nodes[$0].0 }) == order.map { nodes[$0].1 })

        let missing = ChunkHasher.sha256.nodeID(Array("absent".utf8))
        let notFound = await #expect(throws: BlockStoreError.self) {
            _ = try await store.nodes([nodes[0].0, missing])
        }
        #expect(notFound?.code == .notFound)
        let wrongKind = await #expect(throws: BlockStoreError.self) {
            _ = try await store.nodes([nodes[1].0, data])
        }
        #expect(wrongKind?.code == .corruptObject)
    }
}
