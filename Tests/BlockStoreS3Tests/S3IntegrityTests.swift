import BlockSnap
import BlockStoreS3
import BlockStoreS3Testing
import Foundation
import Testing

/// A damaged store on S3 (moto on loopback): garbage collection refuses having deleted nothing,
/// repair rebuilds the index from the pack headers, and every point then restores bit-exact.
@Suite(.sharedMoto, .motoInstalled)
struct S3IntegrityTests {
    /// Every object but locks and job guards, with its bytes.
    static func snapshot(_ backend: any StorageBackend) async throws -> [ObjectKey: [UInt8]] {
        var out: [ObjectKey: [UInt8]] = [:]
        for entry in try await backend.listAll(prefix: "")
        where !entry.key.rawValue.hasPrefix("locks/") && !entry.key.rawValue.hasPrefix("jobs/") {
            out[entry.key] = try await backend.get(entry.key)
        }
        return out
    }

    /// Three points of one disk (the first expired, so the store holds garbage).
    static func makeChain(_ backend: any StorageBackend) async throws -> [(point: PointID, disk: [UInt8])] {
        let store = try await ChunkStore.create(
            on: backend, encryption: .passphrase("s3"), options: storeOptions(.shared))
        let chains = ChainStore(store: store)
        var disk = halfRandomDisk(seed: 21, sizeBytes: 2 << 20)
        var points: [(PointID, [UInt8])] = []
        for round in 0..<3 {
            var request = BackupRequest(item: "vm", disks: [DiskInput(disk: 0, source: MemoryDiskSource(bytes: disk))])
            request.blockSizeBytes = 16384
            points.append((try await chains.backup(request).point.id, disk))
            for i in stride(from: 50_000 * (round + 1), to: 1_900_000, by: 170_000) { disk[i] ^= 0x5A }
        }
        try await chains.expire(item: "vm", point: points[0].0)
        try await store.close()
        return Array(points.dropFirst())
    }

    static func expectRestores(_ backend: any StorageBackend, _ points: [(point: PointID, disk: [UInt8])]) async throws
    {
        let store = try await ChunkStore.open(on: backend, passphrase: "s3", options: storeOptions(.none))
        let chains = ChainStore(store: store)
        for (point, disk) in points {
            #expect(try await restoredDisk(chains, item: "vm", point: point) == disk, "point \(point)")
        }
        try await store.close()
    }

    @Test func aDamagedIndexObjectStopsGarbageCollectionAndRepairRebuildsIt() async throws {
        try await withMotoBackend { backend in
            let points = try await Self.makeChain(backend)
            let index = try #require(try await backend.listAll(prefix: "index/").first?.key)
            var bytes = try await backend.get(index)
            bytes[bytes.count / 3] ^= 0x08
            try await backend.put(index, data: bytes)
            let before = try await Self.snapshot(backend)

            for dryRun in [true, false] {
                let store = try await ChunkStore.open(
                    on: backend, passphrase: "s3", options: storeOptions(dryRun ? .none : .exclusive))
                let error = await #expect(throws: BlockStoreError.self) {
                    _ = try await store.collectGarbage(dryRun: dryRun)
                }
                #expect(error?.code == .damaged, "\(String(describing: error))")
                #expect((error?.underlying as? DamageReport)?.damagedObjects.contains(index) == true)
                try await store.close()
            }
            #expect(try await Self.snapshot(backend) == before, "a refused GC changed the store")

            let store = try await ChunkStore.open(on: backend, passphrase: "s3", options: storeOptions(.exclusive))
            let chains = ChainStore(store: store)
            let repair = try await chains.repair()
            #expect(
                repair.store.rebuiltIndex && repair.damagedPoints.isEmpty
                    && repair.store.damagedIndexObjects == [index], "\(repair)")
            #expect(try await store.verify().isClean)
            let gc = try await store.collectGarbage()
            #expect(gc.deletedChunks > 0, "\(gc)")
            try await store.close()
            try await Self.expectRestores(backend, points)
        }
    }

    @Test func aMissingPackStopsGarbageCollectionAndRepairNamesTheDamagedPoints() async throws {
        try await withMotoBackend { backend in
            let points = try await Self.makeChain(backend)
            let packs = try await backend.listAll(prefix: "data/").map(\.key)
            // Remove one pack at a time until a point is hurt (some packs hold only garbage).
            var removed: ObjectKey? = nil
            for pack in packs {
                let saved = try await backend.get(pack)
                try await backend.delete(pack)
                let check = try await ChunkStore.open(on: backend, passphrase: "s3", options: storeOptions(.none))
                let report = try await check.verify()
                try await check.close()
                if !report.damagedRoots.isEmpty {
                    removed = pack
                    break
                }
                try await backend.put(pack, data: saved)
            }
            let pack = try #require(removed, "some pack must hold live chunks")
            let before = try await Self.snapshot(backend)
            let store = try await ChunkStore.open(on: backend, passphrase: "s3", options: storeOptions(.exclusive))
            let error = await #expect(throws: BlockStoreError.self) { _ = try await store.collectGarbage() }
            #expect(error?.code == .damaged, "\(String(describing: error))")
            #expect(try await Self.snapshot(backend) == before)
            let repair = try await ChainStore(store: store).repair()
            #expect(!repair.damagedPoints.isEmpty && !repair.store.missingChunks.isEmpty, "\(repair)")
            #expect(repair.damagedPoints.allSatisfy { $0.item == "vm" && points.map(\.point).contains($0.point) })
            try await store.close()
            _ = pack
        }
    }
}
