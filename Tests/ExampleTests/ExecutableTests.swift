import Foundation
import Testing

/// Runs the built example executables as a person would and checks what they print
/// (as swift-argument-parser tests its examples).
@Suite(.serialized) struct ExecutableTests {
    /// The directory holding the built products (next to the test bundle).
    static var productsDirectory: URL {
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        while url.pathComponents.count > 1
            && !FileManager.default.fileExists(atPath: url.appendingPathComponent("blocksnap").path)
        {
            url.deleteLastPathComponent()
        }
        return url
    }

    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
        /// Whether the process exited or was killed by a signal.
        var reason: Process.TerminationReason = .exit
        var json: [String: Any]? {
            (try? JSONSerialization.jsonObject(with: Data(stdout.utf8))) as? [String: Any]
        }
    }

    /// Runs a built product and collects what it prints.
    /// - Parameter isolated: Standard input from /dev/null (so it can never prompt) and every
    ///   passphrase source cleared unless `environment` sets it; otherwise the test's own
    ///   standard input and environment are inherited.
    @discardableResult
    static func run(
        _ tool: String, _ arguments: [String], environment: [String: String] = [:], isolated: Bool = false
    ) throws -> Run {
        let process = Process()
        process.executableURL = productsDirectory.appendingPathComponent(tool)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        if isolated {
            for name in ["BLOCKSNAP_PASSPHRASE", "BLOCKSNAP_PASSPHRASE_COMMAND"] { env[name] = nil }
            process.standardInput = FileHandle.nullDevice
        }
        env.merge(environment) { $1 }
        process.environment = env
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self), reason: process.terminationReason)
    }

    func scratch() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("blocksnap-exe-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func gcRefusesOnADamagedIndexAndRepairRebuildsIt() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let env = ["BLOCKSNAP_PASSPHRASE": "example passphrase"]
        let store = "\(dir)/store"
        var disk = [UInt8](repeating: 0, count: 1 << 20)
        for i in stride(from: 0, to: disk.count, by: 7) { disk[i] = UInt8(truncatingIfNeeded: i &* 13) }
        let image = "\(dir)/disk.img"
        _ = FileManager.default.createFile(atPath: image, contents: Data(disk))
        #expect(
            try Self.run("blocksnap", ["init", "--store", store, "--block-size", "16KiB"], environment: env).status == 0
        )
        let backup = try Self.run(
            "blocksnap", ["backup", "--store", store, "--item", "vm1", "--disk", image, "--json"], environment: env)
        let point = try #require(backup.json?["point"] as? String, "\(backup.stderr)")

        // One flipped byte in one index object.
        let indexDir = "\(store)/index"
        let name = try #require(try FileManager.default.contentsOfDirectory(atPath: indexDir).first)
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: "\(indexDir)/\(name)")))
        bytes[bytes.count / 2] ^= 0x10
        try Data(bytes).write(to: URL(fileURLWithPath: "\(indexDir)/\(name)"))
        let packsBefore = try FileManager.default.subpathsOfDirectory(atPath: "\(store)/data").sorted()

        for arguments in [["gc"], ["gc", "--dry-run"]] {
            let gc = try Self.run("blocksnap", arguments + ["--store", store, "--json"], environment: env)
            #expect(gc.status == 1, "\(arguments): \(gc.stdout) \(gc.stderr)")
            let error = try #require(gc.json?["error"] as? [String: Any], "\(gc.stdout)")
            #expect(error["code"] as? String == "damaged")
            #expect((error["message"] as? String)?.contains("index/\(name)") == true, "\(error)")
        }
        #expect(
            try FileManager.default.subpathsOfDirectory(atPath: "\(store)/data").sorted() == packsBefore,
            "gc deleted packs")
        let verify = try Self.run("blocksnap", ["verify", "--store", store, "--json"], environment: env)
        #expect(verify.status == 2 && verify.json?["ok"] as? Bool == false, "\(verify.stdout)")

        let dry = try Self.run("blocksnap", ["repair", "--store", store, "--dry-run", "--json"], environment: env)
        #expect(
            dry.status == 0 && dry.json?["rebuiltIndex"] as? Bool == true && dry.json?["dryRun"] as? Bool == true,
            "\(dry.stdout) \(dry.stderr)")
        let repair = try Self.run("blocksnap", ["repair", "--store", store, "--json"], environment: env)
        #expect(repair.status == 0, "\(repair.stdout) \(repair.stderr)")
        #expect(repair.json?["rebuiltIndex"] as? Bool == true)
        #expect((repair.json?["indexObjects"] as? Int ?? 0) >= 1)
        #expect((repair.json?["damagedPacks"] as? [Any])?.isEmpty == true)
        #expect((repair.json?["damagedPoints"] as? [Any])?.isEmpty == true)

        let clean = try Self.run(
            "blocksnap", ["verify", "--store", store, "--read-data-subset", "1/2", "--json"], environment: env)
        #expect(clean.status == 0 && clean.json?["ok"] as? Bool == true, "\(clean.stdout) \(clean.stderr)")
        #expect(try Self.run("blocksnap", ["gc", "--store", store], environment: env).status == 0)
        let restored = "\(dir)/restored.img"
        let restore = try Self.run(
            "blocksnap", ["restore", "--store", store, "--item", "vm1", "--point", point, "--to", restored],
            environment: env)
        #expect(restore.status == 0, "\(restore.stderr)")
        let restoredBytes = Array(try Data(contentsOf: URL(fileURLWithPath: restored)))
        #expect(restoredBytes == disk)
    }

    @Test func theCommandBacksUpDiffsRestoresAndPrunesWithItsJSONContract() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let env = ["BLOCKSNAP_PASSPHRASE": "example passphrase"]
        let store = "\(dir)/store"
        var disk = [UInt8](repeating: 0, count: 2 << 20)
        for i in stride(from: 0, to: 1 << 20, by: 3) { disk[i] = UInt8(truncatingIfNeeded: i &* 31) }
        let image = "\(dir)/disk.img"
        _ = FileManager.default.createFile(atPath: image, contents: Data(disk))

        let initRun = try Self.run(
            "blocksnap", ["init", "--store", store, "--block-size", "16KiB", "--json"], environment: env)
        #expect(initRun.status == 0, "\(initRun.stderr)")
        #expect(initRun.json?["blockSize"] as? Int == 16384)

        let first = try Self.run(
            "blocksnap",
            ["backup", "--store", store, "--item", "vm1", "--disk", image, "--time", "2026-03-01T02:00:00Z", "--json"],
            environment: env)
        #expect(first.status == 0, "\(first.stderr)")
        let firstPoint = try #require(first.json?["point"] as? String)
        #expect(first.json?["kind"] as? String == "full")
        #expect(first.json?["consistency"] as? String == "crash")
        let disks = try #require(first.json?["disks"] as? [[String: Any]])
        #expect(disks.first?["sizeBytes"] as? Int == 2 << 20)
        #expect(disks.first?["changedBlocks"] as? Int == 64)  // 1 MiB of data in 16 KiB blocks

        // Change 5 bytes at 1,500,000 and tell the command through --changed, relative to the first point.
        for i in 0..<5 { disk[1_500_000 + i] = 0xEE }
        _ = FileManager.default.createFile(atPath: image, contents: Data(disk))
        let changed = "\(dir)/changed.json"
        try Data(#"{"disks":[{"disk":0,"ranges":[[1500000,5]]}]}"#.utf8).write(to: URL(fileURLWithPath: changed))
        let second = try Self.run(
            "blocksnap",
            [
                "backup", "--store", store, "--item", "vm1", "--disk", image, "--changed", changed, "--base",
                firstPoint, "--time", "2026-03-02T02:00:00Z", "--json",
            ], environment: env)
        #expect(second.status == 0, "\(second.stderr)")
        #expect((second.json?["baseMismatches"] as? [Any])?.isEmpty == true)
        let secondPoint = try #require(second.json?["point"] as? String)
        #expect(second.json?["kind"] as? String == "incremental")

        let list = try Self.run("blocksnap", ["list", "--store", store, "--json"], environment: env)
        let items = try #require(list.json?["items"] as? [[String: Any]])
        let points = try #require(items.first?["points"] as? [[String: Any]])
        #expect(points.map { $0["point"] as? String } == [firstPoint, secondPoint])
        #expect(points.map { $0["introducedBlocks"] as? Int } == [64, 1])
        #expect(points.allSatisfy { $0.keys.contains("expires") })

        let diff = try Self.run(
            "blocksnap",
            [
                "diff", "--store", store, "--item", "vm1", "--from", firstPoint, "--to", secondPoint, "--exact",
                "--json",
            ], environment: env)
        #expect(diff.json?["blockSize"] as? Int == 16384)
        let ranges = try #require(diff.json?["ranges"] as? [[String: Any]])
        // 1,500,000 … 1,500,004 lies in the page 1,499,648 … 1,500,159.
        #expect(ranges.count == 1)
        #expect(ranges.first?["start"] as? Int == 1_499_648)
        #expect(ranges.first?["end"] as? Int == 1_500_159)
        #expect(ranges.first?["kind"] as? String == "changed")
        #expect(diff.json?.keys.contains("nextMarker") == true)

        let restored = "\(dir)/restored.img"
        let restore = try Self.run(
            "blocksnap", ["restore", "--store", store, "--item", "vm1", "--point", firstPoint, "--to", restored],
            environment: env)
        #expect(restore.status == 0, "\(restore.stderr)")
        var original = disk
        for i in 0..<5 { original[1_500_000 + i] = 0 }
        #expect(try Data(contentsOf: URL(fileURLWithPath: restored)) == Data(original))

        let policy = "\(dir)/policy.json"
        try Data(#"{"keepLast": 1}"#.utf8).write(to: URL(fileURLWithPath: policy))
        let prune = try Self.run(
            "blocksnap", ["prune", "--store", store, "--item", "vm1", "--policy", policy, "--dry-run", "--json"],
            environment: env)
        #expect((prune.json?["expire"] as? [[String: Any]])?.map { $0["point"] as? String } == [firstPoint])
        #expect((prune.json?["keep"] as? [[String: Any]])?.first?["reasons"] as? [String] != nil)
        #expect(prune.json?["freedBytes"] as? Int ?? 0 > 0)

        let verify = try Self.run("blocksnap", ["verify", "--store", store, "--json"], environment: env)
        #expect(verify.status == 0)
        #expect(verify.json?["ok"] as? Bool == true)

        let wrong = try Self.run(
            "blocksnap", ["list", "--store", store, "--json"], environment: ["BLOCKSNAP_PASSPHRASE": "wrong"])
        #expect(wrong.status != 0)
        let error = try #require(wrong.json?["error"] as? [String: Any])
        #expect(error["code"] as? String == "wrongPassphrase")
        #expect(!wrong.stderr.isEmpty && wrong.stderr.split(separator: "\n").count == 1)
    }

    /// Writes `bytes` to `path`, failing the test when it cannot.
    func write(_ bytes: [UInt8], to path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    /// Overwrites `count` bytes at `offset` with values from a seeded sequence; returns the
    /// `--changed` file body for them.
    func scribble(_ disk: inout [UInt8], at offset: Int, count: Int, seed: UInt64) -> String {
        var state = seed
        for i in offset..<(offset + count) {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            disk[i] = UInt8(truncatingIfNeeded: state >> 33) | 1
        }
        return #"{"disks":[{"disk":0,"ranges":[[\#(offset),\#(count)]]}]}"#
    }

    func errorCode(_ run: Run) -> String? {
        (run.json?["error"] as? [String: Any])?["code"] as? String
    }

    func errorMessage(_ run: Run) -> String {
        (run.json?["error"] as? [String: Any])?["message"] as? String ?? ""
    }

    /// S46 from the command line: `--changed` needs `--base`; a base that is not the latest point
    /// fails with baseMismatch (the issue's reproduction: the newest root deleted), and
    /// `--on-base-mismatch read` reads the whole disk and restores bit-exact.
    @Test func trackedChangesNeedTheirBaseAndAMismatchFailsOrReadsTheWholeDisk() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let env = ["BLOCKSNAP_PASSPHRASE": "example passphrase"]
        let store = "\(dir)/store"
        let image = "\(dir)/disk.img"
        var disk = [UInt8](repeating: 0, count: 2 << 20)
        _ = scribble(&disk, at: 0, count: 1 << 20, seed: 46)
        try write(disk, to: image)
        #expect(
            try Self.run("blocksnap", ["init", "--store", store, "--block-size", "16KiB"], environment: env).status == 0
        )
        func backup(_ extra: [String]) throws -> Run {
            try Self.run(
                "blocksnap", ["backup", "--store", store, "--item", "vm1", "--disk", image, "--json"] + extra,
                environment: env)
        }
        let first = try backup([])
        let p1 = try #require(first.json?["point"] as? String, "\(first.stderr)")

        let changedA = "\(dir)/a.json"
        try Data(scribble(&disk, at: 300_000, count: 20_000, seed: 1).utf8).write(to: URL(fileURLWithPath: changedA))
        try write(disk, to: image)
        let noBase = try backup(["--changed", changedA])
        #expect(noBase.status == 1)
        #expect(errorCode(noBase) == "invalidArgument", "\(noBase.stdout)")
        #expect(errorMessage(noBase).contains("--base"))
        let baseOnly = try backup(["--base", p1])
        #expect(baseOnly.status == 1 && errorCode(baseOnly) == "invalidArgument", "\(baseOnly.stdout)")
        let badPolicy = try backup(["--changed", changedA, "--base", p1, "--on-base-mismatch", "guess"])
        #expect(badPolicy.status == 1 && errorCode(badPolicy) == "invalidArgument", "\(badPolicy.stdout)")
        let second = try backup(["--changed", changedA, "--base", p1])
        let p2 = try #require(second.json?["point"] as? String, "\(second.stderr)")
        #expect((second.json?["disks"] as? [[String: Any]])?.first?["changedBlocks"] as? Int == 2)
        let diskAtP2 = disk

        // A stale base: the ranges since p1 are not relative to p2.
        let changedB = "\(dir)/b.json"
        try Data(scribble(&disk, at: 1_000_000, count: 40_000, seed: 2).utf8).write(to: URL(fileURLWithPath: changedB))
        try write(disk, to: image)
        let stale = try backup(["--changed", changedB, "--base", p1])
        #expect(stale.status == 1)
        #expect(errorCode(stale) == "baseMismatch", "\(stale.stdout)")
        #expect(errorMessage(stale).contains(p1) && errorMessage(stale).contains(p2), "\(errorMessage(stale))")
        let third = try backup(["--changed", changedB, "--base", p2])
        let p3 = try #require(third.json?["point"] as? String, "\(third.stderr)")

        // The issue: the newest root is deleted (the store rolled back); the host still names it.
        try FileManager.default.removeItem(atPath: "\(store)/roots/points/vm1/\(p3)")
        let changedC = "\(dir)/c.json"
        try Data(scribble(&disk, at: 1_700_000, count: 5_000, seed: 3).utf8).write(to: URL(fileURLWithPath: changedC))
        try write(disk, to: image)
        let rolledBack = try backup(["--changed", changedC, "--base", p3])
        #expect(rolledBack.status == 1)
        #expect(errorCode(rolledBack) == "baseMismatch", "\(rolledBack.stdout)")
        #expect(
            errorMessage(rolledBack).contains(p3) && errorMessage(rolledBack).contains(p2),
            "\(errorMessage(rolledBack))")
        let list = try Self.run("blocksnap", ["list", "--store", store, "--item", "vm1", "--json"], environment: env)
        let points = ((list.json?["items"] as? [[String: Any]])?.first?["points"] as? [[String: Any]])?.compactMap {
            $0["point"] as? String
        }
        #expect(points == [p1, p2], "a refused backup committed nothing")

        let read = try backup(["--changed", changedC, "--base", p3, "--on-base-mismatch", "read"])
        #expect(read.status == 0, "\(read.stderr)")
        let p4 = try #require(read.json?["point"] as? String)
        let mismatches = try #require(read.json?["baseMismatches"] as? [[String: Any]])
        #expect(mismatches.count == 1)
        #expect(
            mismatches.first?["disk"] as? Int == 0 && mismatches.first?["base"] as? String == p3
                && mismatches.first?["latest"] as? String == p2)
        for (point, bytes) in [(p4, disk), (p2, diskAtP2)] {
            let restored = "\(dir)/restored-\(point).img"
            let restore = try Self.run(
                "blocksnap", ["restore", "--store", store, "--item", "vm1", "--point", point, "--to", restored],
                environment: env)
            #expect(restore.status == 0, "\(restore.stderr)")
            #expect(
                try Data(contentsOf: URL(fileURLWithPath: restored)) == Data(bytes),
                "point \(point) restores wrong bytes")
        }
    }

    /// S45 from the command line: `list` names a damaged point under `damaged` and keeps the
    /// others; backup and expire refuse with `damaged`; an intact point still restores.
    @Test func listNamesADamagedPointAndOperationsAroundItRefuse() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let env = ["BLOCKSNAP_PASSPHRASE": "example passphrase"]
        let store = "\(dir)/store"
        let image = "\(dir)/disk.img"
        var disk = [UInt8](repeating: 0, count: 1 << 20)
        _ = scribble(&disk, at: 4096, count: 500_000, seed: 45)
        try write(disk, to: image)
        #expect(
            try Self.run("blocksnap", ["init", "--store", store, "--block-size", "16KiB"], environment: env).status == 0
        )
        func backup() throws -> Run {
            try Self.run(
                "blocksnap", ["backup", "--store", store, "--item", "vm1", "--disk", image, "--json"], environment: env)
        }
        let p1 = try #require(try backup().json?["point"] as? String)
        let diskAtP1 = disk
        _ = scribble(&disk, at: 600_000, count: 10_000, seed: 5)
        try write(disk, to: image)
        let p2 = try #require(try backup().json?["point"] as? String)
        let root = "\(store)/roots/points/vm1/\(p2)"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: root))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: root))

        let list = try Self.run("blocksnap", ["list", "--store", store, "--json"], environment: env)
        #expect(list.status == 0, "\(list.stderr)")
        let item = try #require((list.json?["items"] as? [[String: Any]])?.first)
        #expect(item["item"] as? String == "vm1")
        #expect((item["points"] as? [[String: Any]])?.compactMap { $0["point"] as? String } == [p1])
        let damaged = try #require(item["damaged"] as? [[String: Any]])
        #expect(damaged.compactMap { $0["point"] as? String } == [p2])
        #expect((damaged.first?["reason"] as? String)?.isEmpty == false)
        let text = try Self.run("blocksnap", ["list", "--store", store], environment: env)
        #expect(text.stdout.contains("DAMAGED \(p2)"), "\(text.stdout)")

        let refused = try backup()
        #expect(refused.status == 1 && errorCode(refused) == "damaged", "\(refused.stdout)")
        #expect(errorMessage(refused).contains(p2))
        let expire = try Self.run(
            "blocksnap", ["expire", "--store", store, "--item", "vm1", "--point", p1, "--json"], environment: env)
        #expect(expire.status == 1 && errorCode(expire) == "damaged", "\(expire.stdout)")

        let restored = "\(dir)/restored.img"
        let restore = try Self.run(
            "blocksnap", ["restore", "--store", store, "--item", "vm1", "--point", p1, "--to", restored],
            environment: env)
        #expect(restore.status == 0, "\(restore.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: restored)) == Data(diskAtP1))
    }

    @Test func theTourRunsAndProvesItsRestoreBitExact() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let run = try Self.run("tour", ["--size-mib", "48", "--dir", "\(dir)/tour"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("bit-exact"))
        #expect(run.stdout.contains("verify: clean"))
        #expect(run.stdout.contains("Expire the first (full) point"))
    }

    @Test func theVMAgentSimulatesWeeksAndReadsAFileFromAnOldPoint() throws {
        let run = try Self.run("vm-agent", [])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("fileSystem"), "a failed database freeze shows as file-system-consistent")
        #expect(run.stdout.contains("database failed to freeze"))
        #expect(run.stdout.contains("matches what the VM held that day"))
        #expect(run.stdout.contains("weekly: 4 weeks"))
    }

    @Test func thePolicySimulatorRunsTwoYears() throws {
        let run = try Self.run("policy-simulator", [])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("yearly"))
        #expect(!run.stdout.isEmpty)
    }
}
