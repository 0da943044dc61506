import BlockStore
import Foundation
import RecoveryChain
import Synchronization
import Testing

/// S42: several writers on one store, and GC beside them, lose nothing.
@Suite struct ConcurrentWriterTests {
    static func request(_ item: ItemName, _ disk: [UInt8]) -> BackupRequest {
        var request = BackupRequest(item: item, disks: [DiskInput(disk: 0, source: MemoryDiskSource(bytes: disk))])
        request.blockSizeBytes = 4096
        return request
    }

    @Test func twoItemsBackedUpAtOnceWithGarbageCollectionBesideThemLoseNothing() async throws {
        let seed: UInt64 = 42
        var rng = SeededGenerator(seed: seed)
        let scratch = ScratchDirectory()
        let directory = scratch.file("store")
        try await ChunkStore.create(
            on: try LocalDirectoryBackend(root: directory), encryption: .none, options: testOptions()
        ).close()
        // Each writer is its own ChunkStore on its own backend instance, as two hosts would be.
        func writer() async throws -> (ChunkStore, ChainStore) {
            let store = try await ChunkStore.open(
                on: try LocalDirectoryBackend(root: directory), options: testOptions())
            return (store, ChainStore(store: store, workerCount: 2))
        }
        var disks: [ItemName: [UInt8]] = [
            "alpha": [UInt8](repeating: 0, count: 128 * 4096),
            "beta": [UInt8](repeating: 0, count: 96 * 4096 + 512),
        ]
        _ = Churn.clustered(&disks["alpha"]!, length: 400_000, rng: &rng)
        // Beta starts as a copy of part of alpha: chunks shared across chains (dedup) that must
        // survive alpha's expiries.
        disks["beta"]!.replaceSubrange(0..<(64 * 4096), with: disks["alpha"]![0..<(64 * 4096)])
        var oracles: [ItemName: [PointID: [UInt8]]] = ["alpha": [:], "beta": [:]]

        for round in 0..<4 {
            let context = "seed \(seed) round \(round)"
            for item: ItemName in ["alpha", "beta"] {
                _ = Churn.clustered(&disks[item]!, length: 30_000, rng: &rng)
                _ = Churn.scattered(&disks[item]!, count: 10, rng: &rng)
                _ = Churn.zeroing(&disks[item]!, length: 12_000, rng: &rng)
            }
            let (storeA, chainsA) = try await writer()
            let (storeB, chainsB) = try await writer()

            // While the writers hold shared locks, a GC that will not wait is refused.
            do {
                _ = try await ChunkStore.open(
                    on: try LocalDirectoryBackend(root: directory), options: testOptions(lock: .exclusive))
                Issue.record("\(context): GC got the exclusive lock beside two writers")
            } catch let error as BlockStoreError {
                #expect(error.code == .locked, "\(context): \(error)")
            }

            // A GC that waits starts now, beside the two backups, and runs once both writers close.
            let writersClosed = Mutex<ContinuousClock.Instant?>(nil)
            let collector = Task { () throws -> (ContinuousClock.Instant, GarbageCollectionReport) in
                var options = testOptions(lock: .exclusive)
                options.lockTimeout = .seconds(60)
                let gc = try await ChunkStore.open(on: try LocalDirectoryBackend(root: directory), options: options)
                let acquired = ContinuousClock.now
                let report = try await gc.collectGarbage(repackThreshold: 0.1)
                try await gc.close()
                return (acquired, report)
            }
            let requestA = Self.request("alpha", disks["alpha"]!)
            let requestB = Self.request("beta", disks["beta"]!)
            async let a = chainsA.backup(requestA)
            async let b = chainsB.backup(requestB)
            let (resultA, resultB) = try await (a, b)
            oracles["alpha"]![resultA.point.id] = disks["alpha"]!
            oracles["beta"]![resultB.point.id] = disks["beta"]!
            if round >= 2 {  // give the GC garbage: alpha's oldest point merges away
                let oldest = try await chainsA.points(item: "alpha")[0].id
                try await chainsA.expire(item: "alpha", point: oldest)
                oracles["alpha"]![oldest] = nil
            }
            writersClosed.withLock { $0 = .now }
            try await storeA.close()
            try await storeB.close()
            let (acquired, report) = try await collector.value
            let closedAt = try #require(writersClosed.withLock { $0 })
            #expect(acquired > closedAt, "\(context): GC ran while writers held the store")
            #expect(report.liveChunks > 0, "\(context): GC found nothing live: \(report)")
        }

        let store = try await ChunkStore.open(on: try LocalDirectoryBackend(root: directory), options: testOptions())
        let verification = try await store.verify()
        #expect(verification.isClean, "seed \(seed): \(verification)")
        let chains = ChainStore(store: store, workerCount: 2)
        for item: ItemName in ["alpha", "beta"] {
            let points = try await chains.points(item: item).map(\.id)
            #expect(Set(points) == Set(oracles[item]!.keys), "seed \(seed): \(item) lists \(points)")
            for id in points {
                #expect(
                    try await restoredBytes(chains, item: item, point: id, scratch: scratch) == oracles[item]![id],
                    "seed \(seed): \(item) point \(id) differs")
            }
        }
        try await store.close()
    }

    @Test func itemsBackedUpAtOnceThroughOneChainStoreEachRestoreTheirOwnData() async throws {
        let seed: UInt64 = 43
        var rng = SeededGenerator(seed: seed)
        let store = try await ChunkStore.create(
            on: MemoryBackend(), encryption: .passphrase("pw"), options: testOptions())
        let chains = ChainStore(store: store, workerCount: 2)
        var disks: [ItemName: [UInt8]] = [:]
        for item: ItemName in ["a", "b", "c"] {
            var disk = [UInt8](repeating: 0, count: 48 * 4096)
            _ = Churn.clustered(&disk, length: 100_000, rng: &rng)
            disks[item] = disk
        }
        for round in 0..<2 {
            let snapshot = disks
            let results = try await withThrowingTaskGroup(of: (ItemName, PointID).self) { group in
                for (item, disk) in snapshot {
                    group.addTask { (item, try await chains.backup(Self.request(item, disk)).point.id) }
                }
                return try await group.reduce(into: [ItemName: PointID]()) { $0[$1.0] = $1.1 }
            }
            let scratch = ScratchDirectory()
            for (item, id) in results {
                #expect(
                    try await restoredBytes(chains, item: item, point: id, scratch: scratch) == snapshot[item],
                    "seed \(seed) round \(round): \(item)")
            }
            for item in disks.keys { _ = Churn.scattered(&disks[item]!, count: 6, rng: &rng) }
        }
        #expect(try await chains.items() == ["a", "b", "c"])
        #expect(try await store.verify().isClean)
        try await store.close()
    }

    @Test func aSecondJobOnAnItemWhileOneRunsIsRefusedWithOperationInProgress() async throws {
        let backend = MemoryBackend()
        let store = try await ChunkStore.create(on: backend, encryption: .none, options: testOptions())
        let chains = ChainStore(store: store, workerCount: 2)
        // Another instance (another host process) on the same store.
        let otherStore = try await ChunkStore.open(on: backend, options: testOptions())
        let otherChains = ChainStore(store: otherStore, workerCount: 2)
        var initial = [UInt8](repeating: 7, count: 64 * 4096)
        let first = try await chains.backup(Self.request("vm", initial))
        initial[5000] = 9
        let disk = initial

        // A backup held open between freeze and thaw until released.
        let (entered, enteredSignal) = AsyncStream.makeStream(of: Void.self)
        let (gate, gateOpener) = AsyncStream.makeStream(of: Void.self)
        var held = Self.request("vm", disk)
        held.takeSnapshot = {
            enteredSignal.yield()
            for await _ in gate { break }
        }
        let heldRequest = held
        let running = Task { try await chains.backup(heldRequest) }
        for await _ in entered { break }

        let scratch = ScratchDirectory()
        let attempts: [(String, @Sendable () async throws -> Void)] = [
            ("a backup on the same instance", { _ = try await chains.backup(Self.request("vm", disk)) }),
            ("a backup from another instance", { _ = try await otherChains.backup(Self.request("vm", disk)) }),
            (
                "a restore",
                {
                    _ = try await otherChains.restore(
                        item: "vm", point: first.point.id, disk: 0, to: scratch.file("r.img"))
                }
            ),
            ("an expiry", { try await otherChains.expire(item: "vm", point: first.point.id) }),
        ]
        for (what, attempt) in attempts {
            do {
                try await attempt()
                Issue.record("\(what) ran beside a running backup")
            } catch let error as RecoveryChainError {
                #expect(error.code == .operationInProgress, "\(what): \(error)")
                #expect(
                    error.message.contains("another operation is in progress on item vm"), "\(what): \(error.message)")
                #expect(error.message.contains("backup"), "the message names the running job: \(error.message)")
            }
        }
        // Other items are not blocked.
        _ = try await otherChains.backup(Self.request("other", disk))

        gateOpener.yield()
        gateOpener.finish()
        let second = try await running.value
        // Once it is done, the next job runs; nothing was recorded by the refused ones.
        #expect(try await chains.points(item: "vm").map(\.id) == [first.point.id, second.point.id])
        let third = try await otherChains.backup(Self.request("vm", disk))
        #expect(try await restoredBytes(chains, item: "vm", point: third.point.id, scratch: scratch) == disk)
        try await otherStore.close()
        try await store.close()
    }
}
