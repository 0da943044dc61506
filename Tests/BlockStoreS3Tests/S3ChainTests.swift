import BlockSnap
import BlockStoreS3
import BlockStoreS3Testing
import BlockStoreTesting
import Foundation
import Testing

/// The whole chain with the store on S3 (moto on loopback): backup, incremental, diff, expire,
/// garbage collection, verify and restore bit-exact; and two writers of different items with a
/// garbage collection after them.
@Suite(.sharedMoto, .motoInstalled)
struct S3ChainTests {
    @Test func theChainWorksEndToEndOnS3() async throws {
        try await withMotoBackend { backend in
            let store = try await ChunkStore.create(
                on: backend, encryption: .passphrase("s3"), options: storeOptions(.shared))
            let chains = ChainStore(store: store)
            var disk = halfRandomDisk(seed: 1, sizeBytes: 3 << 20)
            var request = BackupRequest(item: "vm", disks: [DiskInput(disk: 0, source: MemoryDiskSource(bytes: disk))])
            request.blockSizeBytes = 16384
            let first = try await chains.backup(request)
            let firstDisk = disk
            for i in stride(from: 100_000, to: 2_000_000, by: 150_000) { disk[i] ^= 0xFF }
            let tracked = TrackedChanges(
                since: first.point.id,
                ranges: stride(from: 100_000, to: 2_000_000, by: 150_000).map { UInt64($0)..<UInt64($0 + 1) })
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

            let gcStore = try await ChunkStore.open(on: backend, passphrase: "s3", options: storeOptions(.exclusive))
            let report = try await gcStore.collectGarbage()
            #expect(report.deletedChunks > 0)
            let verify = try await gcStore.verify()
            #expect(verify.isClean, "\(verify)")
            let after = ChainStore(store: gcStore)
            #expect(try await restoredDisk(after, item: "vm", point: third.point.id) == disk)
            #expect(try await after.points(item: "vm").map(\.id) == [third.point.id])
            try await gcStore.close()
            _ = firstDisk
        }
    }

    @Test func twoWritersOfDifferentItemsThenGarbageCollectionLoseNothing() async throws {
        try await withMotoBackend { backend in
            _ = try await ChunkStore.create(on: backend, encryption: .none, options: storeOptions(.none))
            let disks = [halfRandomDisk(seed: 10, sizeBytes: 1 << 20), halfRandomDisk(seed: 11, sizeBytes: 1 << 20)]
            let points = try await withThrowingTaskGroup(of: (ItemName, PointID).self) { group in
                for (n, item) in ["a", "b"].map({ ItemName($0) }).enumerated() {
                    group.addTask {
                        let store = try await ChunkStore.open(on: backend, options: storeOptions(.shared))
                        var request = BackupRequest(
                            item: item, disks: [DiskInput(disk: 0, source: MemoryDiskSource(bytes: disks[n]))])
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
            let gc = try await ChunkStore.open(on: backend, options: storeOptions(.exclusive))
            _ = try await gc.collectGarbage()
            #expect(try await gc.verify().isClean)
            let chains = ChainStore(store: gc)
            #expect(try await restoredDisk(chains, item: "a", point: points["a"]!) == disks[0])
            #expect(try await restoredDisk(chains, item: "b", point: points["b"]!) == disks[1])
            try await gc.close()
        }
    }
}
