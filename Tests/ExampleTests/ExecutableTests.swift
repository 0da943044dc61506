import Foundation
import Testing

/// Runs the built example executables as a person would and checks what they print
/// (as swift-argument-parser tests its examples).
@Suite(.serialized) struct ExecutableTests {
    /// The directory holding the built products (next to the test bundle).
    static var productsDirectory: URL {
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        while url.pathComponents.count > 1 && !FileManager.default.fileExists(atPath: url.appendingPathComponent("blocksnap").path) {
            url.deleteLastPathComponent()
        }
        return url
    }

    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
        var json: [String: Any]? {
            (try? JSONSerialization.jsonObject(with: Data(stdout.utf8))) as? [String: Any]
        }
    }

    @discardableResult
    static func run(_ tool: String, _ arguments: [String], environment: [String: String] = [:]) throws -> Run {
        let process = Process()
        process.executableURL = productsDirectory.appendingPathComponent(tool)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
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
        return Run(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
    }

    func scratch() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("blocksnap-exe-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func theCommandBacksUpDiffsRestoresAndPrunesWithItsJSONContract() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let env = ["BLOCKSNAP_PASSPHRASE": "example passphrase"]
        let store = "\(dir)/store"
        var disk = [UInt8](repeating: 0, count: 2 << 20)
        for i in stride(from: 0, to: 1 << 20, by: 3) { disk[i] = UInt8(truncatingIfNeeded: i &* 31) }
        let image = "\(dir)/disk.img"
        FileManager.default.createFile(atPath: image, contents: Data(disk))

        let initRun = try Self.run("blocksnap", ["init", "--store", store, "--block-size", "16KiB", "--json"], environment: env)
        #expect(initRun.status == 0, "\(initRun.stderr)")
        #expect(initRun.json?["blockSize"] as? Int == 16384)

        let first = try Self.run("blocksnap", ["backup", "--store", store, "--item", "vm1", "--disk", image, "--time", "2026-03-01T02:00:00Z", "--json"], environment: env)
        #expect(first.status == 0, "\(first.stderr)")
        let firstPoint = try #require(first.json?["point"] as? String)
        #expect(first.json?["kind"] as? String == "full")
        #expect(first.json?["consistency"] as? String == "crash")
        let disks = try #require(first.json?["disks"] as? [[String: Any]])
        #expect(disks.first?["sizeBytes"] as? Int == 2 << 20)
        #expect(disks.first?["changedBlocks"] as? Int == 64)  // 1 MiB of data in 16 KiB blocks

        // Change 5 bytes at 1,500,000 and tell the command through --changed.
        for i in 0..<5 { disk[1_500_000 + i] = 0xEE }
        FileManager.default.createFile(atPath: image, contents: Data(disk))
        let changed = "\(dir)/changed.json"
        try Data(#"{"disks":[{"disk":0,"ranges":[[1500000,5]]}]}"#.utf8).write(to: URL(fileURLWithPath: changed))
        let second = try Self.run("blocksnap", ["backup", "--store", store, "--item", "vm1", "--disk", image, "--changed", changed, "--time", "2026-03-02T02:00:00Z", "--json"], environment: env)
        let secondPoint = try #require(second.json?["point"] as? String)
        #expect(second.json?["kind"] as? String == "incremental")

        let list = try Self.run("blocksnap", ["list", "--store", store, "--json"], environment: env)
        let items = try #require(list.json?["items"] as? [[String: Any]])
        let points = try #require(items.first?["points"] as? [[String: Any]])
        #expect(points.map { $0["point"] as? String } == [firstPoint, secondPoint])
        #expect(points.map { $0["introducedBlocks"] as? Int } == [64, 1])
        #expect(points.allSatisfy { $0.keys.contains("expires") })

        let diff = try Self.run("blocksnap", ["diff", "--store", store, "--item", "vm1", "--from", firstPoint, "--to", secondPoint, "--exact", "--json"], environment: env)
        #expect(diff.json?["blockSize"] as? Int == 16384)
        let ranges = try #require(diff.json?["ranges"] as? [[String: Any]])
        // 1,500,000 … 1,500,004 lies in the page 1,499,648 … 1,500,159.
        #expect(ranges.count == 1)
        #expect(ranges.first?["start"] as? Int == 1_499_648)
        #expect(ranges.first?["end"] as? Int == 1_500_159)
        #expect(ranges.first?["kind"] as? String == "changed")
        #expect(diff.json?.keys.contains("nextMarker") == true)

        let restored = "\(dir)/restored.img"
        let restore = try Self.run("blocksnap", ["restore", "--store", store, "--item", "vm1", "--point", firstPoint, "--to", restored], environment: env)
        #expect(restore.status == 0, "\(restore.stderr)")
        var original = disk
        for i in 0..<5 { original[1_500_000 + i] = 0 }
        #expect(try Data(contentsOf: URL(fileURLWithPath: restored)) == Data(original))

        let policy = "\(dir)/policy.json"
        try Data(#"{"keepLast": 1}"#.utf8).write(to: URL(fileURLWithPath: policy))
        let prune = try Self.run("blocksnap", ["prune", "--store", store, "--item", "vm1", "--policy", policy, "--dry-run", "--json"], environment: env)
        #expect((prune.json?["expire"] as? [[String: Any]])?.map { $0["point"] as? String } == [firstPoint])
        #expect((prune.json?["keep"] as? [[String: Any]])?.first?["reasons"] as? [String] != nil)
        #expect(prune.json?["freedBytes"] as? Int ?? 0 > 0)

        let verify = try Self.run("blocksnap", ["verify", "--store", store, "--json"], environment: env)
        #expect(verify.status == 0)
        #expect(verify.json?["ok"] as? Bool == true)

        let wrong = try Self.run("blocksnap", ["list", "--store", store, "--json"], environment: ["BLOCKSNAP_PASSPHRASE": "wrong"])
        #expect(wrong.status != 0)
        let error = try #require(wrong.json?["error"] as? [String: Any])
        #expect(error["code"] as? String == "wrongPassphrase")
        #expect(!wrong.stderr.isEmpty && wrong.stderr.split(separator: "\n").count == 1)
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
