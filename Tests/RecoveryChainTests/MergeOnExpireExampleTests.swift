import BlockStore
import Foundation
import RecoveryChain
import Testing

/// Azure Backup's worked example of incremental snapshots and merge-on-expire: a data disk of
/// four 16 KB blocks.
/// RP1 = D1 D2 (blocks 1, 2), RP2 = D3 (block 3), RP3 = D2′ D3′ (blocks 2, 3 rewritten).
@Suite struct MergeOnExpireExampleTests {
    static let block = 16 * 1024

    func content(_ tag: UInt8) -> [UInt8] {
        // Incompressible-ish, distinct per tag.
        var rng = SeededGenerator(seed: UInt64(tag))
        return (0..<Self.block).map { _ in UInt8(truncatingIfNeeded: rng.next()) | 1 }
    }

    struct Chain {
        let chains: ChainStore
        let store: ChunkStore
        let backend: MemoryBackend
        var points: [PointID] = []
        var oracles: [PointID: [UInt8]] = [:]
    }

    func makeChain(onDemandMiddle: Bool = false) async throws -> Chain {
        let backend = MemoryBackend()
        let store = try await ChunkStore.create(on: backend, encryption: .none, options: testOptions())
        var chain = Chain(chains: ChainStore(store: store), store: store, backend: backend)
        var disk = [UInt8](repeating: 0, count: 4 * Self.block)
        func put(_ blockIndex: Int, _ tag: UInt8) {
            disk.replaceSubrange((blockIndex * Self.block)..<((blockIndex + 1) * Self.block), with: content(tag))
        }
        put(0, 1); put(1, 2)  // D1, D2
        var steps: [[UInt8]] = [disk]
        put(2, 3)  // D3
        steps.append(disk)
        put(1, 22); put(2, 33)  // D2′, D3′
        steps.append(disk)
        for (i, state) in steps.enumerated() {
            var request = BackupRequest(item: "V1", disks: [DiskInput(disk: 0, source: MemoryDiskSource(bytes: state))])
            request.blockSizeBytes = Self.block
            request.onDemand = onDemandMiddle && i == 1
            request.time = Date(timeIntervalSince1970: 1_800_000_000 + Double(i) * 86_400)
            let result = try await chain.chains.backup(request)
            chain.points.append(result.point.id)
            chain.oracles[result.point.id] = state
        }
        return chain
    }

    func introduced(_ chain: Chain) async throws -> [Int] {
        try await chain.chains.summaries(item: "V1").map(\.introducedBlocks)
    }

    func checkRestores(_ chain: Chain) async throws {
        let scratch = ScratchDirectory()
        for point in try await chain.chains.points(item: "V1") {
            #expect(
                try await restoredBytes(chain.chains, item: "V1", point: point.id, scratch: scratch)
                    == chain.oracles[point.id], "point \(point.id)")
        }
    }

    func collect(_ chain: Chain) async throws -> Int {
        try await chain.store.close()
        let gc = try await ChunkStore.open(on: chain.backend, options: testOptions(lock: .exclusive))
        _ = try await gc.collectGarbage()
        let chunks = gc.statistics.chunkCount
        try await gc.close()
        return chunks
    }

    @Test func theStorageTableComesOutExactly() async throws {
        let chain = try await makeChain()
        let summaries = try await chain.chains.summaries(item: "V1")
        #expect(summaries.map(\.introducedBlocks) == [2, 1, 2])  // D1+D2, D3, D2′+D3′
        #expect(summaries.map(\.kind) == [.full, .incremental, .incremental])
        // Step sums as the seed's table: 32 KB, 48 KB, 80 KB of blocks.
        let sizes = summaries.map { $0.introducedBlocks * Self.block }
        #expect(sizes.reductions(0, +).dropFirst().map { $0 / 1024 } == [32, 48, 80])
        // Stored bytes are the compressed blocks: positive, never above the raw size plus a flag byte each.
        #expect(
            summaries.allSatisfy {
                $0.introducedBytes > 0 && $0.introducedBytes <= UInt64($0.introducedBlocks * (Self.block + 1))
            })
        try await checkRestores(chain)
    }

    @Test func caseOneTheInitialPointExpiresAndTheNextBecomesFull() async throws {
        let chain = try await makeChain()
        try await chain.chains.expire(item: "V1", point: chain.points[0])
        let summaries = try await chain.chains.summaries(item: "V1")
        #expect(summaries.map(\.kind) == [.full, .incremental])
        // RP2 now holds D1, D2 and D3; RP3 still D2′ and D3′. (D1 carries on; D2 stays because
        // RP2 still reads it — it goes once no remaining point reads block 2 as D2.)
        #expect(summaries.map(\.introducedBlocks) == [3, 2])
        try await checkRestores(chain)
        #expect(try await collect(chain) >= 5)
    }

    @Test func caseTwoAMiddleIncrementalMergesIntoTheNext() async throws {
        let chain = try await makeChain()
        try await chain.chains.expire(item: "V1", point: chain.points[1])
        // RP1 keeps D1 D2; RP3 now carries block 3 (D3′) and block 2 (D2′); D3 is no longer read.
        #expect(try await introduced(chain) == [2, 2])
        try await checkRestores(chain)
        // Data chunks left: D1, D2, D2′, D3′ (D3 freed), plus map nodes and manifests.
        let before = chain.store.statistics.chunkCount
        let after = try await collect(chain)
        #expect(after == before - 1 - 1 - 1, "D3, RP2's map leaf path and its manifest go: \(before) → \(after)")
    }

    @Test func caseThreeAnOnDemandPointExpiresTheSameWay() async throws {
        let chain = try await makeChain(onDemandMiddle: true)
        #expect(try await chain.chains.summaries(item: "V1").map(\.kind) == [.full, .onDemand, .incremental])
        try await chain.chains.expire(item: "V1", point: chain.points[1])
        #expect(try await introduced(chain) == [2, 2])
        try await checkRestores(chain)
    }

    @Test func theLatestPointNeverExpires() async throws {
        let chain = try await makeChain()
        do {
            try await chain.chains.expire(item: "V1", point: chain.points[2])
            Issue.record("the latest point must not expire")
        } catch let error as RecoveryChainError {
            #expect(error.code == .chainIntegrity)
        }
        try await chain.chains.expire(item: "V1", point: chain.points[1])
        try await chain.chains.expire(item: "V1", point: chain.points[0])
        #expect(try await chain.chains.points(item: "V1").map(\.id) == [chain.points[2]])
        try await checkRestores(chain)
    }
}

extension Sequence {
    func reductions<R>(_ initial: R, _ next: (R, Element) -> R) -> [R] {
        var out = [initial]
        var acc = initial
        for e in self {
            acc = next(acc, e)
            out.append(acc)
        }
        return out
    }
}
