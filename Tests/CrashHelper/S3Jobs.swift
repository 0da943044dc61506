// The S3 modes of CrashHelper, for BlockStoreS3Tests' several-hosts-on-one-store test: writers
// and a collector in separate processes on one store on S3 (moto on loopback), configured by
// AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION.
//
//     CrashHelper s3-writer s3://BUCKET/PREFIX <passphrase> <item> <seed> <rounds>
//     CrashHelper s3-gc s3://BUCKET/PREFIX <passphrase> <collections>
//
// A writer runs `rounds` backups of one seeded, changing disk (some blocks drawn from a pool
// both writers share), each with its own shared lock
// (released between rounds, so that a collector can take the exclusive one), and expires an
// older point of its own item every second round. It prints `POINT <id> <sha256 of the disk>`
// once a backup has committed and `EXPIRED <id>` once an expiry has. The collector runs
// `collections` garbage collections with the exclusive lock, printing
// `GCDONE <deleted chunks> <deleted packs> <repacked packs>` after each. Both print `DONE` at
// the end and exit 1 with the error on standard error when anything fails.
import BlockSnap
import BlockStoreS3
import BlockStoreTesting
import Foundation

/// The S3 modes of the helper.
enum S3Jobs {
    /// Whether `mode` is one of these modes.
    static func handles(_ mode: String) -> Bool { mode == "s3-writer" || mode == "s3-gc" }

    /// Runs the mode named by `arguments[1]`; exits 2 on bad arguments.
    static func run(_ arguments: [String]) async throws {
        switch (arguments[1], arguments.count) {
        case ("s3-writer", 7):
            guard let seed = UInt64(arguments[5]), let rounds = Int(arguments[6]) else { usage() }
            try await withBackend(arguments[2]) { backend in
                try await write(
                    on: backend, passphrase: arguments[3], item: ItemName(arguments[4]), seed: seed,
                    rounds: rounds)
            }
        case ("s3-gc", 5):
            guard let collections = Int(arguments[4]) else { usage() }
            try await withBackend(arguments[2]) { backend in
                try await collect(on: backend, passphrase: arguments[3], collections: collections)
            }
        default:
            usage()
        }
    }

    static func usage() -> Never {
        FileHandle.standardError.write(
            Data(
                """
                usage: CrashHelper s3-writer s3://BUCKET/PREFIX <passphrase> <item> <seed> <rounds>
                       CrashHelper s3-gc s3://BUCKET/PREFIX <passphrase> <collections>

                """.utf8))
        exit(2)
    }

    static func withBackend(_ storeURL: String, _ body: (S3Backend) async throws -> Void) async throws {
        try await S3Backend.withBackend(configuration: try S3Configuration.fromStoreURL(storeURL), body)
    }

    static func options(_ lock: StoreLockMode) -> ChunkStoreOptions {
        var o = CrashHelper.options(lock)
        o.lockTimeout = .seconds(120)
        return o
    }

    static func write(
        on backend: S3Backend, passphrase: String, item: ItemName, seed: UInt64, rounds: Int
    ) async throws {
        var rng = SplitMix64(seed: seed)
        var disk = [UInt8](repeating: 0, count: 512 << 10)
        rng.scribble(&disk, count: disk.count / 3)
        // Blocks that recur, in both writers and across rounds: a backup dedups against chunks
        // the other writer stored, and against chunks that only expired points held (garbage a
        // collection running beside the backup would delete under it).
        var patternRNG = SplitMix64(seed: 0x5EED)
        let patterns = (0..<16).map { _ in
            var block = [UInt8](repeating: 0, count: 4096)
            patternRNG.scribble(&block[...])
            return block
        }
        var committed: [PointID] = []
        for round in 0..<rounds {
            if round > 0 {
                for _ in 0..<(1 + Int(rng.next() % 8)) {
                    let length = 4096 * (1 + Int(rng.next() % 4))
                    let offset = 4096 * Int(rng.next() % UInt64((disk.count - length) / 4096 + 1))
                    rng.scribble(&disk[offset..<(offset + length)])
                }
                for _ in 0..<(2 + Int(rng.next() % 8)) {
                    let offset = 4096 * Int(rng.next() % UInt64(disk.count / 4096))
                    disk.replaceSubrange(offset..<(offset + 4096), with: patterns[Int(rng.next() % 16)])
                }
            }
            let store = try await ChunkStore.open(on: backend, passphrase: passphrase, options: options(.shared))
            let chains = ChainStore(store: store, workerCount: 2)
            var request = BackupRequest(item: item, disks: [DiskInput(disk: 0, source: MemoryDiskSource(bytes: disk))])
            request.blockSizeBytes = 4096
            let id = try await chains.backup(request).point.id
            committed.append(id)
            CrashHelper.emit("POINT \(id) \(CrashHelper.sha(disk))")
            if round % 2 == 1 {
                let victim = committed.remove(at: Int(rng.next() % UInt64(committed.count - 1)))
                try await chains.expire(item: item, point: victim)
                CrashHelper.emit("EXPIRED \(victim)")
            }
            try await store.close()
            // Out of the lock for a moment: room for the collector's exclusive lock.
            try await Task.sleep(for: .milliseconds(100 + Int(rng.next() % 300)))
        }
        CrashHelper.emit("DONE")
    }

    static func collect(on backend: S3Backend, passphrase: String, collections: Int) async throws {
        for _ in 0..<collections {
            let store = try await ChunkStore.open(on: backend, passphrase: passphrase, options: options(.exclusive))
            let report = try await store.collectGarbage(repackThreshold: 0.2)
            try await store.close()
            CrashHelper.emit("GCDONE \(report.deletedChunks) \(report.deletedPacks) \(report.repackedPacks)")
            try await Task.sleep(for: .milliseconds(200))
        }
        CrashHelper.emit("DONE")
    }
}
