import BlockStoreS3
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A `moto_server` (PyPI `moto[server]`) on 127.0.0.1 and a free port: an S3 service in memory,
/// for tests and benchmarks of `S3Backend`.
///
/// The server runs as a child process with the interpreter that has moto installed (see
/// ``launcher``), or as `moto_server` from `PATH`. It exits by itself when the process that
/// started it dies, so a crashed test run leaks no server. ``stop()`` kills and reaps it;
/// ``kill()`` and ``restart()`` simulate a crash (moto keeps its state in memory: a restarted
/// server has no buckets); ``pause(_:)`` freezes it.
///
/// ```swift
/// let server = try await MotoServer.start()
/// let configuration = try server.configuration(bucket: await server.uniqueBucketName("demo"))
/// // … run S3Backend against it …
/// await server.stop()
/// ```
public actor MotoServer {
    /// The port the server listens on (kept across restarts).
    public nonisolated let port: Int
    private let extraEnvironment: [String: String]
    private let killsAtExit: Bool
    private var process: Process?
    private var bucketCounter = 0

    /// The endpoint URL, `http://127.0.0.1:PORT`.
    public nonisolated var endpoint: URL { URL(string: "http://127.0.0.1:\(port)")! }

    private init(port: Int, extraEnvironment: [String: String], killsAtExit: Bool) {
        self.port = port
        self.extraEnvironment = extraEnvironment
        self.killsAtExit = killsAtExit
    }

    // MARK: - Starting and stopping

    /// How many free ports ``start(extraEnvironment:)`` tries: another process may take a port
    /// between ``Loopback/freePort()`` and moto binding it.
    static let startAttemptsMax = 3
    /// How long a starting server has to accept connections: moto imports for several seconds on
    /// a loaded machine.
    static let startTimeout: Duration = .seconds(60)
    /// How often a starting server is probed.
    static let startPollInterval: Duration = .milliseconds(50)

    /// Starts a server and waits until it accepts connections.
    /// - Parameter extraEnvironment: Variables for moto, e.g. `INITIAL_NO_AUTH_ACTION_COUNT`.
    /// - Throws: ``MotoError`` when moto is not installed or does not come up.
    public static func start(extraEnvironment: [String: String] = [:]) async throws -> MotoServer {
        try await start(extraEnvironment: extraEnvironment, killsAtExit: false)
    }

    private static func start(
        extraEnvironment: [String: String], killsAtExit: Bool
    ) async throws -> MotoServer {
        var lastError: (any Error)? = nil
        for _ in 0..<startAttemptsMax {
            let server = MotoServer(
                port: try Loopback.freePort(), extraEnvironment: extraEnvironment,
                killsAtExit: killsAtExit)
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

    /// Runs `body` with a new server and stops the server afterwards, also when `body` throws.
    /// - Parameters:
    ///   - extraEnvironment: Variables for moto, e.g. `INITIAL_NO_AUTH_ACTION_COUNT`.
    ///   - body: Receives the running server.
    /// - Returns: What `body` returns.
    /// - Throws: ``MotoError`` when the server does not start; what `body` throws.
    public static func withServer<Result>(
        extraEnvironment: [String: String] = [:],
        _ body: (MotoServer) async throws -> Result
    ) async throws -> Result {
        let server = try await start(extraEnvironment: extraEnvironment)
        do {
            let result = try await body(server)
            await server.stop()
            return result
        } catch {
            await server.stop()
            throw error
        }
    }

    /// The one server of this process, started on the first call and shared by every later one
    /// (for benchmarks and tools that run one process against one server).
    ///
    /// It is killed when the process exits normally, and exits by itself should the process die
    /// without running its exit handlers. A failed start is not remembered: the next call tries
    /// again.
    /// - Throws: ``MotoError`` when the server does not start.
    public static func processWide() async throws -> MotoServer {
        let task = processWideServer.withLock { task in
            if let task { return task }
            let started = Task { try await MotoServer.start(extraEnvironment: [:], killsAtExit: true) }
            task = started
            return started
        }
        do {
            return try await task.value
        } catch {
            processWideServer.withLock { if $0 == task { $0 = nil } }
            throw error
        }
    }

    private static let processWideServer = Mutex<Task<MotoServer, any Error>?>(nil)

    /// The process id the exit handler kills (0: none).
    private static let processIDKilledAtExit = Atomic<Int32>(0)
    /// Whether the exit handler is registered.
    private static let exitHandlerRegistered = Atomic<Bool>(false)

    private func launch() async throws {
        guard let launcher = Self.launcher else {
            throw MotoError(Self.notInstalledMessage)
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
        if killsAtExit { Self.killAtExit(process.processIdentifier) }
        let deadline = ContinuousClock.now + Self.startTimeout
        while ContinuousClock.now < deadline {
            if !process.isRunning {
                throw MotoError(
                    "moto exited with status \(process.terminationStatus) on port \(port)")
            }
            if Loopback.acceptsConnections(onPort: port) { return }
            try await Task.sleep(for: Self.startPollInterval)
        }
        throw MotoError("moto did not answer on port \(port) within \(Self.startTimeout)")
    }

    private static func killAtExit(_ pid: Int32) {
        processIDKilledAtExit.store(pid, ordering: .sequentiallyConsistent)
        guard
            exitHandlerRegistered.compareExchange(
                expected: false, desired: true, ordering: .sequentiallyConsistent
            ).exchanged
        else { return }
        atexit {
            let pid = MotoServer.processIDKilledAtExit.load(ordering: .sequentiallyConsistent)
            if pid > 0 { sendSignal(pid, SIGKILL) }
        }
    }

    /// Kills the server (SIGKILL) and reaps it; idempotent.
    public func stop() {
        guard let process else { return }
        self.process = nil
        if process.isRunning { sendSignal(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// Kills the server abruptly, like a crash.
    public func kill() { stop() }

    /// Starts a fresh server on the same port (no buckets: moto keeps state in memory).
    /// - Throws: ``MotoError`` when the new server does not come up.
    public func restart() async throws {
        stop()
        try await launch()
    }

    /// Stops (SIGSTOP) or continues (SIGCONT) the server process: it keeps its connections and
    /// state but answers nothing while stopped.
    public func pause(_ paused: Bool) {
        guard let process else { return }
        sendSignal(process.processIdentifier, paused ? SIGSTOP : SIGCONT)
    }

    // MARK: - Connecting

    /// A bucket name no other caller of this server has had, with `hint` (letters and digits,
    /// at most 30) in it for logs.
    public func uniqueBucketName(_ hint: String) -> String {
        bucketCounter += 1
        let clean = hint.lowercased().filter { $0.isLetter || $0.isNumber }.prefix(30)
        return "t\(bucketCounter)-\(clean)-\(UInt32.random(in: 0...UInt32.max))"
    }

    /// The timeouts of ``configuration(bucket:keyPrefix:timeouts:retryPolicy:)`` by default:
    /// short, so a test against a stopped server fails in seconds.
    public static let testTimeouts = S3Timeouts(
        connect: .seconds(2), read: .seconds(10), request: .seconds(60))
    /// The retry policy of ``configuration(bucket:keyPrefix:timeouts:retryPolicy:)`` by default:
    /// five quick attempts.
    public static let testRetryPolicy = S3RetryPolicy(
        maxAttempts: 5, baseDelay: .milliseconds(50), maxDelay: .milliseconds(500))

    /// A configuration for `bucket` on this server: path-style addressing, moto's test
    /// credentials, atomic creates.
    /// - Parameters:
    ///   - bucket: The bucket (see ``uniqueBucketName(_:)``); it is not created.
    ///   - keyPrefix: The prefix of every key; empty for none.
    ///   - timeouts: The timeouts; short by default (``testTimeouts``).
    ///   - retryPolicy: The retry policy; quick by default (``testRetryPolicy``).
    /// - Throws: What `S3Configuration.init(endpoint:region:bucket:keyPrefix:credentials:addressingStyle:createIsAtomic:)`
    ///   throws for an invalid bucket or prefix.
    public nonisolated func configuration(
        bucket: String, keyPrefix: String = "", timeouts: S3Timeouts = MotoServer.testTimeouts,
        retryPolicy: S3RetryPolicy = MotoServer.testRetryPolicy
    ) throws -> S3Configuration {
        var configuration = try S3Configuration(
            endpoint: endpoint, region: "us-east-1", bucket: bucket, keyPrefix: keyPrefix,
            credentials: S3Credentials(accessKeyID: "testing", secretAccessKey: "testing"),
            addressingStyle: .path, createIsAtomic: true)
        configuration.timeouts = timeouts
        configuration.retryPolicy = retryPolicy
        return configuration
    }
}

/// Sends `signal` to process `pid` (a free function: inside ``MotoServer``, `kill` is the
/// actor's own method).
private func sendSignal(_ pid: Int32, _ signal: Int32) {
    _ = kill(pid, signal)
}
