import BlockStore
import BlockStoreTesting
import Foundation
import Testing

@testable import RecoveryChain

/// S49 for chains: sizes, counts and lengths read from the store are checked before anything
/// is computed, allocated or copied with them: hostile values give typed errors, never a trap
/// or an out-of-bounds read.
@Suite struct HostileValueTests {
    static func chains(encrypted: Bool = false) async throws -> ChainStore {
        let store = try await ChunkStore.create(
            on: MemoryBackend(), encryption: encrypted ? .passphrase("pw") : .none, options: testOptions())
        return ChainStore(store: store, workerCount: 2)
    }

    static func point(id: PointID = "20300101T000000Z-00000001", disks: [PointDisk], blockSizeBytes: Int = 4096)
        -> RecoveryPoint
    {
        RecoveryPoint(
            id: id, item: "vm", time: Date(timeIntervalSince1970: 1_900_000_000), onDemand: false, consistency: .crash,
            consistencyNote: nil, blockSizeBytes: blockSizeBytes, disks: disks, tags: [], retainUntil: nil,
            hasConfiguration: false, hasSecrets: false)
    }

    static func payload(_ point: RecoveryPoint) throws -> [UInt8] {
        Array(try PointManifest.encoder.encode(point))
    }

    // MARK: - Point metadata

