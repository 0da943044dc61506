import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The built `blocksnap` on store directories that something else tampered with: it ends with
/// exit status 1 and a JSON error, never a hang or a signal.
@Suite struct HostileStoreCLITests {
    /// How long a run may take before the test calls it hung: generous, since only returning at
    /// all is checked, never speed.
    static let hangBound: Duration = .seconds(120)

    let passphrase = ["BLOCKSNAP_PASSPHRASE": "hostile cli passphrase"]

    func scratch() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
            "blocksnap-hostile-\(UUID().uuidString)"
        )
        .path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Runs `blocksnap` with `arguments`, recording an issue when it does not exit within
    /// ``hangBound``; then the FIFO at `fifo` gets a writer that closes at once, which ends a
    /// read blocked on it, so the run ends and the test reports the hang instead of hanging.
    func runBounded(
        _ arguments: [String], environment: [String: String] = [:], unblocking fifo: String? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> ExecutableTests.Run {
        let run = Task {
            try await withCheckedThrowingContinuation { continuation in
                DispatchQueue.global().async {
                    continuation.resume(
                        with: Result { try ExecutableTests.run("blocksnap", arguments, environment: environment) })
                }
            }
        }
        let returned = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                _ = await run.result
                return true
            }
            group.addTask {
                try? await Task.sleep(for: Self.hangBound)
                return false
            }
            let first = await group.next() ?? false
            if !first, let fifo {
                let writer = open(fifo, O_WRONLY | O_NONBLOCK)
                if writer >= 0 { close(writer) }
            }
            group.cancelAll()
            return first
        }
        if !returned {
            Issue.record("blocksnap \(arguments.joined(separator: " ")) hung", sourceLocation: sourceLocation)
        }
        return try await run.value
    }

    /// Expects a run that ended with exit status 1 (not a signal) and a JSON error of `code`.
    func expectJSONError(
        _ run: ExecutableTests.Run, code: String, mentioning text: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(run.status == 1, "status \(run.status); stderr: \(run.stderr)", sourceLocation: sourceLocation)
        let error = run.json?["error"] as? [String: Any]
        #expect(error?["code"] as? String == code, "stdout: \(run.stdout)", sourceLocation: sourceLocation)
        #expect(
            (error?["message"] as? String)?.contains(text) == true, "stdout: \(run.stdout)",
            sourceLocation: sourceLocation)
    }

    @Test func listOnAStoreWhoseConfigIsAFIFOExitsWithAJSONError() async throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = "\(dir)/store"
        #expect(try ExecutableTests.run("blocksnap", ["init", "--store", store, "--no-encryption"]).status == 0)
        let config = "\(store)/config"
        try FileManager.default.removeItem(atPath: config)
        #expect(mkfifo(config, 0o644) == 0)

        let run = try await runBounded(["list", "--store", store, "--json"], unblocking: config)
        expectJSONError(run, code: "corruptObject", mentioning: "a FIFO")
    }

    @Test func aSparseTebibyteKeyFileEndsInAnErrorNotASignal() async throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = "\(dir)/store"
        #expect(try ExecutableTests.run("blocksnap", ["init", "--store", store], environment: passphrase).status == 0)
        let keys = try FileManager.default.contentsOfDirectory(atPath: "\(store)/keys")
        let intact = try #require(keys.first)
        let huge = "\(store)/keys/" + String(repeating: "f", count: 64)
        try makeSparseTebibyte(huge)

        // Beside the intact key, the huge one is skipped.
        let beside = try await runBounded(["list", "--store", store, "--json"], environment: passphrase)
        #expect(beside.status == 0, "stderr: \(beside.stderr)")

        // Alone, it is refused: no intact key is left, and the one left is beyond the limit.
        try FileManager.default.removeItem(atPath: "\(store)/keys/\(intact)")
        let alone = try await runBounded(["list", "--store", store, "--json"], environment: passphrase)
        expectJSONError(alone, code: "limitExceeded", mentioning: "\(1 << 40)")
    }

    @Test func aBackupIntoAStoreWhoseDataFolderIsALinkWritesNothingOutside() async throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = "\(dir)/store"
        let outside = "\(dir)/elsewhere"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        #expect(try ExecutableTests.run("blocksnap", ["init", "--store", store, "--no-encryption"]).status == 0)
        try? FileManager.default.removeItem(atPath: "\(store)/data")
        try FileManager.default.createSymbolicLink(atPath: "\(store)/data", withDestinationPath: outside)
        var disk = [UInt8](repeating: 0, count: 1 << 20)
        for i in stride(from: 0, to: disk.count, by: 5) { disk[i] = UInt8(truncatingIfNeeded: i &* 31) }
        let image = "\(dir)/disk.img"
        #expect(FileManager.default.createFile(atPath: image, contents: Data(disk)))

        let run = try await runBounded(["backup", "--store", store, "--item", "vm1", "--disk", image, "--json"])
        // RecoveryChain reports a store failure during a backup as its own `storeError`, with
        // the store's message.
        expectJSONError(run, code: "storeError", mentioning: "a symbolic link")
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside).isEmpty)
    }

    /// A sparse file of 1 TiB at `path`: no disk space, but `stat` says 1 TiB.
    func makeSparseTebibyte(_ path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        defer { close(fd) }
        guard ftruncate(fd, off_t(1) << 40) == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
    }
}
