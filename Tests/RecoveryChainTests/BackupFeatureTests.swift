import BlockStore
import Foundation
import RecoveryChain
import Testing

/// S15–S17: verify-everything mode, disks added later, selective disk backup.
@Suite struct BackupFeatureTests {
    static func request(_ item: ItemName, _ disks: [(DiskIndex, [UInt8], TrackedChanges?)]) -> BackupRequest {
        var request = BackupRequest(
            item: item, disks: disks.map { DiskInput(disk: $0.0, source: MemoryDiskSource(bytes: $0.1), changes: $0.2) }
        )
        request.blockSizeBytes = 4096
        return request
    }

    static func chains() async throws -> ChainStore {
        ChainStore(
            store: try await ChunkStore.create(on: MemoryBackend(), encryption: .none, options: testOptions()),
            workerCount: 2)
    }

    func block(_ index: Int) -> Range<UInt64> { UInt64(index * 4096)..<UInt64((index + 1) * 4096) }

    @Test func verifyModeReportsBlocksTheTrackerMissedAndBacksThemUp() async throws {
        let seed: UInt64 = 15
        var rng = SeededGenerator(seed: seed)
        let chains = try await Self.chains()
        var disk = [UInt8](repeating: 0, count: 64 * 4096 + 512)
        _ = Churn.clustered(&disk, length: disk.count, rng: &rng)
        let base = try await chains.backup(Self.request("vm", [(0, disk, nil)])).point.id

        // Blocks 3, 17 and 40 and the partial last block (64) change; the tracker reports only 3.
        for b in [3, 17, 40] { disk[b * 4096 + 100] ^= 0xFF }
        disk[disk.count - 1] ^= 0x55
        let reported: [Range<UInt64>] = [UInt64(3 * 4096 + 100)..<UInt64(3 * 4096 + 101)]

        var verifying = Self.request("vm", [(0, disk, TrackedChanges(since: base, ranges: reported))])
        verifying.verifyChangedRanges = true
        let result = try await chains.backup(verifying)
        let lastBlock = UInt64(64 * 4096)..<UInt64(disk.count)
        #expect(
            result.missedByTracker == [0: [block(17), block(40), lastBlock]], "seed \(seed): \(result.missedByTracker)")
        #expect(result.point.disks[0].changedBlocks == 4)
        let scratch = ScratchDirectory()
        #expect(
            try await restoredBytes(chains, item: "vm", point: result.point.id, scratch: scratch) == disk,
            "seed \(seed): the missed blocks were not backed up")

        // Without verify mode the same wrong report is trusted: the point misses those blocks.
        let trusting = try await Self.chains()
        var original = disk
        for b in [3, 17, 40] { original[b * 4096 + 100] ^= 0xFF }
        original[original.count - 1] ^= 0x55
        let trustedBase = try await trusting.backup(Self.request("vm", [(0, original, nil)])).point.id
        let trusted = try await trusting.backup(
            Self.request("vm", [(0, disk, TrackedChanges(since: trustedBase, ranges: reported))]))
        #expect(trusted.missedByTracker.isEmpty)
        let bytes = try await restoredBytes(trusting, item: "vm", point: trusted.point.id, scratch: scratch)
        #expect(
            bytes != disk && bytes[17 * 4096 + 100] == original[17 * 4096 + 100],
            "seed \(seed): tracked mode reads only what the host reports")
    }

    @Test func aDiskAddedLaterIsBackedUpInFullAndRestores() async throws {
        let seed: UInt64 = 16
        var rng = SeededGenerator(seed: seed)
        let chains = try await Self.chains()
        var system = [UInt8](repeating: 0, count: 32 * 4096)
        _ = Churn.clustered(&system, length: 50_000, rng: &rng)
        let first = try await chains.backup(Self.request("vm", [(0, system, nil)]))

        var data = [UInt8](repeating: 0, count: 48 * 4096 + 1024)
        _ = Churn.clustered(&data, length: 20 * 4096, rng: &rng)
        let dataBlocks = stride(from: 0, to: data.count, by: 4096).filter {
            data[$0..<min($0 + 4096, data.count)].contains { $0 != 0 }
        }.count
        _ = Churn.scattered(&system, count: 3, rng: &rng)
        // Change tracking for the new disk (empty: "nothing changed" since it was created, before
        // any point had it) must not hide its data.
        let second = try await chains.backup(
            Self.request("vm", [(0, system, nil), (1, data, TrackedChanges(since: nil, ranges: []))]))
        #expect(second.point.disks.map(\.disk) == [0, 1])
        #expect(second.point.disks[1].changedBlocks == dataBlocks, "seed \(seed): the new disk is full")
        let scratch = ScratchDirectory()
        #expect(
            try await restoredBytes(chains, item: "vm", point: second.point.id, disk: 1, scratch: scratch) == data,
            "seed \(seed)")
        #expect(
            try await restoredBytes(chains, item: "vm", point: second.point.id, disk: 0, scratch: scratch) == system,
            "seed \(seed)")
        await #expect(throws: RecoveryChainError.self, "the first point has no disk 1") {
            _ = try await restoredBytes(chains, item: "vm", point: first.point.id, disk: 1, scratch: scratch)
        }
    }

    @Test func aPointWithOnlySomeDisksRestoresThoseAndTheOthersComeBackLater() async throws {
        let seed: UInt64 = 17
        var rng = SeededGenerator(seed: seed)
        let chains = try await Self.chains()
        var disks = [[UInt8](repeating: 0, count: 32 * 4096), [UInt8](repeating: 0, count: 24 * 4096)]
        _ = Churn.clustered(&disks[0], length: 60_000, rng: &rng)
        _ = Churn.clustered(&disks[1], length: 60_000, rng: &rng)
        let both = try await chains.backup(Self.request("vm", [(0, disks[0], nil), (1, disks[1], nil)]))
        let bothStates = disks

        let d0 = Churn.scattered(&disks[0], count: 5, rng: &rng)
        let d1 = Churn.scattered(&disks[1], count: 5, rng: &rng)
        let onlyOne = try await chains.backup(
            Self.request("vm", [(1, disks[1], TrackedChanges(since: both.point.id, ranges: d1))]))
        #expect(onlyOne.point.disks.map(\.disk) == [1])
        let scratch = ScratchDirectory()
        #expect(
            try await restoredBytes(chains, item: "vm", point: onlyOne.point.id, disk: 1, scratch: scratch) == disks[1],
            "seed \(seed)")
        do {
            _ = try await chains.restore(item: "vm", point: onlyOne.point.id, disk: 0, to: scratch.file("x.img"))
            Issue.record("a point without disk 0 restored it")
        } catch let error as RecoveryChainError {
            #expect(error.code == .notFound)
        }

        // Disk 0's base is the first point (the latest point lacks it): its changes tracked since
        // then are used; disk 1's base is the latest point, with nothing changed since.
        let again = try await chains.backup(
            Self.request(
                "vm",
                [
                    (0, disks[0], TrackedChanges(since: both.point.id, ranges: d0)),
                    (1, disks[1], TrackedChanges(since: onlyOne.point.id, ranges: [])),
                ]))
        let touched = Set(d0.flatMap { ($0.lowerBound / 4096)...(($0.upperBound - 1) / 4096) })
        #expect(
            again.point.disks.map(\.changedBlocks) == [touched.count, 0],
            "seed \(seed): only disk 0's tracked blocks changed")
        #expect(
            try await restoredBytes(chains, item: "vm", point: again.point.id, disk: 0, scratch: scratch) == disks[0],
            "seed \(seed)")
        #expect(
            try await restoredBytes(chains, item: "vm", point: again.point.id, disk: 1, scratch: scratch) == disks[1],
            "seed \(seed)")
        for d in 0..<2 {
            #expect(
                try await restoredBytes(chains, item: "vm", point: both.point.id, disk: DiskIndex(d), scratch: scratch)
                    == bothStates[d], "seed \(seed)")
        }
    }
}
