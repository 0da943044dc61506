import BlockStore
import Foundation
import Testing

@testable import RecoveryChain

/// The pipelined restore (pack runs read in one request each, decoded on several tasks, written
/// in stretches) is bit-exact against the source bytes whatever its worker count, window, run
/// cap and staging size: to a new file, in place, and through random-access reads; a damaged
/// chunk mid-restore fails with a typed error and removes the file the restore created.
@Suite struct RestorePipelineTests {
    static let blockSize = 4096

    /// Pipeline settings the tests sweep: tiny windows, runs and stages that split every pack,
    /// and the defaults.
    static let tunings: [(workers: Int, tuning: RestoreTuning)] = [
        (1, RestoreTuning(windowBlocks: 7, fetchAheadRuns: 0, stageBlocks: 1, runBytesMax: 1, gapBytesMax: 0)),
        (2, RestoreTuning(windowBlocks: 33, fetchAheadRuns: 1, stageBlocks: 3, runBytesMax: 20_000, gapBytesMax: 5000)),
        (3, RestoreTuning(windowBlocks: 64, fetchAheadRuns: 2, stageBlocks: 8, runBytesMax: 64 << 10)),
        (4, RestoreTuning()),
    ]

    /// A seeded disk of `blockCount` blocks plus `tail` bytes (a multiple of 512): random blocks, text-like blocks,
    /// zero stretches (sparse regions), and blocks that repeat another (one chunk, many blocks).
    static func disk(seed: UInt64, blockCount: Int, tail: Int) -> [UInt8] {
        var rng = SeededGenerator(seed: seed)
        var disk = [UInt8](repeating: 0, count: blockCount * blockSize + tail)
        let repeated = (0..<blockSize).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        var b = 0
        while b * blockSize < disk.count {
            let lo = b * blockSize
            let hi = min(lo + blockSize, disk.count)
            switch rng.next() % 6 {
            case 0:  // a zero stretch of 1–12 blocks
                b += 1 + Int(rng.next() % 12)
                continue
            case 1:
                for k in lo..<hi { disk[k] = repeated[k - lo] }
            case 2:
                for k in lo..<hi { disk[k] = UInt8(ascii: "a") + UInt8(truncatingIfNeeded: (k / 7) % 26) }
            default:
                for k in lo..<hi { disk[k] = UInt8(truncatingIfNeeded: rng.next()) }
            }
            b += 1
        }
        return disk
    }

    /// A local store with points of `disks` in order (backed up on two workers, so neighbouring
    /// chunks are sometimes packed out of block order).
    struct Fixture {
        let scratch = ScratchDirectory()
        let encrypted: Bool
        var storePath: String { scratch.file("store") }
        var points: [PointID] = []

        init(disks: [[UInt8]], encrypted: Bool) async throws {
            self.encrypted = encrypted
            let store = try await ChunkStore.create(
                on: try LocalDirectoryBackend(root: scratch.file("store"), create: true),
                encryption: encrypted ? .passphrase("pw") : .none, options: testOptions())
            let chains = ChainStore(store: store, workerCount: 2)
            var time = Date(timeIntervalSince1970: 1_800_000_000)
            for disk in disks {
                var request = BackupRequest(
                    item: "vm", disks: [DiskInput(disk: 0, source: MemoryDiskSource(bytes: disk))])
                request.blockSizeBytes = RestorePipelineTests.blockSize
                request.time = time
                time += 3600
                points.append(try await chains.backup(request).point.id)
            }
            try await store.close()
        }

        /// The store opened afresh with a restore tuned as given.
        func chains(workers: Int, tuning: RestoreTuning) async throws -> (ChunkStore, ChainStore) {
            let store = try await ChunkStore.open(
                on: try LocalDirectoryBackend(root: storePath), passphrase: encrypted ? "pw" : nil,
                options: testOptions(lock: .none))
            let chains = ChainStore(
                store: store, workerCount: workers, jobGuardOptions: ItemJobLock.Options(), restoreTuning: tuning)
            return (store, chains)
        }
    }

