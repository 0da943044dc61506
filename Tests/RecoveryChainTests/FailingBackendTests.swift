import BlockStore
import BlockStoreTesting
import Foundation
import RecoveryChain
import Testing

/// S17/S24 on an unreliable backend: backups whose writes fail record nothing, and what did
/// commit restores bit-exact.
@Suite struct FailingBackendTests {
    @Test(arguments: [UInt64(1), 2, 3])
    func backupsOnAFailingBackendAreAllOrNothing(seed: UInt64) async throws {
        var rng = SeededGenerator(seed: seed)
        let memory = MemoryBackend()
        try await ChunkStore.create(on: memory, encryption: .passphrase("pw"), options: testOptions()).close()
        let faulty = FaultInjectingBackend(
            wrapping: memory, seed: seed,
            configuration: .init(failureProbabilities: [.put: 0.04, .create: 0.04, .get: 0.01]))
        var disks = [[UInt8](repeating: 0, count: 48 * 4096 + 512), [UInt8](repeating: 0, count: 16 * 4096)]
        var oracles: [PointID: [[UInt8]]] = [:]
        var failures = 0
        for _ in 0..<12 {
            for d in 0..<2 {
                _ = Churn.clustered(&disks[d], length: 30_000, rng: &rng)
                _ = Churn.scattered(&disks[d], count: 4, rng: &rng)
            }
            do {
                let store = try await ChunkStore.open(on: faulty, passphrase: "pw", options: testOptions())
                do {
                    var request = BackupRequest(
                        item: "vm",
                        disks: (0..<2).map {
                            DiskInput(disk: DiskIndex($0), source: MemoryDiskSource(bytes: disks[$0]))
                        })
                    request.blockSizeBytes = 4096
                    let result = try await ChainStore(store: store, workerCount: 2).backup(request)
                    oracles[result.point.id] = disks
                    try await store.close()
                } catch {
                    try? await store.close()
                    throw error
                }
            } catch {
                failures += 1
            }
        }
        #expect(failures > 0 && !oracles.isEmpty, "seed \(seed): \(failures) failures, \(oracles.count) points")

        let store = try await ChunkStore.open(on: memory, passphrase: "pw", options: testOptions())
        let report = try await store.verify()
        #expect(
            report.damagedRoots.isEmpty && report.missingChunks.isEmpty && report.damagedChunks.isEmpty,
            "seed \(seed): \(report)")
        let chains = ChainStore(store: store, workerCount: 2)
        let visible = try await chains.points(item: "vm").map(\.id)
        #expect(
            Set(visible) == Set(oracles.keys), "seed \(seed): a failed backup left a point, or a committed one is gone")
        let scratch = ScratchDirectory()
        for id in visible {
            for d in 0..<2 {
                #expect(
                    try await restoredBytes(chains, item: "vm", point: id, disk: DiskIndex(d), scratch: scratch)
                        == oracles[id]?[d], "seed \(seed): \(id) disk \(d)")
            }
        }
        try await store.close()
    }
}

extension FailingBackendTests {
    /// A dropped connection can fail the write of an item's job guard after it landed; the job
    /// then fails, but the guard it left must not block the item (as if another job ran).
    @Test func aJobGuardWrittenByAFailedCallDoesNotBlockTheItem() async throws {
        let memory = MemoryBackend()
        try await ChunkStore.create(on: memory, encryption: .none, options: testOptions()).close()
        let faulty = FaultInjectingBackend(wrapping: memory, seed: 5)
        let store = try await ChunkStore.open(on: faulty, options: testOptions())
        let chains = ChainStore(store: store, workerCount: 2)
        let disk = [UInt8](repeating: 4, count: 16 * 4096)
        var request = BackupRequest(item: "vm", disks: [DiskInput(disk: 0, source: MemoryDiskSource(bytes: disk))])
        request.blockSizeBytes = 4096

        // The next create (the job guard) lands, then reports an error.
        faulty.configuration = .init(failureProbabilities: [.create: 1], failuresAfterApplyingFraction: 1)
        let outcome: Result<BackupResult, any Error>
        do { outcome = .success(try await chains.backup(request)) } catch { outcome = .failure(error) }
        faulty.configuration = .init()
        let guardLeft = memory.allKeys.contains { $0.rawValue == "jobs/vm" }

        // Whether the first call failed or went on, the item is free for the next job.
        let result = try await chains.backup(request)
        let scratch = ScratchDirectory()
        #expect(try await restoredBytes(chains, item: "vm", point: result.point.id, scratch: scratch) == disk)
        if case .failure(let error) = outcome {
            #expect(!"\(error)".contains("operationInProgress"), "\(error)")
        }
        #expect(
            !memory.allKeys.contains { $0.rawValue == "jobs/vm" },
            "the guard is released (left after the failure: \(guardLeft))")
        try await store.close()
    }
}
