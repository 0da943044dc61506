import BlockStore
import Foundation
import RecoveryChain
import Testing

/// S41 for chains: damage to one stored object is reported with exactly the points it damages;
/// every other point still restores bit-exact, and the damaged one fails with a typed error.
@Suite struct CorruptionTests {
    @Test(arguments: [UInt64(1), 2, 3])
    func aCorruptPackIsReportedWithExactlyThePointsItDamages(seed: UInt64) async throws {
        var rng = SeededGenerator(seed: seed)
        let backend = MemoryBackend()
        try await ChunkStore.create(
            on: backend, encryption: seed % 2 == 0 ? .passphrase("pw") : .none, options: testOptions()
        ).close()
        // An unencrypted store is opened without a passphrase (with one it would be `tampered`).
        let passphrase = seed % 2 == 0 ? "pw" : nil
        func session<R>(_ body: (ChainStore) async throws -> R) async throws -> R {
            let store = try await ChunkStore.open(on: backend, passphrase: passphrase, options: testOptions())
            let result = try await body(ChainStore(store: store, workerCount: 2))
            try await store.close()  // flushes: each session's chunks land in their own packs
            return result
        }
        func packs() -> Set<ObjectKey> { Set(backend.allKeys.filter { $0.rawValue.hasPrefix("data/") }) }
        func request(_ item: ItemName, _ disk: [UInt8]) -> BackupRequest {
            var r = BackupRequest(item: item, disks: [DiskInput(disk: 0, source: MemoryDiskSource(bytes: disk))])
            r.blockSizeBytes = 4096
            return r
        }

        var disk = [UInt8](repeating: 0, count: 64 * 4096)
        _ = Churn.clustered(&disk, length: disk.count, rng: &rng)
        var other = disk
        _ = Churn.scattered(&other, count: 20, rng: &rng)
        var oracles: [PointID: [UInt8]] = [:]
        let p1 = try await session { try await $0.backup(request("vm", disk)).point.id }
        oracles[p1] = disk
        let o1 = try await session { try await $0.backup(request("other", other)).point.id }

        // p2 rewrites blocks 5 and 50; p3 rewrites the same blocks again, so nothing p2 stored is
        // read by p3 (neither its blocks nor its map nodes).
        func rewrite(_ blocks: [Int]) {
            for b in blocks {
                for i in (b * 4096)..<((b + 1) * 4096) { disk[i] = UInt8(truncatingIfNeeded: rng.next()) | 1 }
            }
        }
        let before = packs()
        rewrite([5, 50])
        let p2 = try await session { try await $0.backup(request("vm", disk)).point.id }
        oracles[p2] = disk
        let p2Packs = packs().subtracting(before)
        #expect(p2Packs.count == 1, "seed \(seed): p2 wrote \(p2Packs.count) packs")
        rewrite([5, 50])
        let p3 = try await session { try await $0.backup(request("vm", disk)).point.id }
        oracles[p3] = disk

        // Flip one byte in the blob area of p2's pack (blobs come first, the header last).
        let victim = try #require(p2Packs.first)
        var bytes = try await backend.get(victim)
        bytes[bytes.count / 3] ^= 0xFF
        backend.overwriteForTesting(victim, with: bytes)

        let store = try await ChunkStore.open(on: backend, passphrase: passphrase, options: testOptions())
        let report = try await store.verify()
        #expect(report.damagedRoots == ["points/vm/\(p2)"], "seed \(seed): \(report)")
        #expect(report.damagedObjects.contains(victim), "seed \(seed): \(report.damagedObjects)")
        #expect(!report.damagedChunks.isEmpty, "seed \(seed)")
        // Scoped verification of single points agrees.
        #expect(try await store.verify(roots: ["points/vm/\(p1)", "points/vm/\(p3)"]).isClean, "seed \(seed)")
        #expect(try await store.verify(roots: ["points/vm/\(p2)"]).damagedRoots == ["points/vm/\(p2)"], "seed \(seed)")

        let chains = ChainStore(store: store, workerCount: 2)
        let scratch = ScratchDirectory()
        for id in [p1, p3] {
            #expect(
                try await restoredBytes(chains, item: "vm", point: id, scratch: scratch) == oracles[id],
                "seed \(seed): \(id)")
        }
        #expect(try await restoredBytes(chains, item: "other", point: o1, scratch: scratch) == other, "seed \(seed)")
        do {
            let damaged = try await restoredBytes(chains, item: "vm", point: p2, scratch: scratch)
            Issue.record(
                "seed \(seed): the damaged point restored \(damaged == oracles[p2] ? "correctly" : "wrong data silently")"
            )
        } catch let error as RecoveryChainError {
            #expect(error.code == .storeError || error.code == .corruptMetadata, "seed \(seed): \(error)")
        }
        try await store.close()
    }
}