    @Test func pointMetadataWithSizesNearTwoToTheSixtyFourIsCorrupt() throws {
        let name = PointManifest.rootName(item: "vm", point: "20300101T000000Z-00000001")
        let hostile: [(String, PointDisk)] = [
            (
                "size near 2^64",
                PointDisk(disk: 0, name: "d", sizeBytes: UInt64.max - 511, changedBlocks: 0, storedBytes: 0)
            ),
            (
                "size just past 2^50",
                PointDisk(disk: 0, name: "d", sizeBytes: (1 << 50) + 512, changedBlocks: 0, storedBytes: 0)
            ),
            (
                "negative changed blocks",
                PointDisk(disk: 0, name: "d", sizeBytes: 8192, changedBlocks: -1, storedBytes: 0)
            ),
            (
                "more changed blocks than blocks",
                PointDisk(disk: 0, name: "d", sizeBytes: 8192, changedBlocks: 3, storedBytes: 0)
            ),
            (
                "stored bytes near 2^64",
                PointDisk(disk: 0, name: "d", sizeBytes: 8192, changedBlocks: 2, storedBytes: UInt64.max)
            ),
            (
                "stored bytes without changed blocks",
                PointDisk(disk: 0, name: "d", sizeBytes: 8192, changedBlocks: 0, storedBytes: 1)
            ),
        ]
        for (what, disk) in hostile {
            #expect(throws: RecoveryChainError.self, "\(what)") {
                _ = try PointManifest.decodePoint(try Self.payload(Self.point(disks: [disk])), rootName: name)
            }
            do {
                _ = try PointManifest.decodePoint(try Self.payload(Self.point(disks: [disk])), rootName: name)
            } catch let error as RecoveryChainError {
                #expect(error.code == .corruptMetadata, "\(what): \(error)")
            }
        }
        let twice = PointDisk(disk: 0, name: "d", sizeBytes: 8192, changedBlocks: 1, storedBytes: 100)
        #expect(throws: RecoveryChainError.self, "a disk listed twice") {
            _ = try PointManifest.decodePoint(try Self.payload(Self.point(disks: [twice, twice])), rootName: name)
        }
        // The largest disk a map holds, with every block changed and stored, is accepted.
        let largest = PointDisk(disk: 0, name: "d", sizeBytes: 1 << 50, changedBlocks: 1 << 38, storedBytes: 1 << 51)
        #expect(
            try PointManifest.decodePoint(try Self.payload(Self.point(disks: [largest])), rootName: name).disks == [
                largest
            ])
    }

    /// A root with a disk of 2^64 − 512 bytes: listed as damaged, read as corrupt, and neither
    /// restore nor the reader traps.
    @Test func aPublishedPointWithAHugeDiskIsDamagedNotATrap() async throws {
        let chains = try await Self.chains(encrypted: true)
        var request = BackupRequest(
            item: "vm", disks: [DiskInput(disk: 0, source: MemoryDiskSource(bytes: [UInt8](repeating: 7, count: 8192)))]
        )
        request.blockSizeBytes = 4096
        let real = try await chains.backup(request)
        let record = try await chains.store.root(PointManifest.rootName(item: "vm", point: real.point.id))
        let id: PointID = "20300101T000000Z-00000001"
        let hostile = Self.point(
            id: id,
            disks: [PointDisk(disk: 0, name: "d", sizeBytes: UInt64.max - 511, changedBlocks: 0, storedBytes: 0)])
        try await chains.store.publishRoot(
            PointManifest.rootName(item: "vm", point: id), id: record.id, payload: try Self.payload(hostile))

        let listing = try await chains.pointListing(item: "vm")
        #expect(listing.points.map(\.id) == [real.point.id])
        #expect(listing.damaged.map(\.point) == [id])
        let scratch = ScratchDirectory()
        #expect(
            await errorCode { try await chains.restore(item: "vm", point: id, disk: 0, to: scratch.file("x.img")) }.code
                == .corruptMetadata)
        #expect(await errorCode { try await chains.reader(item: "vm", point: id, disk: 0) }.code == .corruptMetadata)
        #expect(
            try await restoredBytes(chains, item: "vm", point: real.point.id, scratch: scratch)
                == [UInt8](repeating: 7, count: 8192))
    }

    // MARK: - Maps whose chunks do not fit their blocks

    /// Publishes a point of one disk whose map is `blocks` (block index → chunk), as a hostile
    /// store might hold it.
    static func publishMap(
        _ chains: ChainStore, id: PointID, sizeBytes: UInt64, mapSizeBytes: UInt64? = nil, blocks: [(UInt64, ChunkID)]
    ) async throws {
        let builder = try await chains.maps.builder(
            base: nil, sizeBytes: mapSizeBytes ?? sizeBytes, blockSizeBytes: 4096)
        try await builder.add(blocks)
        let root = try await builder.finish()
        let manifest = try await chains.store.putNode(
            PointManifest(mapRoots: [0: root], configuration: nil, secrets: nil).node)
        let point = Self.point(
            id: id,
            disks: [PointDisk(disk: 0, name: "d", sizeBytes: sizeBytes, changedBlocks: blocks.count, storedBytes: 0)])
        try await chains.store.publishRoot(
            PointManifest.rootName(item: "vm", point: id), id: manifest, payload: try Self.payload(point))
    }

    @Test(arguments: [false, true])
    func aBlockWhoseChunkIsShorterOrLongerThanTheBlockIsCorruptForTheReaderAndRestore(encrypted: Bool) async throws {
        var rng = SeededGenerator(seed: encrypted ? 43 : 42)
        let chains = try await Self.chains(encrypted: encrypted)
        func random(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) | 1 } }
        let good = random(4096)
        let short = random(100)
        let long = random(2 * 4096)
        let tail = random(512)
        let odd = random(1000)
        let ids = try await [good, short, long, tail, odd].asyncMap { try await chains.store.putBlock($0).id }
        // Disk of 3 blocks and 512 bytes: 0 good, 1 short, 2 long, 3 (the tail) stored cut to 512.
        let id: PointID = "20300101T000000Z-00000002"
        try await Self.publishMap(
            chains, id: id, sizeBytes: 3 * 4096 + 512, blocks: [(0, ids[0]), (1, ids[1]), (2, ids[2]), (3, ids[3])])
        let reader = try await chains.reader(item: "vm", point: id, disk: 0)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 16)
        defer { buffer.deallocate() }
        #expect(try await reader.read(at: 0, into: buffer) == 4096)
        #expect(Array(buffer) == good)
        for offset: UInt64 in [4096, 4096 + 4000, 2 * 4096, 2 * 4096 + 4095] {
            let (code, error) = await errorCode { try await reader.read(at: offset, into: buffer) }
            #expect(code == .corruptMetadata, "offset \(offset): \(String(describing: error))")
        }
        // The tail block stored at the disk's tail length reads; one of another length does not.
        #expect(try await reader.read(at: 3 * 4096, into: buffer) == 512)
        #expect(Array(buffer.prefix(512)) == tail)
        let oddPoint: PointID = "20300101T000000Z-00000003"
        try await Self.publishMap(chains, id: oddPoint, sizeBytes: 4096 + 512, blocks: [(1, ids[4])])
        let oddReader = try await chains.reader(item: "vm", point: oddPoint, disk: 0)
        #expect(await errorCode { try await oddReader.read(at: 4096, into: buffer) }.code == .corruptMetadata)
        #expect(try await oddReader.read(at: 0, into: buffer) == 4096 && buffer.allSatisfy { $0 == 0 })

        let scratch = ScratchDirectory()
        #expect(
            await errorCode { try await chains.restore(item: "vm", point: id, disk: 0, to: scratch.file("r.img")) }.code
                == .corruptMetadata)
        // Good blocks and a last block cut to the disk's end restore.
        let cutPoint: PointID = "20300101T000000Z-00000006"
        try await Self.publishMap(chains, id: cutPoint, sizeBytes: 3 * 4096 + 512, blocks: [(0, ids[0]), (3, ids[3])])
        let expected = good + [UInt8](repeating: 0, count: 2 * 4096) + tail
        #expect(try await restoredBytes(chains, item: "vm", point: cutPoint, scratch: scratch) == expected)
        // A chunk longer than the block alone: restore refuses before reading it.
        let longPoint: PointID = "20300101T000000Z-00000005"
        try await Self.publishMap(chains, id: longPoint, sizeBytes: 2 * 4096, blocks: [(1, ids[2])])
        #expect(
            await errorCode {
                try await chains.restore(item: "vm", point: longPoint, disk: 0, to: scratch.file("l.img"))
            }.code == .corruptMetadata)
    }

    @Test func aMapWhoseGeometryDisagreesWithItsPointIsCorrupt() async throws {
        let chains = try await Self.chains()
        let block = try await chains.store.putBlock([UInt8](repeating: 9, count: 4096))
        // The point says 8 KiB; its map says 64 KiB.
        let id: PointID = "20300101T000000Z-00000004"
        try await Self.publishMap(
            chains, id: id, sizeBytes: 8192, mapSizeBytes: 65536, blocks: [(0, block.id), (15, block.id)])
        let scratch = ScratchDirectory()
        #expect(
            await errorCode { try await chains.restore(item: "vm", point: id, disk: 0, to: scratch.file("r.img")) }.code
                == .corruptMetadata)
        let reader = try await chains.reader(item: "vm", point: id, disk: 0)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 512, alignment: 16)
        defer { buffer.deallocate() }
        #expect(await errorCode { try await reader.read(at: 0, into: buffer) }.code == .corruptMetadata)
        #expect(await errorCode { try await chains.diff(item: "vm", from: nil, to: id) }.code == .corruptMetadata)
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var out: [T] = []
        for element in self { out.append(try await transform(element)) }
        return out
    }
}
