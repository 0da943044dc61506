import BlockStore
import BlockStoreS3
import BlockStoreS3Testing
import BlockStoreTesting
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Failures: injected 5xx and throttling, lost responses, bad credentials, missing services,
/// and the server stopped, killed and restarted in the middle of uploads.
@Suite(.sharedMoto, .motoInstalled)
struct S3FaultTests {
    /// A configuration on a fresh bucket of the shared server that retries hard and fast.
    func patientConfiguration(_ hint: String = #function, attempts: Int = 10) async throws
        -> S3Configuration
    {
        let server = try #require(MotoServer.shared)
        var configuration = try server.configuration(bucket: await server.uniqueBucketName(hint))
        configuration.retryPolicy = S3RetryPolicy(
            maxAttempts: attempts, baseDelay: .milliseconds(5), maxDelay: .milliseconds(50))
        return configuration
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func randomServerErrorsAndLostResponsesAreRetried(seed: UInt64) async throws {
        var configuration = try await patientConfiguration("random\(seed)")
        configuration.multipartThresholdBytes = 5 * 1024 * 1024
        configuration.multipartPartSizeBytes = 5 * 1024 * 1024
        let generator = Mutex(SplitMix64(seed: seed))
        let faults: [InjectedFault] = [
            .status(500, code: "InternalError"), .status(503, code: "SlowDown"),
            .status(502, code: "BadGateway"),
            .connectionError, .loseResponse,
        ]
        try await S3Backend.withFaults(
            configuration: configuration,
            decide: { request, _ in
                generator.withLock { g in
                    // CreateMultipartUpload is left alone: a lost response there leaves an orphaned
                    // upload (harmless, but this test checks that nothing lingers).
                    guard request.operation != "CreateMultipartUpload",
                        Double.random(in: 0..<1, using: &g) < 0.25
                    else {
                        return .none
                    }
                    return faults.randomElement(using: &g)!
                }
            }
        ) { backend, transport in
            try await backend.createBucket()
            let big = SplitMix64.bytes(count: 11 * 1024 * 1024, seed: seed)
            try await backend.put("packs/big", data: big)
            for i in 0..<20 {
                try await backend.put(ObjectKey(stringLiteral: "small/\(i)"), data: [UInt8(i)])
            }
            #expect(try await backend.create("locks/one", data: [7]) == true, "seed \(seed)")
            #expect(try await backend.create("locks/one", data: [8]) == false, "seed \(seed)")
            #expect(try await backend.get("packs/big") == big, "seed \(seed)")
            #expect(
                try await backend.get("packs/big", range: 100..<200) == Array(big[100..<200]),
                "seed \(seed)")
            #expect(
                try await backend.listAll(prefix: "small/", pageSize: 7).count == 20, "seed \(seed)"
            )
            try await backend.deleteMany((0..<10).map { ObjectKey(stringLiteral: "small/\($0)") })
            try await backend.delete("small/10")
            #expect(try await backend.listAll(prefix: "small/").count == 9, "seed \(seed)")
            #expect(try await backend.get("locks/one") == [7], "seed \(seed)")
            #expect(!transport.injectedFaults.isEmpty, "seed \(seed)")
            #expect(backend.statistics.retryCount >= transport.injectedFaults.count, "seed \(seed)")
        }
    }

    @Test func lostResponsesOfCreateAndCompleteAreRecognised() async throws {
        var configuration = try await patientConfiguration()
        configuration.multipartThresholdBytes = 5 * 1024 * 1024
        configuration.multipartPartSizeBytes = 5 * 1024 * 1024
        let lost = Mutex<Set<String>>([])
        try await S3Backend.withFaults(
            configuration: configuration,
            decide: { request, _ in
                // The first PutObject with If-None-Match and the first completion take effect, but
                // their responses are lost: the retries see 412 and NoSuchUpload.
                let operation =
                    request.operation == "PutObject"
                        && request.headers.contains { $0.0 == "If-None-Match" }
                    ? "create" : request.operation
                guard operation == "create" || operation == "CompleteMultipartUpload" else {
                    return .none
                }
                return lost.withLock { $0.insert(operation).inserted } ? .loseResponse : .none
            }
        ) { backend, transport in
            try await backend.createBucket()
            #expect(try await backend.create("locks/mine", data: [42]) == true)
            let big = SplitMix64.bytes(count: 6 * 1024 * 1024, seed: 9)
            try await backend.put("packs/big", data: big)
            #expect(try await backend.get("packs/big") == big)
            #expect(transport.injectedFaults == [.loseResponse, .loseResponse])
            // Someone else's object under the key is still refused after an ambiguous attempt.
            #expect(try await backend.create("locks/mine", data: [43]) == false)
        }
    }

