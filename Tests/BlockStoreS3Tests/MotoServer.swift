import BlockStore
import BlockStoreS3
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A `moto_server` (PyPI `moto[server]`) on 127.0.0.1 and a free port, for the S3 tests.
///
/// Started as `PYTHON -m moto.server` with the interpreter that has moto installed (resolved
/// once, so a pyenv shim does not stand between us and the process we kill; the server exits by
/// itself if the test process dies), or as `moto_server` from `PATH`. ``stop()`` kills it and
/// reaps it; ``kill()`` and ``restart()`` simulate a crash (moto keeps its state in memory: a
/// restarted server has no buckets).
actor MotoServer {
    /// How to launch moto, or nil when it is not installed.
    static let launcher: (executable: String, arguments: [String])? = findMoto()

    /// Whether moto can be started here.
    static var isInstalled: Bool { launcher != nil }

    /// Why the S3 tests against moto are skipped.
    static let notInstalledMessage: Comment =
        "moto_server is not installed (no python3 with moto, no moto_server on PATH): run scripts/ensure-deps or pip install 'moto[server]'"

    /// The server shared by one suite (set by ``SharedMotoTrait``).
    @TaskLocal static var shared: MotoServer?

    /// The port the server listens on (kept across restarts).
    let port: Int
    private let extraEnvironment: [String: String]
    private var process: Process?
    private var bucketCounter = 0

    /// The endpoint URL, `http://127.0.0.1:PORT`.
    nonisolated var endpoint: URL { URL(string: "http://127.0.0.1:\(port)")! }

    private init(port: Int, extraEnvironment: [String: String]) {
        self.port = port
        self.extraEnvironment = extraEnvironment
    }

    /// Starts a server and waits until it accepts connections.
    /// - Parameter extraEnvironment: Variables for moto, e.g. `INITIAL_NO_AUTH_ACTION_COUNT`.
    static func start(extraEnvironment: [String: String] = [:]) async throws -> MotoServer {
        var lastError: (any Error)? = nil
        for _ in 0..<3 {
            let server = MotoServer(
                port: try freeLoopbackPort(), extraEnvironment: extraEnvironment)
            do {
                try await server.launch()
                return server
            } catch {
                await server.stop()
                lastError = error
            }
        }
        throw lastError ?? MotoError("moto did not start")
    }

    private func launch() async throws {
        guard let launcher = Self.launcher else {
            throw MotoError(Self.notInstalledMessage.rawValue)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: launcher.executable)
        process.arguments = launcher.arguments + ["-H", "127.0.0.1", "-p", String(port)]
        var environment = ProcessInfo.processInfo.environment
        for (name, value) in extraEnvironment { environment[name] = value }
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        self.process = process
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if !process.isRunning {
                throw MotoError(
                    "moto exited with status \(process.terminationStatus) on port \(port)")
            }
            if Self.canConnect(port: port) { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw MotoError("moto did not answer on port \(port) within 60 s")
    }

    /// Kills the server (SIGKILL) and reaps it; idempotent.
    func stop() {
        guard let process else { return }
        self.process = nil
        if process.isRunning { sendSignal(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// Kills the server abruptly, like a crash.
    func kill() { stop() }

    /// Starts a fresh server on the same port (no buckets: moto keeps state in memory).
    func restart() async throws {
        stop()
        try await launch()
    }

    /// Stops (SIGSTOP) or continues (SIGCONT) the server process: it keeps its connections and
    /// state but answers nothing while stopped.
    func pause(_ paused: Bool) {
        guard let process else { return }
        sendSignal(process.processIdentifier, paused ? SIGSTOP : SIGCONT)
    }

    /// A bucket name no other test of this server uses.
    func uniqueBucketName(_ hint: String) -> String {
        bucketCounter += 1
        let clean = hint.lowercased().filter { $0.isLetter || $0.isNumber }.prefix(30)
        return "t\(bucketCounter)-\(clean)-\(UInt32.random(in: 0...UInt32.max))"
    }

    /// A configuration for `bucket` on this server (path style, test credentials, short timeouts).
    nonisolated func configuration(bucket: String, keyPrefix: String = "") throws -> S3Configuration
    {
        var configuration = try S3Configuration(
            endpoint: endpoint, region: "us-east-1", bucket: bucket, keyPrefix: keyPrefix,
            credentials: S3Credentials(accessKeyID: "testing", secretAccessKey: "testing"),
            addressingStyle: .path, createIsAtomic: true)
        configuration.timeouts = S3Timeouts(
            connect: .seconds(2), read: .seconds(10), request: .seconds(60))
        configuration.retryPolicy = S3RetryPolicy(
            maxAttempts: 5, baseDelay: .milliseconds(50), maxDelay: .milliseconds(500))
        return configuration
    }

    static func canConnect(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return result == 0
    }

    /// A loopback port that was free a moment ago (bound to port 0 and released).
    static func freeLoopbackPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw MotoError("socket() failed: errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Bool in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw MotoError("bind() failed: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// `python -m moto.server`, plus a thread that exits when the test process dies (the
    /// server's parent changes), so that a crashed test run leaks no server; and conditional
    /// writes (`If-None-Match`) made atomic, as they are on AWS: moto 5.2 checks for the key and
    /// then stores it without a lock, so under concurrent requests two creators of one key can
    /// both win (seen once in 16 concurrent creates). A lock around those requests only.
    static let orphanGuardedMoto = """
        import os, runpy, sys, threading, time
        import werkzeug.serving
        parent = os.getppid()
        def watch():
            while os.getppid() == parent:
                time.sleep(0.5)
            os._exit(0)
        threading.Thread(target=watch, daemon=True).start()
        conditional = threading.Lock()
        plain_run_simple = werkzeug.serving.run_simple
        def run_simple(hostname, port, application, *args, **kwargs):
            def guarded(environ, start_response):
                if environ.get("HTTP_IF_NONE_MATCH") is None:
                    return application(environ, start_response)
                with conditional:
                    return list(application(environ, start_response))
            return plain_run_simple(hostname, port, guarded, *args, **kwargs)
        werkzeug.serving.run_simple = run_simple
        sys.argv = ["moto_server"] + sys.argv[1:]
        runpy.run_module("moto.server", run_name="__main__", alter_sys=True)
        """

    private static func findMoto() -> (executable: String, arguments: [String])? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        let dirs = path.split(separator: ":").map(String.init)
        func which(_ name: String) -> String? {
            dirs.map { $0 + "/" + name }.first { FileManager.default.isExecutableFile(atPath: $0) }
        }
        // The interpreter that can import moto: its real path, not a shim.
        for python in ["python3", "python"] {
            guard let candidate = which(python) else { continue }
            let probe = Process()
            probe.executableURL = URL(fileURLWithPath: candidate)
            probe.arguments = ["-c", "import sys, moto.server; print(sys.executable)"]
            let pipe = Pipe()
            probe.standardOutput = pipe
            probe.standardError = FileHandle.nullDevice
            guard (try? probe.run()) != nil else { continue }
            let output = pipe.fileHandleForReading.readDataToEndOfFile()
            probe.waitUntilExit()
            let executable = String(decoding: output, as: UTF8.self).trimmingCharacters(
                in: .whitespacesAndNewlines)
            if probe.terminationStatus == 0, !executable.isEmpty {
                return (executable, ["-c", orphanGuardedMoto])
            }
        }
        return which("moto_server").map { ($0, []) }
    }
}

/// Sends `signal` to process `pid`.
func sendSignal(_ pid: Int32, _ signal: Int32) {
    _ = kill(pid, signal)
}

/// A moto fixture failure.
struct MotoError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Starts one moto server for a whole suite, shares it through ``MotoServer/shared`` and kills
/// it when the suite ends.
struct SharedMotoTrait: SuiteTrait, TestScoping {
    var isRecursive: Bool { false }

    func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        guard MotoServer.isInstalled, MotoServer.shared == nil else {
            try await function()
            return
        }
        let server = try await MotoServer.start()
        do {
            try await MotoServer.$shared.withValue(server) { try await function() }
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }
}

extension Trait where Self == SharedMotoTrait {
    /// One moto server for the suite.
    static var sharedMoto: Self { Self() }
}

/// Runs `body` with a backend on a fresh bucket of `server` (the suite's shared server by
/// default) and shuts the backend down afterwards.
func withMotoBackend<T>(
    _ hint: String = #function,
    server: MotoServer? = nil,
    keyPrefix: String = "store",
    configure: (inout S3Configuration) -> Void = { _ in },
    _ body: (S3Backend) async throws -> T
) async throws -> T {
    let server = try #require(server ?? MotoServer.shared, "no moto server in scope")
    var configuration = try server.configuration(
        bucket: await server.uniqueBucketName(hint), keyPrefix: keyPrefix)
    configure(&configuration)
    return try await S3Backend.withBackend(configuration: configuration) { backend in
        try await backend.createBucket()
        return try await body(backend)
    }
}
