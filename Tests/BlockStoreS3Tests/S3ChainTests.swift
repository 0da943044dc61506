import BlockSnap
import BlockStoreS3
import Foundation
import Testing

/// The whole chain with the store on S3 (moto on loopback): backup, incremental, diff, expire,
/// garbage collection, verify and restore bit-exact; and two writers of different items with a
/// garbage collection after them.
@Suite(.sharedMoto, .enabled(if: MotoServer.isInstalled, MotoServer.notInstalledMessage))
struct S3ChainTests {
    static func disk(seed: UInt64, size: Int) -> [UInt8] {
        var g = SeededGenerator(seed: seed)
        var out = [UInt8](repeating: 0, count: size)
        for i in stride(from: 0, to: size / 2, by: 8) {
            let w = g.next()
            for j in 0..<8 { out[i + j] = UInt8(truncatingIfNeeded: w >> (8 * UInt64(j))) }
        }
        return out
    }

    static func options(_ lock: StoreLockMode) -> ChunkStoreOptions {
        var o = ChunkStoreOptions()
        o.keyDerivation = .fastForTesting
        o.packTargetBytes = 1 << 20
        o.lock = lock
        o.lockTimeout = .seconds(5)
        return o
    }

    static func restored(_ chains: ChainStore, item: ItemName, point: PointID) async throws -> [UInt8] {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("blocksnap-s3-\(UUID().uuidString).img").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        _ = try await chains.restore(item: item, point: point, disk: 0, to: path)
        return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    @Test func theChainWorksEndToEndOnS3() async throws {
        try await withMotoBackend { backend in
            let store = try await ChunkStore.create(on: backend, encryption: .passphrase("s3"), options: Self.options(.shared))
            let chains = ChainStore(store: store)
            var disk = Self.disk(seed: 1, size: 3 << 20)
            var request = BackupRequest(item: "vm", disks: [DiskInput(disk: 0, source: MemoryDiskSource(bytes: disk))])
            request.blockSizeBytes = 16384
            let first = try await chains.backup(request)
            let firstDisk = disk
            for i in stride(from: 100_000, to: 2_000_000, by: 150_000) { disk[i] ^= 0xFF }
            let tracked = TrackedChanges(since: first.point.id, ranges: stride(from: 100_000, to: 2_000_000, by: 150_000).map { UInt64($0)..<UInt64($0 + 1) })
            request.disks = [DiskInput(disk: 0, source: MemoryDiskSource(bytes: disk), changes: tracked)]
            let second = try await chains.backup(request)
            #expect(second.point.disks[0].changedBlocks == 13)
            let page = try await chains.diff(item: "vm", from: first.point.id, to: second.point.id, exact: true)
            #expect(page.ranges.count == 13 && page.ranges.allSatisfy { $0.byteCount == 512 && $0.kind == .changed })
            for i in 0..<10 { disk[2_500_000 + i] = 7 }
            request.disks = [DiskInput(disk: 0, source: MemoryDiskSource(bytes: disk))]
            let third = try await chains.backup(request)
            try await chains.expire(item: "vm", point: second.point.id)
            try await chains.expire(item: "vm", point: first.point.id)
            try await store.close()

            let gcStore = try await ChunkStore.open(on: backend, passphrase: "s3", options: Self.options(.exclusive))
            let report = try await gcStore.collectGarbage()
            #expect(report.deletedChunks > 0)
            let verify = try await gcStore.verify()
            #expect(verify.isClean, "\(verify)")
            let after = ChainStore(store: gcStore)
            #expect(try await Self.restored(after, item: "vm", point: third.point.id) == disk)
            #expect(try await after.points(item: "vm").map(\.id) == [third.point.id])
            try await gcStore.close()
            _ = firstDisk
        }
    }

    @Test func twoWritersOfDifferentItemsThenGarbageCollectionLoseNothing() async throws {
        try await withMotoBackend { backend in
            _ = try await ChunkStore.create(on: backend, encryption: .none, options: Self.options(.none))
            let disks = [Self.disk(seed: 10, size: 1 << 20), Self.disk(seed: 11, size: 1 << 20)]
            let points = try await withThrowingTaskGroup(of: (ItemName, PointID).self) { group in
                for (n, item) in ["a", "b"].map { ItemName($0) }.enumerated() {
                    group.addTask {
                        let store = try await ChunkStore.open(on: backend, options: Self.options(.shared))
                        var request = BackupRequest(item: item, disks: [DiskInput(disk: 0, source: MemoryDiskSource(bytes: disks[n]))])
                        request.blockSizeBytes = 16384
                        let id = try await ChainStore(store: store).backup(request).point.id
                        try await store.close()
                        return (item, id)
                    }
                }
                var out: [ItemName: PointID] = [:]
                for try await (item, id) in group { out[item] = id }
                return out
            }
            let gc = try await ChunkStore.open(on: backend, options: Self.options(.exclusive))
            _ = try await gc.collectGarbage()
            #expect(try await gc.verify().isClean)
            let chains = ChainStore(store: gc)
            #expect(try await Self.restored(chains, item: "a", point: points["a"]!) == disks[0])
            #expect(try await Self.restored(chains, item: "b", point: points["b"]!) == disks[1])
            try await gc.close()
        }
    }
}
