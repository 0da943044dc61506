import BlockStore
import BlockStoreTesting
import Foundation
import RecoveryChain
import Testing

/// S46: host-tracked changes name the point they are relative to. A backup uses them only when
/// that point is the item's latest point with the disk; otherwise it refuses with
/// `baseMismatch`, or reads the whole disk when asked. Whatever happens to the newest root
/// (rolled back, damaged, unreadable for a moment), every committed point restores bit-exact
/// against a byte copy of the disk, or the backup refused with a typed error.
@Suite struct TrackedBaseTests {
    /// What happens to the newest point's root before the next backup.
    enum Scenario: String, CaseIterable, Sendable {
        /// Deleted, as when a store is rolled back from a copy.
        case rolledBack
        /// Bytes flipped (in the manifest ID, or the sealed body of an encrypted store).
        case flippedRoot
        /// Cut in half.
        case truncatedRoot
        /// Replaced with the previous point's root bytes.
        case swappedRoot
        /// The backend fails every whole-object read (roots are read whole) for a while.
        case transientReadError
    }

    /// Which point the host's tracked ranges name.
    enum Base: String, CaseIterable, Sendable {
        /// The point the host's tracker was last reset at, as far as the host and store agree.
        case latest
        /// One point older, with honest ranges since then.
        case stale
        /// A point the chain does not hold (the deleted newest one after a rollback).
        case gone
    }

    struct Chain {
        var p1, p2, p3: PointID
        var r12, r23, r34: [Range<UInt64>]
    }

    /// Three points, each incremental from host-tracked ranges; the disk then changes again.
    static func makeChain(_ f: ChainFixture) async throws -> Chain {
        let p1 = try await f.backup(nil).point.id
        let r12 = f.advance()
        let p2 = try await f.backup(TrackedChanges(since: p1, ranges: r12)).point.id
        let r23 = f.advance()
        let p3 = try await f.backup(TrackedChanges(since: p2, ranges: r23)).point.id
        let r34 = f.advance()
        return Chain(p1: p1, p2: p2, p3: p3, r12: r12, r23: r23, r34: r34)
    }

    static func apply(_ scenario: Scenario, to f: ChainFixture, _ chain: Chain) async throws {
        let key = f.rootKey(chain.p3)
        switch scenario {
        case .rolledBack:
            try await f.backend.wrapped.delete(key)
            f.oracles[chain.p3] = nil
        case .flippedRoot:
            var bytes = try await f.backend.wrapped.get(key)
            // Past the 6-byte header: the manifest ID of a plain root, the sealed body otherwise.
            bytes[6 + Int(f.rng.next() % 32)] ^= UInt8(1 << (f.rng.next() % 8))
            try await f.backend.wrapped.put(key, data: bytes)
        case .truncatedRoot:
            let bytes = try await f.backend.wrapped.get(key)
            try await f.backend.wrapped.put(key, data: Array(bytes.prefix(bytes.count / 2)))
        case .swappedRoot:
            try await f.backend.wrapped.put(key, data: try await f.backend.wrapped.get(f.rootKey(chain.p2)))
        case .transientReadError:
            f.backend.configuration = .init(failureProbabilities: [.get: 1])
        }
    }

    /// The point a base names and the ranges a host would honestly report since it.
    static func tracked(_ base: Base, _ scenario: Scenario, _ c: Chain) -> TrackedChanges {
        let rolledBack = scenario == .rolledBack
        switch base {
        case .latest:
            return rolledBack
                ? TrackedChanges(since: c.p2, ranges: c.r23 + c.r34) : TrackedChanges(since: c.p3, ranges: c.r34)
        case .stale:
            return rolledBack
                ? TrackedChanges(since: c.p1, ranges: c.r12 + c.r23 + c.r34)
                : TrackedChanges(since: c.p2, ranges: c.r23 + c.r34)
        case .gone:
            return rolledBack
                ? TrackedChanges(since: c.p3, ranges: c.r34)
                : TrackedChanges(since: "20990101T000000Z-0badbase", ranges: c.r34)
        }
    }

