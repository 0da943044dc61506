// A crash-test subject for RecoveryChainTests' kill-at-any-moment tests: backs up, expires and garbage-collects a
// store in a directory in a loop until it is killed. (`s3-writer` and `s3-gc` are modes for
// BlockStoreS3Tests: see S3Jobs.swift.)
//
//     CrashHelper <store-directory> <passphrase> <item> <seed>
//
// Before each backup it prints `BEGIN <sha256 disk0> <sha256 disk1>`; after a backup has
// committed, `POINT <id> <sha256 disk0> <sha256 disk1>`; around an expiry `EXPIRING <id>` and
// `EXPIRED <id>`; around a garbage collection `GC` and `GCDONE`. Each line is flushed before the
// helper moves on, so every line the parent reads happened before the kill.
import BlockSnap
import BlockStoreTesting
import Foundation

@main
struct CrashHelper {
    static func emit(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    static func sha(_ bytes: [UInt8]) -> String { ChunkHasher.sha256.dataID(bytes).hex }

    static func options(_ lock: StoreLockMode) -> ChunkStoreOptions {
        var o = ChunkStoreOptions()
        o.keyDerivation = .fastForTesting
        o.packTargetBytes = 128 << 10
        o.lock = lock
        o.lockTimeout = .seconds(20)
        return o
    }

    static func main() async {
        let args = CommandLine.arguments
        if args.count > 1, S3Jobs.handles(args[1]) {
            do {
                try await S3Jobs.run(args)
            } catch {
                FileHandle.standardError.write(Data("CrashHelper \(args[1]) failed: \(error)\n".utf8))
                exit(1)
            }
            return
        }
        guard args.count == 5, let seed = UInt64(args[4]) else {
            FileHandle.standardError.write(Data("usage: CrashHelper <dir> <passphrase> <item> <seed>\n".utf8))
            exit(2)
        }
        do {
            try await run(directory: args[1], passphrase: args[2], item: ItemName(args[3]), seed: seed)
        } catch {
            FileHandle.standardError.write(Data("CrashHelper failed: \(error)\n".utf8))
            exit(1)
        }
    }

    static func run(directory: String, passphrase: String, item: ItemName, seed: UInt64) async throws {
        var rng = SplitMix64(seed: seed)
        let backend = try LocalDirectoryBackend(root: directory, create: false)
        var store = try await ChunkStore.open(on: backend, passphrase: passphrase, options: options(.shared))
        var chains = ChainStore(store: store, workerCount: 2)
        // Two disks: 768 KiB and 256 KiB + 512 bytes (a partial last block).
        var disks: [[UInt8]] = [
            [UInt8](repeating: 0, count: 768 << 10), [UInt8](repeating: 0, count: (256 << 10) + 512),
        ]
        for d in disks.indices { rng.scribble(&disks[d], count: disks[d].count / 3) }
        var committed: [PointID] = []
        for round in 0..<10_000 {
            if round > 0 {
                for d in disks.indices {
                    for _ in 0..<(1 + Int(rng.next() % 12)) {
                        let length = 512 * (1 + Int(rng.next() % 24))
                        let offset = 512 * Int(rng.next() % UInt64((disks[d].count - length) / 512 + 1))
                        if rng.next() % 4 == 0 {
                            for i in offset..<(offset + length) { disks[d][i] = 0 }
                        } else {
                            rng.scribble(&disks[d][offset..<(offset + length)])
                        }
                    }
                }
            }
            let hashes = disks.map(sha).joined(separator: " ")
            emit("BEGIN \(hashes)")
            var request = BackupRequest(
                item: item,
                disks: disks.indices.map { DiskInput(disk: DiskIndex($0), source: MemoryDiskSource(bytes: disks[$0])) })
            request.blockSizeBytes = 4096
            let result = try await chains.backup(request)
            committed.append(result.point.id)
            emit("POINT \(result.point.id) \(hashes)")

            if round % 3 == 2 && committed.count > 1 {
                let victim = committed.remove(at: Int(rng.next() % UInt64(committed.count - 1)))
                emit("EXPIRING \(victim)")
                try await chains.expire(item: item, point: victim)
                emit("EXPIRED \(victim)")
            }
            if round % 4 == 3 {
                try await store.close()
                let gc = try await ChunkStore.open(on: backend, passphrase: passphrase, options: options(.exclusive))
                emit("GC")
                _ = try await gc.collectGarbage(repackThreshold: 0.2)
                try await gc.close()
                emit("GCDONE")
                store = try await ChunkStore.open(on: backend, passphrase: passphrase, options: options(.shared))
                chains = ChainStore(store: store, workerCount: 2)
            }
        }
    }
}

/// Disk writes drawn from a seeded generator, so a seed replays the same disk history.
extension SplitMix64 {
    mutating func scribble(_ bytes: inout [UInt8], count: Int) {
        let start = Int(next() % UInt64(bytes.count - count + 1))
        scribble(&bytes[start..<(start + count)])
    }

    mutating func scribble(_ bytes: inout ArraySlice<UInt8>) {
        for i in bytes.indices { bytes[i] = UInt8(truncatingIfNeeded: next() % 251) | 1 }
    }
}
