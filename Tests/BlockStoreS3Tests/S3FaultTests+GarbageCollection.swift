import BlockSnap
import BlockStoreS3
import BlockStoreS3Testing
import BlockStoreTesting
import Foundation
import Testing

/// The server going away in the middle of a garbage collection: stopped (SIGSTOP) for a while,
/// or unreachable until the collection gives up. Killing moto is no model here (it keeps its
/// state in memory, a restarted one has no store at all), so the outages keep the server's state.
extension S3FaultTests {
    /// The points a GC fault test keeps, and their bytes.
    struct KeptPoint {
        var item: ItemName
        var id: PointID
        var bytes: [UInt8]
    }

    @Test(arguments: GarbageCollectionOutage.all)
    func aServerGoneMidGarbageCollectionLosesNothingCommitted(outage: GarbageCollectionOutage)
        async throws
    {
        switch outage.kind {
        case .paused:
            // Stopping the server must not disturb the suite's other tests: a server of its own.
            try await MotoServer.withServer { server in
                do {
                    try await collectGarbage(through: outage, on: server)
                } catch {
                    await server.pause(false)
                    throw error
                }
            }
        case .unreachable:
            try await collectGarbage(through: outage, on: try #require(MotoServer.shared))
        }
    }

    /// Fills a store with garbage and points to keep, runs a collection that meets `outage`,
    /// then a second collection, and checks the store.
    private func collectGarbage(through outage: GarbageCollectionOutage, on server: MotoServer)
        async throws
    {
        var configuration = try server.configuration(
            bucket: await server.uniqueBucketName("gc\(outage.kind)\(outage.phase)"))
        switch outage.kind {
        case .paused:
            // Short timeouts, so that attempts at the stopped server end soon; many retries.
            configuration.timeouts = S3Timeouts(
                connect: .seconds(1), read: .seconds(1), request: .seconds(4))
            configuration.retryPolicy = S3RetryPolicy(
                maxAttempts: 30, baseDelay: .milliseconds(100), maxDelay: .milliseconds(500))
        case .unreachable:
            // The fixture's patient timeouts (a busy machine's moto can be slow), few retries.
            configuration.retryPolicy = S3RetryPolicy(
                maxAttempts: 4, baseDelay: .milliseconds(20), maxDelay: .milliseconds(200))
        }
        let control = OutageControl()
        try await S3Backend.withFaults(
            configuration: configuration,
            decide: { request, _ in
                if control.unreachable.withLock({ $0 }) { return .connectionError }
                guard control.armed.withLock({ $0 }), outage.matches(request), control.fire() else {
                    return .none
                }
                switch outage.kind {
                case .paused:
                    // This request goes to the stopped server; it continues 2.5 s later.
                    await server.pause(true)
                    control.resume.withLock {
                        $0 = Task {
                            try? await Task.sleep(for: .milliseconds(2500))
                            await server.pause(false)
                        }
                    }
                    return .none
                case .unreachable:
                    control.unreachable.withLock { $0 = true }
                    return .connectionError
                }
            }
        ) { backend, _ in
            try await backend.createBucket()
            let kept = try await Self.fillWithGarbageAndPoints(backend)
            let retriesBefore = backend.statistics.retryCount

            // The collection that meets the outage.
            let gc = try await ChunkStore.open(
                on: backend, passphrase: "gc", options: storeOptions(.exclusive))
            control.armed.withLock { $0 = true }
            switch outage.kind {
            case .paused:
                let report = try await gc.collectGarbage()
                await control.resume.withLock { $0 }?.value
                #expect(report.deletedChunks > 0, "\(outage): \(report)")
                #expect(report.rootCount == kept.count, "\(outage): \(report)")
            case .unreachable:
                let error = await #expect(throws: BlockStoreError.self, "\(outage)") {
                    try await gc.collectGarbage()
                }
                #expect(error?.code == .backendError, "\(outage)")
                #expect(error?.message.contains("could not reach") == true, "\(outage): \(error?.message ?? "")")
                control.unreachable.withLock { $0 = false }
            }
            #expect(control.fired.withLock { $0 }, "\(outage): the outage never started")
            #expect(backend.statistics.retryCount > retriesBefore, "\(outage): no request was retried")
            try await gc.close()

            // Before any repair, a reader already finds every kept point whole.
            let reader = try await ChunkStore.open(
                on: backend, passphrase: "gc", options: storeOptions(.shared))
            for point in kept {
                let restored = try await restoredDisk(
                    ChainStore(store: reader, workerCount: 2), item: point.item, point: point.id)
                #expect(
                    restored == point.bytes, "\(outage): \(point.item) \(point.id) differs before the next collection")
            }
            try await reader.close()

            // A new collection (rewriting every pack with any garbage) completes and leaves none.
            let again = try await ChunkStore.open(
                on: backend, passphrase: "gc", options: storeOptions(.exclusive))
            let second = try await again.collectGarbage(repackThreshold: 0.0001)
            #expect(second.liveChunks > 0, "\(outage): \(second)")
            // (A dry run at this threshold still "repacks" every pack: its header counts as waste.)
            let left = try await again.collectGarbage(repackThreshold: 0.0001, dryRun: true)
            #expect(
                left.deletedChunks == 0 && left.deletedPacks == 0,
                "\(outage): garbage left after the second collection: \(left)")
            let verify = try await again.verify()
            #expect(verify.isClean, "\(outage): \(verify)")
            let chains = ChainStore(store: again)
            for item in Set(kept.map(\.item)).sorted() {
                #expect(
                    try await chains.points(item: item).map(\.id).sorted()
                        == kept.filter { $0.item == item }.map(\.id).sorted(), "\(outage): \(item)")
            }
            for point in kept {
                let restored = try await restoredDisk(chains, item: point.item, point: point.id)
                #expect(restored == point.bytes, "\(outage): \(point.item) \(point.id) differs")
            }
            try await again.close()
        }
    }

    /// Creates a store on `backend` with two items, expires points so that whole packs and parts
    /// of packs become garbage, and returns the points left.
    static func fillWithGarbageAndPoints(_ backend: S3Backend) async throws -> [KeptPoint] {
        var options = storeOptions(.shared)
        options.packTargetBytes = 128 << 10  // a few 16 KiB blocks per pack: many packs
        let store = try await ChunkStore.create(
            on: backend, encryption: .passphrase("gc"), options: options)
        let chains = ChainStore(store: store, workerCount: 2)
        func backup(_ item: ItemName, _ bytes: [UInt8]) async throws -> PointID {
            var request = BackupRequest(
                item: item, disks: [DiskInput(disk: 0, source: MemoryDiskSource(bytes: bytes))])
            request.blockSizeBytes = 16384
            return try await chains.backup(request).point.id
        }
        // Item a: three points; the second rewrites 12 blocks that the third rewrites again, so
        // expiring the second leaves its new packs with nothing live.
        var disk = halfRandomDisk(seed: 70, sizeBytes: 1 << 20)
        let first = try await backup("a", disk)
        let firstBytes = disk
        var generator = SplitMix64(seed: 71)
        func rewrite(blocks: some Sequence<Int>) {
            for block in blocks {
                for i in stride(from: block * 16384, to: (block + 1) * 16384, by: 8) {
                    let word = generator.next()
                    for j in 0..<8 { disk[i + j] = UInt8(truncatingIfNeeded: word >> (8 * UInt64(j))) }
                }
            }
        }
        rewrite(blocks: stride(from: 0, to: 24, by: 2))
        let second = try await backup("a", disk)
        rewrite(blocks: stride(from: 0, to: 24, by: 2))
        rewrite(blocks: 40..<44)
        let third = try await backup("a", disk)
        // Item b: one point sharing nothing with a.
        let other = halfRandomDisk(seed: 72, sizeBytes: 512 << 10)
        let only = try await backup("b", other)
        try await chains.expire(item: "a", point: second)
        try await store.close()
        return [
            KeptPoint(item: "a", id: first, bytes: firstBytes),
            KeptPoint(item: "a", id: third, bytes: disk),
            KeptPoint(item: "b", id: only, bytes: other),
        ]
    }
}
