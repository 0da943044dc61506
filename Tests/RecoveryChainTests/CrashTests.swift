import BlockStore
import BlockStoreTesting
import Foundation
import RecoveryChain
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// S40 with a real process: the `CrashHelper` executable backs up, expires and garbage-collects
/// a store in a directory until it is killed with SIGKILL at a random moment. Afterwards the
/// store opens, verifies, and every point the helper reported committed restores bit-exact; no
/// point it had not finished is visible half-written.
@Suite struct ProcessCrashTests {
    /// `CrashHelper` sits beside the test bundle (`.build/<configuration>/`); the environment
    /// variable `BLOCKSNAP_CRASH_HELPER` names it elsewhere.
    static func helperPath() -> String? {
        let fm = FileManager.default
        if let path = ProcessInfo.processInfo.environment["BLOCKSNAP_CRASH_HELPER"] { return path }
        // macOS runs the bundle inside `xctest`; Linux runs it as an executable.
        var directories = Bundle.allBundles.filter { $0.bundlePath.hasSuffix(".xctest") }.map { $0.bundleURL.deletingLastPathComponent() }
        var arg0 = URL(fileURLWithPath: CommandLine.arguments[0])
        if !arg0.path.hasPrefix("/") {
            arg0 = URL(fileURLWithPath: fm.currentDirectoryPath).appendingPathComponent(CommandLine.arguments[0])
        }
        var bundle = Bundle.main.bundleURL
        for _ in 0..<4 {
            directories.append(arg0.deletingLastPathComponent())
            directories.append(bundle)
            arg0 = arg0.deletingLastPathComponent()
            bundle = bundle.deletingLastPathComponent()
        }
        for directory in directories {
            let candidate = directory.appendingPathComponent("CrashHelper").path
            if fm.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// What one helper run printed before it was killed.
    struct HelperLog {
        var item: ItemName
        var committed: [(id: PointID, hashes: [String])] = []
        var expired: Set<PointID> = []
        var expiring: PointID? = nil  // started, not confirmed
        var begun: [String]? = nil  // the backup in flight: its disks' hashes
        var lastLine = "(nothing)"

        init(item: ItemName, output: String) {
            self.item = item
            for line in output.split(separator: "\n") {
                let words = line.split(separator: " ").map(String.init)
                guard let verb = words.first else { continue }
                lastLine = verb
                switch verb {
                case "BEGIN" where words.count == 3: begun = Array(words.dropFirst())
                case "POINT" where words.count == 4:
                    committed.append((PointID(words[1]), Array(words.dropFirst(2))))
                    begun = nil
                case "EXPIRING" where words.count == 2: expiring = PointID(words[1])
                case "EXPIRED" where words.count == 2:
                    expired.insert(PointID(words[1]))
                    expiring = nil
                default: break
                }
            }
        }
    }

    @Test func aHelperKilledAtRandomMomentsLeavesEveryCommittedPointRestorable() async throws {
        let seed: UInt64 = 40
        var rng = SeededGenerator(seed: seed)
        let helper = try #require(Self.helperPath(), "CrashHelper not found beside \(CommandLine.arguments[0]); build with `swift build --build-tests`")
        let scratch = ScratchDirectory()
        let directory = scratch.file("store")
        let backend = try LocalDirectoryBackend(root: directory)
        try await ChunkStore.create(on: backend, encryption: .passphrase("pw"), options: testOptions()).close()

        var logs: [HelperLog] = []
        for round in 0..<6 {
            let item = ItemName("vm\(round)")
            let process = Process()
            process.executableURL = URL(fileURLWithPath: helper)
            process.arguments = [directory, "pw", item.rawValue, String(rng.next())]
            // Output to files, read while it runs: each line is written before the helper moves on.
            let outputPath = scratch.file("\(item).out")
            let errorPath = scratch.file("\(item).err")
            _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
            _ = FileManager.default.createFile(atPath: errorPath, contents: nil)
            process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
            process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errorPath))
            func printed() -> String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }
            try process.run()
            // Once the first point is committed (however slow the machine), kill at a random moment.
            let started = ContinuousClock.now
            while !printed().contains("POINT ") && process.isRunning && ContinuousClock.now - started < .seconds(60) {
                try await Task.sleep(for: .milliseconds(20))
            }
            try await Task.sleep(for: .milliseconds(Int(rng.next() % 1000)))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()  // reaped: its locks now belong to a dead process
            let complaint = (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? ""
            #expect(process.terminationReason == .uncaughtSignal, "seed \(seed) round \(round): the helper stopped by itself: \(complaint)")
            logs.append(HelperLog(item: item, output: printed()))
        }
        let committed = logs.reduce(0) { $0 + $1.committed.count }
        #expect(logs.allSatisfy { !$0.committed.isEmpty } && committed >= 12, "seed \(seed): the helpers committed only \(committed) points; killed after \(logs.map(\.lastLine))")

        // The store opens; verification finds no damage, only what GC removes (leftover packs).
        let writer = try await ChunkStore.open(on: backend, passphrase: "pw", options: testOptions())
        let first = try await writer.verify()
        #expect(first.damagedRoots.isEmpty && first.missingChunks.isEmpty && first.damagedChunks.isEmpty, "seed \(seed): \(first)")
        try await writer.close()
        let gc = try await ChunkStore.open(on: backend, passphrase: "pw", options: testOptions(lock: .exclusive))
        _ = try await gc.collectGarbage()
        let second = try await gc.verify()
        #expect(second.isClean, "seed \(seed): after GC \(second)")

        let chains = ChainStore(store: gc, workerCount: 2)
        for log in logs {
            let visible = try await chains.points(item: log.item).map(\.id)
            let context = "seed \(seed) item \(log.item) (killed after \(log.lastLine))"
            for entry in log.committed where !log.expired.contains(entry.id) && entry.id != log.expiring {
                #expect(visible.contains(entry.id), "\(context): committed point \(entry.id) is gone")
            }
            for id in log.expired {
                #expect(!visible.contains(id), "\(context): expired point \(id) is back")
            }
            var unreported = 0
            for id in visible {
                let expected: [String]
                if let entry = log.committed.first(where: { $0.id == id }) {
                    expected = entry.hashes
                } else {
                    // Committed just before the kill, not yet reported: it is the backup in flight.
                    unreported += 1
                    expected = try #require(log.begun, "\(context): point \(id) appeared without a backup in flight")
                    #expect(id == visible.last, "\(context): an unreported point \(id) is not the newest")
                }
                for disk in 0..<2 {
                    let bytes = try await restoredBytes(chains, item: log.item, point: id, disk: DiskIndex(disk), scratch: scratch)
                    #expect(ChunkHasher.sha256.dataID(bytes).hex == expected[disk], "\(context): point \(id) disk \(disk) differs")
                }
            }
            #expect(unreported <= 1, "\(context): \(unreported) unreported points")
        }
        try await gc.close()
    }
}

