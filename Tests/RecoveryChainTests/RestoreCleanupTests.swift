import BlockStore
import Foundation
import RecoveryChain
import Synchronization
import Testing

/// A restore that fails or is cancelled removes the file it created and leaves a file it was
/// told to overwrite as the failure left it; targets other than regular files and block
/// devices are refused.
@Suite struct RestoreCleanupTests {
    static let blockSize = 4096

    /// A local encrypted store with one point of a seeded random disk (256 blocks, no zeros), so
    /// its chunks spread over several 256 KiB packs.
    struct Fixture {
        let scratch = ScratchDirectory()
        var storePath: String { scratch.file("store") }
        let disk: [UInt8]
        let point: PointID

        init(seed: UInt64) async throws {
            var rng = SeededGenerator(seed: seed)
            disk = (0..<(256 * RestoreCleanupTests.blockSize)).map { _ in UInt8(truncatingIfNeeded: rng.next()) | 1 }
            let store = try await ChunkStore.create(
                on: try LocalDirectoryBackend(root: scratch.file("store"), create: true),
                encryption: .passphrase("pw"), options: testOptions())
            var request = BackupRequest(item: "vm", disks: [DiskInput(disk: 0, source: MemoryDiskSource(bytes: disk))])
            request.blockSizeBytes = RestoreCleanupTests.blockSize
            point = try await ChainStore(store: store).backup(request).point.id
            try await store.close()
        }

        /// The store opened afresh (nothing cached from before a pack was damaged), one worker so
        /// blocks are restored in order.
        func chains() async throws -> (ChunkStore, ChainStore) {
            let store = try await ChunkStore.open(
                on: try LocalDirectoryBackend(root: storePath), passphrase: "pw", options: testOptions(lock: .none))
            return (store, ChainStore(store: store, workerCount: 1))
        }

        /// Every pack file.
        func packs() throws -> [String] {
            let data = "\(storePath)/data"
            return try FileManager.default.subpathsOfDirectory(atPath: data).map { "\(data)/\($0)" }.filter {
                var isDirectory: ObjCBool = false
                return FileManager.default.fileExists(atPath: $0, isDirectory: &isDirectory) && !isDirectory.boolValue
            }.sorted()
        }

        /// How many whole blocks of `bytes` equal the disk's.
        func blocksMatching(_ bytes: [UInt8]) -> Int {
            guard bytes.count == disk.count else { return 0 }
            return stride(from: 0, to: disk.count, by: RestoreCleanupTests.blockSize).filter {
                bytes[$0..<($0 + RestoreCleanupTests.blockSize)] == disk[$0..<($0 + RestoreCleanupTests.blockSize)]
            }.count
        }
    }

