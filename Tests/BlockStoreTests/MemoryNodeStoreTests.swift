import BlockStore
import Testing

/// The in-memory node store: its own open-addressing table must keep every node through
/// growth and concurrent writers, and its in-place view must agree with the stored node.
@Suite struct MemoryNodeStoreTests {
    static func node(_ n: Int) -> StoreNode {
        let count = 1 + n % 70
        let entries = (0..<count).map {
            StoreNode.Entry(
                slot: UInt32($0 * 3),
                id: ChunkHasher.sha256.dataID(Array("node \(n) entry \($0)".utf8)))
        }
        return StoreNode(header: Array("header \(n)".utf8.prefix(n % 12)), entries: entries)
    }

    @Test func everyNodeSurvivesGrowthAndReadsBackEqual() throws {
        let store = MemoryNodeStore()
        var ids: [ChunkID] = []
        for n in 0..<5000 { ids.append(store.putNodeSync(Self.node(n))) }
        #expect(store.count == 5000)
        for n in stride(from: 0, to: 5000, by: 7) {
            #expect(try store.nodeSync(ids[n]) == Self.node(n), "node \(n)")
            // Storing again is free and changes nothing.
            #expect(store.putNodeSync(Self.node(n)) == ids[n])
        }
        #expect(store.count == 5000)
        let missing = ChunkHasher.sha256.dataID(Array("absent".utf8))
        let error = #expect(throws: BlockStoreError.self) { try store.nodeSync(missing) }
        #expect(error?.code == .notFound)
        #expect(store.residentNode(missing) == nil)
        #expect(store.residentNode(.zero) == nil)
    }

    @Test func inPlaceViewMatchesTheNode() throws {
        let store = MemoryNodeStore()
        for n in [0, 1, 5, 8, 11, 68, 69, 139] {
            let node = Self.node(n)
            let id = store.putNodeSync(node)
            let view = try #require(store.residentNode(id))
            #expect(Array(view.entries) == node.entries, "node \(n) entries")
            #expect(view.header.count == node.header.count, "node \(n) header length")
            #expect(Array(view.header) == node.header, "node \(n) header bytes")
        }
    }

    @Test func batchedLookupsAgreeWithSingleOnes() throws {
        let store = MemoryNodeStore()
        var ids = (0..<300).map { store.putNodeSync(Self.node($0)) }
        ids.insert(.zero, at: 7)
        ids.append(ChunkHasher.sha256.dataID(Array("absent".utf8)))
        var found = [ResidentNode?](repeating: nil, count: ids.count)
        ids.withUnsafeBufferPointer { i in
            found.withUnsafeMutableBufferPointer { store.residentNodes(i, into: $0) }
        }
        for (k, id) in ids.enumerated() {
            let single = store.residentNode(id)
            #expect((found[k] == nil) == (single == nil), "lookup \(k)")
            if let view = found[k], let single {
                #expect(view.entries.baseAddress == single.entries.baseAddress, "lookup \(k)")
                #expect(view.node == (try store.nodeSync(id)), "lookup \(k)")
            }
        }
        #expect(found[7] == nil && found.last! == nil)
        #expect(found.compactMap { $0 }.count == 300)
    }

    @Test func concurrentWritersAndReadersAgree() async throws {
        let store = MemoryNodeStore()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for t in 0..<4 {
                group.addTask {
                    // Overlapping ranges: nodes 500 t ..< 500 t + 1000.
                    for n in (500 * t)..<(500 * t + 1000) {
                        let id = store.putNodeSync(Self.node(n))
                        let back = try store.nodeSync(id)
                        #expect(back == Self.node(n))
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(store.count == 2500)
    }
}
