import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A `CrashHelper` child process whose standard output and error go to files, read while it runs.
final class HelperProcess {
    /// What the test calls it in messages.
    let name: String
    private let process: Process
    private let outputPath: String
    private let errorPath: String

    /// `CrashHelper` beside the test bundle (`.build/<configuration>/`), or where the environment
    /// variable `BLOCKSNAP_CRASH_HELPER` says.
    static func helperPath() -> String? {
        if let path = ProcessInfo.processInfo.environment["BLOCKSNAP_CRASH_HELPER"] { return path }
        let fm = FileManager.default
        var directories = Bundle.allBundles.filter { $0.bundlePath.hasSuffix(".xctest") }.map {
            $0.bundleURL.deletingLastPathComponent()
        }
        var executable = URL(
            fileURLWithPath: CommandLine.arguments[0], relativeTo: URL(fileURLWithPath: fm.currentDirectoryPath))
        for _ in 0..<4 {
            executable = executable.deletingLastPathComponent()
            directories.append(executable)
        }
        return directories.map { $0.appendingPathComponent("CrashHelper").path }.first {
            fm.isExecutableFile(atPath: $0)
        }
    }

    /// Starts `executable` with `arguments`, the test's environment plus `environment`, its output
    /// in `directory`.
    init(
        _ name: String, executable: String, arguments: [String], environment: [String: String],
        directory: URL
    ) throws {
        self.name = name
        outputPath = directory.appendingPathComponent("\(name).out").path
        errorPath = directory.appendingPathComponent("\(name).err").path
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errorPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        process.environment = merged
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errorPath))
        try process.run()
        self.process = process
    }

    /// Everything it printed on standard output so far.
    var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

    /// Everything it printed on standard error so far.
    var complaint: String { (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? "" }

    /// Whether it still runs.
    var isRunning: Bool { process.isRunning }

    /// The lines of its output that start with `verb`, split into words (`verb` dropped).
    func lines(_ verb: String) -> [[String]] {
        output.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
            .filter { $0.first == verb }.map { Array($0.dropFirst()) }
    }

    /// Waits until it exits and returns its exit status; a hang guard kills it (SIGKILL) after
    /// `limit`, so that a deadlock fails the test instead of hanging the run.
    func wait(killingAfter limit: Duration = .seconds(600)) async -> Int32 {
        let deadline = ContinuousClock.now + limit
        while process.isRunning {
            if ContinuousClock.now >= deadline { _ = kill(process.processIdentifier, SIGKILL) }
            try? await Task.sleep(for: .milliseconds(50))
        }
        process.waitUntilExit()
        return process.terminationReason == .exit ? process.terminationStatus : -process.terminationStatus
    }

    /// Kills it (SIGKILL) if it still runs; for cleanup after a failure.
    func killIfRunning() {
        if process.isRunning { _ = kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}