/// S40 simulated in-process: a `FaultInjectingBackend` "crashes" after N writes and deletes,
/// for every N across a scripted run of backups, expiries and a GC. After each crash a fresh
/// store on the wrapped backend opens, verifies clean after a GC, and every committed point
/// restores bit-exact.
@Suite struct SimulatedCrashTests {
    /// What the scripted run committed before it stopped.
    final class Journal {
        var oracles: [PointID: [[UInt8]]] = [:]
        var order: [PointID] = []
        var expired: Set<PointID> = []
        var pendingBackup: [[UInt8]]? = nil
        var pendingExpiry: PointID? = nil
        var stores: [ChunkStore] = []
    }

    static func script(_ backend: any StorageBackend, _ journal: Journal) async throws {
        var rng = SeededGenerator(seed: 7)
        var disks: [[UInt8]] = [[UInt8](repeating: 0, count: 64 * 4096 + 512), [UInt8](repeating: 0, count: 32 * 4096)]
        _ = Churn.clustered(&disks[0], length: 150_000, rng: &rng)
        _ = Churn.clustered(&disks[1], length: 60_000, rng: &rng)
        func open(_ lock: StoreLockMode) async throws -> ChunkStore {
            let store = try await ChunkStore.open(on: backend, passphrase: "pw", options: testOptions(lock: lock))
            journal.stores.append(store)
            return store
        }
        func backup(_ chains: ChainStore) async throws {
            journal.pendingBackup = disks
            var request = BackupRequest(item: "vm", disks: (0..<2).map { DiskInput(disk: DiskIndex($0), source: MemoryDiskSource(bytes: disks[$0])) })
            request.blockSizeBytes = 4096
            let result = try await chains.backup(request)
            journal.oracles[result.point.id] = disks
            journal.order.append(result.point.id)
            journal.pendingBackup = nil
        }
        func expire(_ chains: ChainStore, _ id: PointID) async throws {
            journal.pendingExpiry = id
            try await chains.expire(item: "vm", point: id)
            journal.expired.insert(id)
            journal.pendingExpiry = nil
        }
        func churn() {
            for d in 0..<2 {
                _ = Churn.clustered(&disks[d], length: 20_000, rng: &rng)
                _ = Churn.scattered(&disks[d], count: 5, rng: &rng)
                _ = Churn.zeroing(&disks[d], length: 9000, rng: &rng)
            }
        }

        var store = try await open(.shared)
        var chains = ChainStore(store: store, workerCount: 2)
        try await backup(chains)
        churn()
        try await backup(chains)
        churn()
        try await backup(chains)
        try await expire(chains, journal.order[0])
        try await store.close()
        let gc = try await open(.exclusive)
        _ = try await gc.collectGarbage(repackThreshold: 0.1)
        try await gc.close()
        store = try await open(.shared)
        chains = ChainStore(store: store, workerCount: 2)
        churn()
        try await backup(chains)
        try await expire(chains, journal.order[2])
        try await store.close()
    }