    @Test(arguments: [(UInt64(11), true), (UInt64(12), false), (UInt64(13), true)])
    func restoresToANewFileAndInPlaceBitExact(seed: UInt64, encrypted: Bool) async throws {
        var rng = SeededGenerator(seed: seed)
        let blockCount = 60 + Int(rng.next() % 140)
        // Disks are whole 512-byte sectors; most sizes here are not whole blocks.
        let tail = seed % 2 == 0 ? 0 : 512 * (1 + Int(rng.next() % 7))
        let first = Self.disk(seed: seed, blockCount: blockCount, tail: tail)
        // The second point: some blocks rewritten, some zeroed, some left.
        var second = first
        for _ in 0..<(blockCount / 4) {
            let b = Int(rng.next() % UInt64(blockCount))
            let zero = rng.next() % 3 == 0
            for k in (b * Self.blockSize)..<((b + 1) * Self.blockSize) {
                second[k] = zero ? 0 : UInt8(truncatingIfNeeded: rng.next())
            }
        }
        let fixture = try await Fixture(disks: [first, second], encrypted: encrypted)
        for (n, setting) in Self.tunings.enumerated() {
            let (store, chains) = try await fixture.chains(workers: setting.workers, tuning: setting.tuning)
            let path = fixture.scratch.file("restored-\(n).img")
            let result = try await chains.restore(item: "vm", point: fixture.points[1], disk: 0, to: path)
            #expect(try readFile(path) == second, "setting \(n): a restore to a new file differs from the disk")
            #expect(result.sizeBytes == UInt64(second.count))
            // In place: the file holds the second point; bring it back to the first.
            let reverted = try await chains.restoreInPlace(
                item: "vm", point: fixture.points[0], disk: 0, target: path, holding: fixture.points[1])
            #expect(try readFile(path) == first, "setting \(n): an in-place revert differs from the disk")
            #expect(reverted.blocksWritten + reverted.blocksZeroed <= blockCount + 1)
            try await store.close()
        }
    }

    @Test(arguments: [UInt64(21), 22])
    func randomAccessReadsAreBitExact(seed: UInt64) async throws {
        var rng = SeededGenerator(seed: seed)
        let disk = Self.disk(seed: seed, blockCount: 90, tail: 512 * Int(seed % 8))
        let fixture = try await Fixture(disks: [disk], encrypted: seed % 2 == 0)
        for (n, setting) in Self.tunings.enumerated() {
            let (store, chains) = try await fixture.chains(workers: setting.workers, tuning: setting.tuning)
            let reader = try await chains.reader(item: "vm", point: fixture.points[0], disk: 0)
            for _ in 0..<25 {
                let offset = Int(rng.next() % UInt64(disk.count + 1))
                // Short reads inside a block, reads across a few blocks, reads of most of the disk.
                let lengthMax = [100, 3 * Self.blockSize, disk.count][Int(rng.next() % 3)]
                let length = Int(rng.next() % UInt64(lengthMax + 1))
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: length, alignment: 16)
                defer { buffer.deallocate() }
                memset(buffer.baseAddress!, 0xA5, length)
                let got = try await reader.read(at: UInt64(offset), into: buffer)
                #expect(got == min(length, disk.count - offset))
                #expect(
                    Array(buffer[0..<got]) == Array(disk[offset..<(offset + got)]),
                    "setting \(n): \(length) bytes at \(offset) differ")
            }
            try await store.close()
        }
    }

    /// One chunk damaged in the middle of its pack: every setting fails with a typed error, and
    /// the file the restore created is removed.
    @Test func aDamagedChunkMidRestoreFailsAndRemovesTheFile() async throws {
        let disk = Self.disk(seed: 31, blockCount: 400, tail: 0)
        let fixture = try await Fixture(disks: [disk], encrypted: true)
        let data = "\(fixture.storePath)/data"
        let packs = try FileManager.default.subpathsOfDirectory(atPath: data).map { "\(data)/\($0)" }.filter {
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: $0, isDirectory: &isDirectory) && !isDirectory.boolValue
        }.sorted()
        try #require(packs.count >= 2, "the disk should fill several packs")
        let pack = packs[packs.count / 2]
        var bytes = try readFile(pack)
        bytes[bytes.count / 2] ^= 0x10
        try Data(bytes).write(to: URL(fileURLWithPath: pack))
        for (n, setting) in Self.tunings.enumerated() {
            let (store, chains) = try await fixture.chains(workers: setting.workers, tuning: setting.tuning)
            let path = fixture.scratch.file("damaged-\(n).img")
            let attempt = await errorCode {
                try await chains.restore(item: "vm", point: fixture.points[0], disk: 0, to: path)
            }
            try await store.close()
            #expect(attempt.error != nil, "setting \(n): a restore over a damaged chunk succeeded")
            #expect(
                attempt.code != nil && attempt.code != .invalidArgument,
                "setting \(n): \(String(describing: attempt.error))")
            #expect(!FileManager.default.fileExists(atPath: path), "setting \(n): the partial file is left")
        }
    }
}
