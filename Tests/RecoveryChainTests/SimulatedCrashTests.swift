import BlockStore
import BlockStoreTesting
import Foundation
import Glibc
import RecoveryChain
import Testing

/// S40 simulated in-process: a `FaultInjectingBackend` "crashes" after N writes and deletes,
/// for every N across a scripted run of backups, expiries and a GC. After each crash a fresh
/// store on the wrapped backend opens, verifies clean after a GC, and every committed point
/// restores bit-exact.
@Suite struct SimulatedCrashTests {
    /// What the scripted run committed before it stopped.
    final class Journal {
        var oracles: [PointID: [[UInt8]]] = [:]
        var order: [PointID] = []
        var expired: Set<PointID> = []
        var pendingBackup: [[UInt8]]? = nil
        var pendingExpiry: PointID? = nil
        var stores: [ChunkStore] = []
    }

    static func script(_ backend: any StorageBackend, _ journal: Journal) async throws {
        var rng = SeededGenerator(seed: 7)
        var disks: [[UInt8]] = [[UInt8](repeating: 0, count: 64 * 4096 + 512), [UInt8](repeating: 0, count: 32 * 4096)]
        _ = Churn.clustered(&disks[0], length: 150_000, rng: &rng)
        _ = Churn.clustered(&disks[1], length: 60_000, rng: &rng)
        func open(_ lock: StoreLockMode) async throws -> ChunkStore {
            let store = try await ChunkStore.open(on: backend, passphrase: "pw", options: testOptions(lock: lock))
            journal.stores.append(store)
            return store
        }
        func backup(_ chains: ChainStore) async throws {
            journal.pendingBackup = disks
            var request = BackupRequest(
                item: "vm",
                disks: (0..<2).map { DiskInput(disk: DiskIndex($0), source: MemoryDiskSource(bytes: disks[$0])) })
            request.blockSizeBytes = 4096
            let result = try await chains.backup(request)
            journal.oracles[result.point.id] = disks
            journal.order.append(result.point.id)
            journal.pendingBackup = nil
        }
        func expire(_ chains: ChainStore, _ id: PointID) async throws {
            journal.pendingExpiry = id
            try await chains.expire(item: "vm", point: id)
            journal.expired.insert(id)
            journal.pendingExpiry = nil
        }
        func churn() {
            for d in 0..<2 {
                _ = Churn.clustered(&disks[d], length: 20_000, rng: &rng)
                _ = Churn.scattered(&disks[d], count: 5, rng: &rng)
                _ = Churn.zeroing(&disks[d], length: 9000, rng: &rng)
            }
        }

        var store = try await open(.shared)
        var chains = ChainStore(store: store, workerCount: 2)
        try await backup(chains)
        churn()
        try await backup(chains)
        churn()
        try await backup(chains)
        try await expire(chains, journal.order[0])
        try await store.close()
        let gc = try await open(.exclusive)
        _ = try await gc.collectGarbage(repackThreshold: 0.1)
        try await gc.close()
        store = try await open(.shared)
        chains = ChainStore(store: store, workerCount: 2)
        churn()
        try await backup(chains)
        try await expire(chains, journal.order[2])
        try await store.close()
    }

    @Test func aCrashAfterAnyNumberOfWritesLosesNoCommittedPoint() async throws {
        // How many writes and deletes the whole script makes.
        let probe = MemoryBackend()
        try await ChunkStore.create(on: probe, encryption: .passphrase("pw"), options: testOptions()).close()
        let counting = FaultInjectingBackend(wrapping: probe)
        try await Self.script(counting, Journal())
        let total = counting.mutatingOperationCount
        #expect(total > 20, "the script makes \(total) writes")

        let scratch = ScratchDirectory()
        let stride = max(1, total / 90)
        var crashes = 0
        for n in Swift.stride(from: 0, through: total, by: stride) {
            let memory = MemoryBackend()
            try await ChunkStore.create(on: memory, encryption: .passphrase("pw"), options: testOptions()).close()
            let faulty = FaultInjectingBackend(
                wrapping: memory, seed: UInt64(n), configuration: .init(crashAfterMutatingOperations: n))
            let journal = Journal()
            do {
                try await Self.script(faulty, journal)
                // Only the last writes (lock releases, which are best-effort) may crash unnoticed.
                #expect(n >= total - 2, "crash after \(n) of \(total): the script did not notice")
            } catch {
                #expect(faulty.hasCrashed, "crash after \(n): failed without crashing: \(error)")
                crashes += 1
            }
            for store in journal.stores { try? await store.close() }  // stop their lock refreshers
            // The crashed "process" is gone: its store lock and item job guard are stale. They name
            // this (live) process, so remove them as a takeover of a dead holder would.
            for key in memory.allKeys where key.rawValue.hasPrefix("locks/") || key.rawValue.hasPrefix("jobs/") {
                try await memory.delete(key)
            }
            let context = "crash after \(n) of \(total) writes"
            let reopened = try await ChunkStore.open(on: memory, passphrase: "pw", options: testOptions())
            let first = try await reopened.verify()
            #expect(
                first.damagedRoots.isEmpty && first.missingChunks.isEmpty && first.damagedChunks.isEmpty,
                "\(context): \(first)")
            try await reopened.close()
            let gc = try await ChunkStore.open(on: memory, passphrase: "pw", options: testOptions(lock: .exclusive))
            _ = try await gc.collectGarbage()
            let second = try await gc.verify()
            #expect(second.isClean, "\(context): after GC \(second)")

            let chains = ChainStore(store: gc, workerCount: 2)
            let visible = try await chains.points(item: "vm").map(\.id)
            for id in journal.order where !journal.expired.contains(id) && id != journal.pendingExpiry {
                #expect(visible.contains(id), "\(context): committed point \(id) is gone")
            }
            for id in journal.expired { #expect(!visible.contains(id), "\(context): expired point \(id) is back") }
            for id in visible {
                let oracle = try #require(
                    journal.oracles[id] ?? journal.pendingBackup, "\(context): point \(id) appeared from nowhere")
                for disk in 0..<2 {
                    let bytes = try await restoredBytes(
                        chains, item: "vm", point: id, disk: DiskIndex(disk), scratch: scratch)
                    #expect(bytes == oracle[disk], "\(context): point \(id) disk \(disk) differs")
                }
            }
            try await gc.close()
        }
        #expect(crashes > 20, "only \(crashes) runs crashed")
    }
}