    @Test func exhaustedRetriesGiveTypedErrors() async throws {
        var configuration = try await patientConfiguration(attempts: 3)
        configuration.retryPolicy = S3RetryPolicy(
            maxAttempts: 3, baseDelay: .milliseconds(1), maxDelay: .milliseconds(2))
        let mode = Mutex<InjectedFault>(.none)
        try await S3Backend.withFaults(
            configuration: configuration, decide: { _, _ in mode.withLock { $0 } }
        ) {
            backend, _ in
            try await backend.createBucket()
            let cases: [(InjectedFault, S3ServiceError.Reason?, String)] = [
                (.status(503, code: "SlowDown"), .throttled, "kept throttling"),
                (.status(500, code: "InternalError"), .serverError, "HTTP 500 after 3 attempts"),
                (
                    .status(403, code: "SignatureDoesNotMatch"), .credentialsRejected,
                    "AWS_SECRET_ACCESS_KEY"
                ),
                (.status(403, code: "AccessDenied"), .accessDenied, "s3:PutObject"),
                (.status(400, code: "AuthorizationHeaderMalformed"), .wrongRegion, "AWS_REGION"),
                (.connectionError, nil, "could not reach"),
            ]
            for (fault, reason, text) in cases {
                mode.withLock { $0 = fault }
                let before = backend.statistics.requestCount
                let error = await #expect(throws: BlockStoreError.self, "\(fault)") {
                    try await backend.put("k", data: [1])
                }
                #expect(error?.code == .backendError)
                #expect(error?.message.contains(text) == true, "\(error?.message ?? "")")
                #expect((error?.underlying as? S3ServiceError)?.reason == reason)
                let retried = reason == .throttled || reason == .serverError || reason == nil
                #expect(backend.statistics.requestCount - before == (retried ? 3 : 1), "\(fault)")
            }
        }
    }

    @Test func requestsInFlightStayBounded() async throws {
        var configuration = try await patientConfiguration()
        configuration.maxRequestsInFlight = 3
        try await S3Backend.withFaults(configuration: configuration, decide: { _, _ in .none }) {
            backend, transport in
            try await backend.createBucket()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<40 {
                    group.addTask {
                        try await backend.put(ObjectKey(stringLiteral: "k\(i)"), data: [UInt8(i)])
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await backend.listAll(prefix: "").count == 40)
            #expect(transport.maxInFlight <= 3)
            #expect(transport.maxInFlight >= 2)
        }
    }

    @Test func refusedConnectionsFailWithinTheBackoffBound() async throws {
        // Held, never listening: refused, and no other test's server can take the port meanwhile.
        let refusing = try RefusingPort()
        defer { withExtendedLifetime(refusing) {} }
        let port = refusing.port
        var configuration = try S3Configuration(
            endpoint: URL(string: "http://127.0.0.1:\(port)")!, bucket: "unreachable",
            credentials: S3Credentials(accessKeyID: "a", secretAccessKey: "b"))
        configuration.timeouts = S3Timeouts(
            connect: .seconds(1), read: .seconds(2), request: .seconds(5))
        let policy = configuration.retryPolicy
        let bound = policy.maxTotalBackoff + configuration.timeouts.connect * policy.maxAttempts
        let start = ContinuousClock.now
        try await S3Backend.withBackend(configuration: configuration) { backend in
            let error = await #expect(throws: BlockStoreError.self) { try await backend.get("k") }
            #expect(error?.code == .backendError)
            #expect(error?.message.contains("could not reach http://127.0.0.1:\(port)") == true)
            #expect(error?.message.contains("AWS_ENDPOINT_URL") == true)
            #expect(backend.statistics.requestCount == policy.maxAttempts)
        }
        // No wall-clock assertion (shared, noisy machines): the bounded attempt count above and
        // the call returning at all show that refusals end after the retry budget.
        _ = (bound, start)
    }

    @Test func aServerThatNeverAnswersTimesOut() async throws {
        // A server that accepts connections and reads requests but never answers: the read
        // timeout must end each attempt.
        let python = try #require(MotoServer.launcher?.executable)
        let silent = Process()
        silent.executableURL = URL(fileURLWithPath: python)
        silent.arguments = [
            "-c",
            "import socket,sys,threading\ns=socket.socket();s.bind(('127.0.0.1',0));s.listen(64)\n"
                + "print(s.getsockname()[1],flush=True)\nheld=[]\n"
                + "def drain(c):\n  held.append(c)\n  while c.recv(65536): pass\n"
                + "while True:\n  c,_=s.accept();threading.Thread(target=drain,args=(c,),daemon=True).start()\n",
        ]
        let pipe = Pipe()
        silent.standardOutput = pipe
        try silent.run()
        defer {
            _ = kill(silent.processIdentifier, SIGKILL)
            silent.waitUntilExit()
        }
        let line = String(decoding: pipe.fileHandleForReading.availableData, as: UTF8.self)
        let port = try #require(Int(line.trimmingCharacters(in: .whitespacesAndNewlines)))
        var configuration = try S3Configuration(
            endpoint: URL(string: "http://127.0.0.1:\(port)")!, bucket: "silent",
            credentials: S3Credentials(accessKeyID: "a", secretAccessKey: "b"))
        configuration.timeouts = S3Timeouts(
            connect: .seconds(1), read: .milliseconds(500), request: .seconds(30))
        configuration.retryPolicy = S3RetryPolicy(
            maxAttempts: 2, baseDelay: .milliseconds(10), maxDelay: .milliseconds(10))
        let start = ContinuousClock.now
        try await S3Backend.withBackend(configuration: configuration) { backend in
            let error = await #expect(throws: BlockStoreError.self) {
                _ = try await backend.size("k")
            }
            #expect(error?.code == .backendError)
            #expect(error?.message.contains("could not reach") == true)
            #expect(backend.statistics.requestCount == 2)
        }
        let elapsed = ContinuousClock.now - start
        // Not a speed check: two attempts ended by the 0.5 s read timeout finish in about a
        // second, while attempts ended by the 30 s request timeout would take 60 s; the bound
        // sits between the two with room for a machine busy with parallel tests.
        #expect(elapsed < .seconds(50), "took \(elapsed): the read timeout did not end the attempts")
    }

    @Test func rejectedCredentialsSayWhatToFix() async throws {
        // In this mode moto checks access keys (it knows none), as AWS does.
        try await MotoServer.withServer(extraEnvironment: ["INITIAL_NO_AUTH_ACTION_COUNT": "0"]) {
            server in
            let configuration = try server.configuration(bucket: "any-bucket")
            try await S3Backend.withBackend(configuration: configuration) { backend in
                let error = await #expect(throws: BlockStoreError.self) {
                    try await backend.put("k", data: [1])
                }
                #expect(error?.code == .backendError)
                #expect(error?.message.contains("credentials rejected") == true)
                #expect(error?.message.contains("AWS_ACCESS_KEY_ID") == true)
                let service = error?.underlying as? S3ServiceError
                #expect(service?.reason == .credentialsRejected)
                #expect(service?.code == "InvalidAccessKeyId")
                #expect(service?.statusCode == 403)
            }
        }
    }

    @Test func aServerStoppedOrRestartedMidUploadLosesNothingCommitted() async throws {
        try await MotoServer.withServer { server in try await stoppedAndRestarted(server) }
    }

    private func stoppedAndRestarted(_ server: MotoServer) async throws {
        var configuration = try server.configuration(bucket: "restarts")
        configuration.multipartThresholdBytes = 5 * 1024 * 1024
        configuration.multipartPartSizeBytes = 5 * 1024 * 1024
        configuration.multipartConcurrency = 1
        configuration.timeouts = S3Timeouts(
            connect: .seconds(1), read: .seconds(1), request: .seconds(4))
        configuration.retryPolicy = S3RetryPolicy(
            maxAttempts: 30, baseDelay: .milliseconds(100), maxDelay: .milliseconds(500))
        let fixed = configuration
        let big = SplitMix64.bytes(count: 12 * 1024 * 1024, seed: 11)
        let control = RestartControl()

        try await S3Backend.withFaults(
            configuration: fixed,
            decide: { request, _ in
                if control.restoring.withLock({ $0 }) {
                    // Hold the attempt until the new server and its bucket are back (however
                    // long a busy machine takes to start moto), then fail it as unreachable:
                    // the retries that follow reach the new server, none is spent waiting.
                    while control.restoring.withLock({ $0 }) {
                        try? await Task.sleep(for: .milliseconds(50))
                    }
                    return .connectionError
                }
                guard let target = control.trigger.withLock({ $0 }), request.url.contains(target)
                else { return .none }
                guard
                    control.fired.withLock({ f in
                        defer { f = true }
                        return !f
                    })
                else { return .none }
                if target.hasPrefix("paused") {
                    // Stop the server while parts are uploading; continue it 2.5 s later.
                    await server.pause(true)
                    let task = Task {
                        try? await Task.sleep(for: .milliseconds(2500))
                        await server.pause(false)
                    }
                    control.background.withLock { $0.append(task) }
                } else {
                    // Crash the server; bring a fresh one (no buckets, no uploads) back 1 s later.
                    // This request goes to the dead server; its retries wait for the new one.
                    await server.kill()
                    control.restoring.withLock { $0 = true }
                    let task = Task {
                        try? await Task.sleep(for: .seconds(1))
                        try? await server.restart()
                        try? await S3Backend.withBackend(configuration: fixed) {
                            try await $0.createBucket()
                        }
                        control.restoring.withLock { $0 = false }
                    }
                    control.background.withLock { $0.append(task) }
                }
                return .none
            }
        ) { backend, _ in
            func settle() async {
                for task in control.background.withLock({ t in
                    defer { t = [] }
                    return t
                }) { await task.value }
                control.trigger.withLock { $0 = nil }
                control.fired.withLock { $0 = false }
            }
            try await backend.createBucket()

            // 1. Stopped (SIGSTOP) in the middle of a multipart upload: attempts time out, the
            //    retries succeed once it continues, and the object is whole.
            control.trigger.withLock { $0 = "paused?partNumber=2" }
            try await backend.put("paused", data: big)
            await settle()
            #expect(try await backend.get("paused") == big)

            // 2. Killed during a PutObject and restarted (empty: moto keeps state in memory):
            //    the retries reach the new server and the object is written.
            control.trigger.withLock { $0 = "/restarts/single" }
            try await backend.put("single", data: [4, 5, 6])
            await settle()
            #expect(try await backend.get("single") == [4, 5, 6])

            // 3. Killed in the middle of a multipart upload: the new server knows no upload, so
            //    the put fails with a typed error, the upload is aborted, no object is visible.
            control.trigger.withLock { $0 = "multi?partNumber=2" }
            let error = await #expect(throws: BlockStoreError.self) {
                try await backend.put("multi", data: big)
            }
            await settle()
            #expect(error?.code == .backendError)
            // AWS answers 404 NoSuchUpload; moto fails with a bare 500 (retried, then reported).
            let service = error?.underlying as? S3ServiceError
            #expect(
                service?.code == "NoSuchUpload" || service?.reason == .serverError,
                "\(String(describing: error))")
            #expect(try await backend.size("multi") == nil)
            #expect(try await backend.listAll(prefix: "").isEmpty)
        }
    }
}
