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
        var directories = Bundle.allBundles.filter { $0.bundlePath.hasSuffix(".xctest") }.map {
            $0.bundleURL.deletingLastPathComponent()
        }
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
        let helper = try #require(
            Self.helperPath(),
            "CrashHelper not found beside \(CommandLine.arguments[0]); build with `swift build --build-tests`")
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
            #expect(
                process.terminationReason == .uncaughtSignal,
                "seed \(seed) round \(round): the helper stopped by itself: \(complaint)")
            logs.append(HelperLog(item: item, output: printed()))
        }
        let committed = logs.reduce(0) { $0 + $1.committed.count }
        #expect(
            logs.allSatisfy { !$0.committed.isEmpty } && committed >= 12,
            "seed \(seed): the helpers committed only \(committed) points; killed after \(logs.map(\.lastLine))")

        // The store opens; verification finds no damage, only what GC removes (leftover packs).
        let writer = try await ChunkStore.open(on: backend, passphrase: "pw", options: testOptions())
        let first = try await writer.verify()
        #expect(
            first.damagedRoots.isEmpty && first.missingChunks.isEmpty && first.damagedChunks.isEmpty,
            "seed \(seed): \(first)")
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
                    let bytes = try await restoredBytes(
                        chains, item: log.item, point: id, disk: DiskIndex(disk), scratch: scratch)
                    #expect(
                        ChunkHasher.sha256.dataID(bytes).hex == expected[disk],
                        "\(context): point \(id) disk \(disk) differs")
                }
            }
            #expect(unreported <= 1, "\(context): \(unreported) unreported points")
        }
        try await gc.close()
    }
}