    /// Runs one tracked backup and checks it against what the chain's latest point with the
    /// disk (`actualLatest`) allows: success when the changes name it, otherwise `baseMismatch`
    /// or a whole-disk read as `policy` says. Every readable point restores bit-exact after.
    static func expectBackup(
        _ f: ChainFixture, _ changes: TrackedChanges, policy: BaseMismatchPolicy, actualLatest: PointID,
        _ context: String
    ) async throws {
        let before = try await f.chains.pointListing(item: f.item).points.map(\.id)
        var result: BackupResult?
        let (code, error) = await errorCode { result = try await f.backup(changes, onMismatch: policy) }
        let after = try await f.chains.pointListing(item: f.item).points.map(\.id)
        if changes.since == actualLatest || policy == .readWholeDisk {
            #expect(code == nil && error == nil, "\(context): the backup failed: \(String(describing: error))")
            #expect(after.count == before.count + 1, "\(context): no point was committed")
            if let result {
                #expect(after.last == result.point.id, "\(context)")
                let restored = try await restoredBytes(
                    f.chains, item: f.item, point: result.point.id, scratch: f.scratch)
                #expect(restored == f.disk, "\(context): the new point restores wrong bytes")
                let expected =
                    changes.since == actualLatest ? [] : ["0: \(changes.since?.rawValue ?? "-") → \(actualLatest)"]
                #expect(
                    result.baseMismatches.map { "\($0.disk): \($0.named ?? "-") → \($0.latest ?? "-")" } == expected,
                    "\(context)")
            }
        } else {
            #expect(code == .baseMismatch, "\(context): expected baseMismatch, got \(String(describing: error))")
            #expect(after == before, "\(context): a refused backup committed a point")
            if let message = (error as? RecoveryChainError)?.message {
                #expect(
                    message.contains(changes.since?.rawValue ?? "no point") && message.contains(actualLatest.rawValue),
                    "\(context): the message names neither point: \(message)")
            }
        }
        try await f.expectEveryReadablePointRestoresBitExact(context)
    }

    @Test(arguments: StoreSetup.all, Scenario.allCases)
    func everyTrackedBackupBuildsOnItsNamedBaseOrRefuses(setup: StoreSetup, scenario: Scenario) async throws {
        for base in Base.allCases {
            for policy in [BaseMismatchPolicy.fail, .readWholeDisk] {
                let context = "\(setup.testDescription), \(scenario), \(base) base, \(policy)"
                let f = try await ChainFixture(setup)
                let chain = try await Self.makeChain(f)
                try await Self.apply(scenario, to: f, chain)
                let changes = Self.tracked(base, scenario, chain)
                switch scenario {
                case .rolledBack:
                    try await Self.expectBackup(f, changes, policy: policy, actualLatest: chain.p2, context)
                case .flippedRoot, .truncatedRoot, .swappedRoot:
                    let (code, error) = await errorCode { try await f.backup(changes, onMismatch: policy) }
                    #expect(code == .damaged, "\(context): expected damaged, got \(String(describing: error))")
                    let listing = try await f.chains.pointListing(item: f.item)
                    #expect(listing.points.map(\.id) == [chain.p1, chain.p2], "\(context)")
                    #expect(listing.damaged.map(\.point) == [chain.p3], "\(context)")
                    try await f.expectEveryReadablePointRestoresBitExact("\(context), damaged")
                    // Removed deliberately, the chain goes on from p2: p3's ranges no longer fit.
                    try await f.chains.removeDamagedPoint(item: f.item, point: chain.p3)
                    f.oracles[chain.p3] = nil
                    try await Self.expectBackup(
                        f, changes, policy: policy, actualLatest: chain.p2, "\(context), after removal")
                case .transientReadError:
                    let (code, error) = await errorCode { try await f.backup(changes, onMismatch: policy) }
                    #expect(
                        code == .storeError, "\(context): expected the backend error, got \(String(describing: error))")
                    let underlying = (error as? RecoveryChainError)?.underlying
                    #expect(
                        underlying.flatMap { FaultInjectingBackend.injectedFault(in: $0) } != nil,
                        "\(context): \(String(describing: error))")
                    f.backend.configuration = .init()
                    #expect(
                        try await f.chains.points(item: f.item).map(\.id) == [chain.p1, chain.p2, chain.p3],
                        "\(context)")
                    try await Self.expectBackup(
                        f, changes, policy: policy, actualLatest: chain.p3, "\(context), after the fault")
                }
                try await f.close()
            }
        }
    }

    /// The issue's reproduction: the newest root is deleted (the store rolled back), and the host
    /// still names that point. Before S46 the backup built on the older map and recorded wrong
    /// bytes; now it refuses, and reading the whole disk is correct.
    @Test(arguments: StoreSetup.all)
    func aBackupNamingADeletedNewestPointFailsWithBaseMismatch(setup: StoreSetup) async throws {
        let f = try await ChainFixture(setup)
        let chain = try await Self.makeChain(f)
        try await Self.apply(.rolledBack, to: f, chain)

        // Building p2 + r34 would be wrong: r23's changes would be lost.
        var silent = f.oracles[chain.p2]!
        let blockSize = UInt64(ChainFixture.blockSize)
        for r in chain.r34 {
            let lo = Int(r.lowerBound / blockSize * blockSize)
            let hi = Int(min((r.upperBound + blockSize - 1) / blockSize * blockSize, UInt64(f.disk.count)))
            silent.replaceSubrange(lo..<hi, with: f.disk[lo..<hi])
        }
        #expect(silent != f.disk, "\(setup.testDescription): the reproduction needs r23 to matter")

        let changes = TrackedChanges(since: chain.p3, ranges: chain.r34)
        let (code, error) = await errorCode { try await f.backup(changes) }
        #expect(code == .baseMismatch, "\(setup.testDescription): \(String(describing: error))")
        let message = (error as? RecoveryChainError)?.message ?? ""
        #expect(
            message.contains(chain.p3.rawValue) && message.contains(chain.p2.rawValue)
                && message.contains("not a point"),
            "\(setup.testDescription): \(message)")
        #expect(try await f.chains.points(item: f.item).map(\.id) == [chain.p1, chain.p2])

        let read = try await f.backup(changes, onMismatch: .readWholeDisk)
        #expect(read.baseMismatches.map(\.disk) == [0])
        #expect(read.baseMismatches.first?.named == chain.p3 && read.baseMismatches.first?.latest == chain.p2)
        #expect(
            try await restoredBytes(f.chains, item: f.item, point: read.point.id, scratch: f.scratch) == f.disk,
            "\(setup.testDescription)")
        // Only blocks that differ from p2 were recorded as changed: it compared against p2.
        let differing = stride(from: 0, to: f.disk.count, by: ChainFixture.blockSize).filter {
            f.disk[$0..<min($0 + ChainFixture.blockSize, f.disk.count)]
                != f.oracles[chain.p2]![$0..<min($0 + ChainFixture.blockSize, f.disk.count)]
        }.count
        #expect(read.point.disks[0].changedBlocks == differing, "\(setup.testDescription)")
        try await f.expectEveryReadablePointRestoresBitExact("after the whole-disk read")
        try await f.close()
    }

    /// Changes tracked since the disk's creation (no base) on an item that already has the disk
    /// are a mismatch too; on a disk no point has, they make a full backup.
    @Test func rangesNamingNoBaseAreAFullBackupOnlyForANewDisk() async throws {
        let f = try await ChainFixture(StoreSetup(seed: 5, local: false, encrypted: false))
        let first = try await f.backup(TrackedChanges(since: nil, ranges: []))
        #expect(first.kind == .full && first.point.disks[0].changedBlocks > 0)
        #expect(first.baseMismatches.isEmpty)
        let ranges = f.advance()
        let (code, _) = await errorCode { try await f.backup(TrackedChanges(since: nil, ranges: ranges)) }
        #expect(code == .baseMismatch)
        let (named, _) = await errorCode {
            try await f.backup(TrackedChanges(since: "20990101T000000Z-00000000", ranges: ranges))
        }
        #expect(named == .baseMismatch)
        // A disk no point has, with ranges naming a point: the named base has no such disk.
        var second = f.request(nil)
        second.disks.append(
            DiskInput(
                disk: 1, source: MemoryDiskSource(bytes: f.disk),
                changes: TrackedChanges(since: first.point.id, ranges: [])))
        let (noDisk, error) = await errorCode { try await f.chains.backup(second) }
        #expect(noDisk == .baseMismatch)
        #expect(
            (error as? RecoveryChainError)?.message.contains("no point with disk 1") == true,
            "\(String(describing: error))")
        try await f.expectEveryReadablePointRestoresBitExact("no base")
        try await f.close()
    }

    /// S17 + S46: a disk left out of newer points chains onto the latest point that has it,
    /// both for tracked changes (which must name that point) and for read-and-compare.
    @Test(arguments: [StoreSetup.all[0], StoreSetup.all[1]])
    func aDiskAbsentFromTheNewestPointChainsOntoTheLatestPointThatHasIt(setup: StoreSetup) async throws {
        var rng = SeededGenerator(seed: setup.seed &+ 100)
        let f = try await ChainFixture(setup)
        var system = [UInt8](repeating: 0, count: 40 * ChainFixture.blockSize + 512)
        _ = Churn.clustered(&system, length: 30 * ChainFixture.blockSize, rng: &rng)
        func request(_ disks: [(Int, [UInt8], TrackedChanges?)]) -> BackupRequest {
            var r = BackupRequest(
                item: f.item,
                disks: disks.map {
                    DiskInput(disk: DiskIndex($0.0), source: MemoryDiskSource(bytes: $0.1), changes: $0.2)
                })
            r.blockSizeBytes = ChainFixture.blockSize
            r.time = f.nextTime
            f.nextTime += 3600
            return r
        }
        var systems: [PointID: [UInt8]] = [:]
        let p1 = try await f.chains.backup(request([(0, system, nil), (1, f.disk, nil)])).point.id
        systems[p1] = system
        f.oracles[p1] = f.disk
        // Two points of disk 1 alone.
        var p3: PointID = ""
        for _ in 0..<2 {
            let r = f.advance()
            let since = try await f.chains.points(item: f.item).last!.id
            p3 = try await f.chains.backup(request([(1, f.disk, TrackedChanges(since: since, ranges: r))])).point.id
            f.oracles[p3] = f.disk
        }
        let systemAtP1 = system
        let touched = Churn.scattered(&system, count: 6, rng: &rng)
        let touchedBlocks = Set(touched.flatMap { ($0.lowerBound / 4096)...(($0.upperBound - 1) / 4096) })

        // Ranges named relative to the newest point (which lacks disk 0) do not fit disk 0.
        let (code, error) = await errorCode {
            try await f.chains.backup(request([(0, system, TrackedChanges(since: p3, ranges: touched))]))
        }
        #expect(code == .baseMismatch, "\(setup.testDescription): \(String(describing: error))")
        #expect(
            (error as? RecoveryChainError)?.message.contains("has no disk 0") == true, "\(String(describing: error))")

        // Relative to p1 they do: only the touched blocks are read and recorded.
        let tracked = try await f.chains.backup(request([(0, system, TrackedChanges(since: p1, ranges: touched))]))
        #expect(
            tracked.point.disks.map(\.changedBlocks) == [touchedBlocks.count],
            "\(setup.testDescription): disk 0 was not built on p1")
        systems[tracked.point.id] = system

        // Read-and-compare also compares with p1 (before, the base was the newest point, which
        // lacks disk 0, so every data block counted as changed).
        _ = Churn.scattered(&system, count: 3, rng: &rng)
        let compared = try await f.chains.backup(request([(0, system, nil)]))
        let previous = systems[tracked.point.id]!
        let differing = stride(from: 0, to: system.count, by: 4096).filter {
            system[$0..<min($0 + 4096, system.count)] != previous[$0..<min($0 + 4096, previous.count)]
        }.count
        #expect(compared.point.disks.map(\.changedBlocks) == [differing], "\(setup.testDescription)")
        systems[compared.point.id] = system

        for (point, bytes) in systems {
            #expect(
                try await restoredBytes(f.chains, item: f.item, point: point, disk: 0, scratch: f.scratch) == bytes,
                "\(setup.testDescription): \(point) disk 0")
        }
        for (point, bytes) in f.oracles {
            #expect(
                try await restoredBytes(f.chains, item: f.item, point: point, disk: 1, scratch: f.scratch) == bytes,
                "\(setup.testDescription): \(point) disk 1")
        }
        #expect(systems[p1] == systemAtP1)
        try await f.close()
    }
}