    @Test func aCrashAfterAnyNumberOfWritesLosesNoCommittedPoint() async throws {
        // How many writes and deletes the whole script makes.
        let probe = MemoryBackend()
        try await ChunkStore.create(on: probe, encryption: .passphrase("pw"), options: testOptions()).close()
        let counting = FaultInjectingBackend(wrapping: probe)
        try await Self.script(counting, Journal())
        let total = counting.mutatingOperationCount
        #expect(total > 20, "the script makes \(total) writes")

        let scratch = ScratchDirectory()
        let stride = max(1, total / 90)
        var crashes = 0
        for n in Swift.stride(from: 0, through: total, by: stride) {
            let memory = MemoryBackend()
            try await ChunkStore.create(on: memory, encryption: .passphrase("pw"), options: testOptions()).close()
            let faulty = FaultInjectingBackend(wrapping: memory, seed: UInt64(n), configuration: .init(crashAfterMutatingOperations: n))
            let journal = Journal()
            do {
                try await Self.script(faulty, journal)
                // Only the last writes (lock releases, which are best-effort) may crash unnoticed.
                #expect(n >= total - 2, "crash after \(n) of \(total): the script did not notice")
            } catch {
                #expect(faulty.hasCrashed, "crash after \(n): failed without crashing: \(error)")
                crashes += 1
            }
            for store in journal.stores { try? await store.close() }  // stop their lock refreshers
            // The crashed "process" is gone: its store lock and item job guard are stale. They name
            // this (live) process, so remove them as a takeover of a dead holder would.
            for key in memory.allKeys where key.rawValue.hasPrefix("locks/") || key.rawValue.hasPrefix("jobs/") {
                try await memory.delete(key)
            }
            let context = "crash after \(n) of \(total) writes"
            let reopened = try await ChunkStore.open(on: memory, passphrase: "pw", options: testOptions())
            let first = try await reopened.verify()
            #expect(first.damagedRoots.isEmpty && first.missingChunks.isEmpty && first.damagedChunks.isEmpty, "\(context): \(first)")
            try await reopened.close()
            let gc = try await ChunkStore.open(on: memory, passphrase: "pw", options: testOptions(lock: .exclusive))
            _ = try await gc.collectGarbage()
            let second = try await gc.verify()
            #expect(second.isClean, "\(context): after GC \(second)")

            let chains = ChainStore(store: gc, workerCount: 2)
            let visible = try await chains.points(item: "vm").map(\.id)
            for id in journal.order where !journal.expired.contains(id) && id != journal.pendingExpiry {
                #expect(visible.contains(id), "\(context): committed point \(id) is gone")
            }
            for id in journal.expired { #expect(!visible.contains(id), "\(context): expired point \(id) is back") }
            for id in visible {
                let oracle = try #require(journal.oracles[id] ?? journal.pendingBackup, "\(context): point \(id) appeared from nowhere")
                for disk in 0..<2 {
                    let bytes = try await restoredBytes(chains, item: "vm", point: id, disk: DiskIndex(disk), scratch: scratch)
                    #expect(bytes == oracle[disk], "\(context): point \(id) disk \(disk) differs")
                }
            }
            try await gc.close()
        }
        #expect(crashes > 20, "only \(crashes) runs crashed")
    }
}