    /// Damage one byte in the middle of each pack in turn and restore twice: to a new file, and
    /// over an existing one. Wherever the restore fails, the new file is gone and the existing
    /// one is still there; and for some pack the failure came midway (the existing file got
    /// some of the disk's blocks before it), so removal is not just "failed before creating".
    @Test func aRestoreThatFailsMidwayRemovesTheFileItCreated() async throws {
        let fixture = try await Fixture(seed: 1313)
        let packs = try fixture.packs()
        try #require(packs.count >= 3, "the disk should fill several packs")
        var failures = 0
        var failuresMidway = 0
        for (k, pack) in packs.enumerated() {
            let original = try readFile(pack)
            var damaged = original
            damaged[damaged.count / 2] ^= 0x40
            try Data(damaged).write(to: URL(fileURLWithPath: pack))
            defer { try? Data(original).write(to: URL(fileURLWithPath: pack)) }

            let (store, chains) = try await fixture.chains()
            let fresh = fixture.scratch.file("fresh-\(k).img")
            let attempt = await errorCode {
                try await chains.restore(item: "vm", point: fixture.point, disk: 0, to: fresh)
            }
            let existing = fixture.scratch.file("existing-\(k).img")
            try Data(repeating: 0xEE, count: 1000).write(to: URL(fileURLWithPath: existing))
            let over = await errorCode {
                try await chains.restore(item: "vm", point: fixture.point, disk: 0, to: existing)
            }
            try await store.close()

            #expect((attempt.error == nil) == (over.error == nil), "pack \(k): both restores read the same blocks")
            guard let error = attempt.error else {
                #expect(try readFile(fresh) == fixture.disk, "pack \(k): a restore that succeeded is whole")
                continue
            }
            failures += 1
            #expect(attempt.code != nil && attempt.code != .invalidArgument, "pack \(k): \(error)")
            #expect(!FileManager.default.fileExists(atPath: fresh), "pack \(k): the partial file it created is left")
            #expect(
                FileManager.default.fileExists(atPath: existing), "pack \(k): a file it was told to overwrite is gone")
            if fixture.blocksMatching(try readFile(existing)) > 0 { failuresMidway += 1 }
        }
        #expect(failures > 0, "no damaged pack made a restore fail")
        #expect(failuresMidway > 0, "no restore failed after writing some blocks")
    }

    /// A cancelled restore (the task cancelled from its own progress report, so after the
    /// target exists) removes the file it created.
    @Test func aCancelledRestoreRemovesTheFileItCreated() async throws {
        let fixture = try await Fixture(seed: 7)
        let (store, chains) = try await fixture.chains()
        let path = fixture.scratch.file("cancelled.img")
        final class Reports: Sendable { let count = Mutex(0) }
        let reports = Reports()
        let point = fixture.point
        let task = Task {
            try await chains.restore(item: "vm", point: point, disk: 0, to: path) { _ in
                reports.count.withLock { $0 += 1 }
                withUnsafeCurrentTask { $0?.cancel() }
            }
        }
        let result = await task.result
        try await store.close()
        #expect(reports.count.withLock { $0 } > 0, "the restore reported progress, so it had created its target")
        guard case .failure(let error) = result else {
            Issue.record("a cancelled restore succeeded")
            return
        }
        #expect((error as? RecoveryChainError)?.code == .cancelled, "\(error)")
        #expect(!FileManager.default.fileExists(atPath: path), "the cancelled restore left its file")
    }

    /// In-place needs a target that exists, and creates none.
    @Test func anInPlaceRevertOfAMissingTargetIsNotFoundAndCreatesNothing() async throws {
        let fixture = try await Fixture(seed: 3)
        let (store, chains) = try await fixture.chains()
        let path = fixture.scratch.file("missing.img")
        let attempt = await errorCode {
            try await chains.restoreInPlace(
                item: "vm", point: fixture.point, disk: 0, target: path, holding: fixture.point)
        }
        try await store.close()
        #expect(attempt.code == .notFound, "\(String(describing: attempt.error))")
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    /// Character devices, FIFOs (without waiting for a reader), sockets, directories and links
    /// to nothing are no restore targets; a symbolic link to a regular file is one.
    @Test func onlyRegularFilesAndBlockDevicesAreTargets() async throws {
        let fixture = try await Fixture(seed: 5)
        let files = SpecialFiles()
        let (store, chains) = try await fixture.chains()
        let targets: [(String, String)] = [
            ("/dev/null", "character device"), (try files.fifo(), "FIFO"), (try files.socket(), "socket"),
            (try files.directory(), "directory"), (try files.link(to: files.scratch.file("nothing")), "link"),
        ]
        for (path, kind) in targets {
            let attempt = await errorCode {
                try await chains.restore(item: "vm", point: fixture.point, disk: 0, to: path)
            }
            #expect(attempt.code == .invalidArgument, "\(path): \(String(describing: attempt.error))")
            #expect(
                (attempt.error as? RecoveryChainError)?.message.contains(kind) == true,
                "\(path): \(String(describing: attempt.error))")
        }
        let file = fixture.scratch.file("target.img")
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: file))
        let link = try files.link(to: file)
        _ = try await chains.restore(item: "vm", point: fixture.point, disk: 0, to: link)
        try await store.close()
        #expect(try readFile(file) == fixture.disk)
    }
}
