import BlockStore
import Foundation
import RecoveryChain
import Synchronization
import Testing

/// A memory disk that takes a little time per read, so a job is still reading when cancelled.
struct SlowDiskSource: DiskSource {
    let inner: MemoryDiskSource
    let delayMicroseconds: UInt32

    init(bytes: [UInt8], delayMicroseconds: UInt32) {
        inner = MemoryDiskSource(bytes: bytes)
        self.delayMicroseconds = delayMicroseconds
    }

    var sizeBytes: UInt64 { inner.sizeBytes }

    func read(atOffset offsetBytes: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        usleep(delayMicroseconds)
        return try inner.read(atOffset: offsetBytes, into: buffer)
    }
}

/// S24: jobs report progress as an `AsyncSequence` and can be cancelled; a cancelled backup
/// leaves no visible point and loses nothing committed before.
@Suite struct JobTests {
    @Test func backupProgressReachesDoneWithCountersThatAddUp() async throws {
        let seed: UInt64 = 24
        var rng = SeededGenerator(seed: seed)
        let store = try await ChunkStore.create(on: MemoryBackend(), encryption: .none, options: testOptions())
        let chains = ChainStore(store: store, workerCount: 2)
        // 1024 blocks, of which the first 300 hold data and the rest are zeros.
        var disk = [UInt8](repeating: 0, count: 1024 * 4096)
        for i in 0..<(300 * 4096) { disk[i] = UInt8(truncatingIfNeeded: rng.next() % 5) + 1 }
        var request = BackupRequest(item: "vm", disks: [DiskInput(disk: 0, source: MemoryDiskSource(bytes: disk))])
        request.blockSizeBytes = 4096
        let job = chains.startBackup(request)
        var reports: [JobProgress] = []
        for await p in job.progress { reports.append(p) }
        let result = try await job.value

        let phases = reports.map(\.phase)
        #expect(phases.first == .quiescing, "seed \(seed): \(phases)")
        #expect(phases.last == .done, "seed \(seed): \(phases)")
        #expect(phases.contains(.reading) && phases.contains(.committing), "seed \(seed): \(phases)")
        let last = try #require(reports.last)
        #expect(last.blocksTotal == 1024)
        #expect(last.blocksDone == 1024)
        #expect(last.fractionDone == 1)
        #expect(last.bytesRead == UInt64(disk.count), "every byte read once: \(last.bytesRead)")
        #expect(last.blocksChanged == 300, "the data blocks: \(last.blocksChanged)")
        #expect(last.blocksChanged == result.point.disks[0].changedBlocks)
        #expect(last.bytesWritten > 0 && last.bytesWritten <= UInt64(300 * 4097), "stored bytes \(last.bytesWritten)")
        #expect(last.elapsedSeconds > 0)
        // Reports never go backwards.
        for (a, b) in zip(reports, reports.dropFirst()) {
            #expect(a.blocksDone <= b.blocksDone && a.bytesRead <= b.bytesRead, "seed \(seed): \(a) then \(b)")
        }

        // A restore job reports too, and ends done with every block accounted for.
        let scratch = ScratchDirectory()
        let restore = chains.startRestore(item: "vm", point: result.point.id, disk: 0, to: scratch.file("r.img"))
        var restoreReports: [JobProgress] = []
        for await p in restore.progress { restoreReports.append(p) }
        let restored = try await restore.value
        #expect(restoreReports.last?.phase == .done)
        #expect(restoreReports.last?.blocksDone == 1024)
        #expect(restored.blocksWritten == 300 && restored.blocksZeroed == 724)
        #expect(try readFile(scratch.file("r.img")) == disk)
    }

    @Test func aBackupCancelledWhileReadingLeavesNoPointAndTheChainIntact() async throws {
        let seed: UInt64 = 25
        var rng = SeededGenerator(seed: seed)
        let backend = MemoryBackend()
        let store = try await ChunkStore.create(on: backend, encryption: .passphrase("pw"), options: testOptions())
        let chains = ChainStore(store: store, workerCount: 2)
        var disk = [UInt8](repeating: 0, count: 1024 * 4096)
        _ = Churn.clustered(&disk, length: 3 << 20, rng: &rng)
        var request = BackupRequest(item: "vm", disks: [DiskInput(disk: 0, source: MemoryDiskSource(bytes: disk))])
        request.blockSizeBytes = 4096
        let committed = try await chains.backup(request)
        let committedDisk = disk

        // Rewrite everything and back it up slowly (1024 reads of 1.5 ms on two workers); cancel
        // at the first report that shows blocks read.
        _ = Churn.clustered(&disk, length: disk.count, rng: &rng)
        request.disks = [DiskInput(disk: 0, source: SlowDiskSource(bytes: disk, delayMicroseconds: 1500))]
        let job = chains.startBackup(request)
        var reports: [JobProgress] = []
        var cancelledAt: JobProgress? = nil
        for await p in job.progress {
            if cancelledAt == nil && p.blocksDone > 0 {
                job.cancel()
                cancelledAt = p
            }
            reports.append(p)
        }
        let midway = try #require(cancelledAt, "seed \(seed): no report while reading: \(reports)")
        #expect(midway.phase == .reading && midway.blocksDone < 1024, "seed \(seed): cancelled at \(midway)")
        // Midway the rate and the time left can be estimated.
        #expect(
            midway.bytesPerSecond > 0 && midway.fractionDone > 0 && midway.fractionDone < 1, "seed \(seed): \(midway)")
        #expect((midway.estimatedSecondsRemaining ?? 0) > 0, "seed \(seed): no ETA in \(midway)")
        do {
            let result = try await job.value
            Issue.record("seed \(seed): the cancelled backup recorded point \(result.point.id)")
        } catch let error as RecoveryChainError {
            #expect(error.code == .cancelled, "seed \(seed): \(error)")
        }
        #expect(reports.last?.phase != .done, "seed \(seed): \(reports.map(\.phase))")

        let scratch = ScratchDirectory()
        #expect(try await chains.points(item: "vm").map(\.id) == [committed.point.id])
        #expect(
            try await restoredBytes(chains, item: "vm", point: committed.point.id, scratch: scratch) == committedDisk)
        // The item is free again and the store accepts the same backup.
        request.disks = [DiskInput(disk: 0, source: MemoryDiskSource(bytes: disk))]
        let next = try await chains.backup(request)
        #expect(try await restoredBytes(chains, item: "vm", point: next.point.id, scratch: scratch) == disk)
        try await store.close()

        // What the cancelled job stored is garbage, not damage.
        let gc = try await ChunkStore.open(on: backend, passphrase: "pw", options: testOptions(lock: .exclusive))
        _ = try await gc.collectGarbage()
        let verification = try await gc.verify()
        #expect(verification.isClean, "seed \(seed): \(verification)")
        try await gc.close()
    }
}
