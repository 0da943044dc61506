import BlockStore
import BlockStoreS3
import Foundation
import Testing

/// An S3 endpoint that lies: listings that never end, lengths that do not match, ranges that are
/// not the ones asked for, bodies without end. Each call returns with a typed error, having read
/// no more than its cap.
@Suite struct HostileS3ServerTests {
    /// Runs `body` with a backend talking to a stub that answers the bucket check and then
    /// follows `script` (which sees every other request).
    func withHostileServer<T: Sendable>(
        script: @escaping @Sendable (StubHTTPServer.Request) -> StubHTTPServer.Reply,
        _ body: @escaping @Sendable (S3Backend, StubHTTPServer) async throws -> T
    ) async throws -> T {
        let server = try StubHTTPServer { request in
            if request.target.contains("max-keys=1&") && !request.target.contains("continuation-token") {
                return .xml("<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>")
            }
            return script(request)
        }
        defer { server.stop() }
        var configuration = try S3Configuration(
            endpoint: URL(string: "http://127.0.0.1:\(server.port)")!, region: "us-east-1", bucket: "hostile",
            credentials: S3Credentials(accessKeyID: "AKID", secretAccessKey: "secret"), addressingStyle: .path)
        configuration.retryPolicy = S3RetryPolicy(
            maxAttempts: 2, baseDelay: .milliseconds(5), maxDelay: .milliseconds(5))
        return try await S3Backend.withBackend(configuration: configuration) { backend in
            try await body(backend, server)
        }
    }

    // MARK: - Listings

    @Test func aListingWhoseContinuationTokenNeverChangesStops() async throws {
        let error = try await withHostileServer { request in
            // Keys advance, the token does not.
            .xml(
                "<ListBucketResult><Contents><Key>k\(String(format: "%06d", request.index))</Key><Size>1</Size></Contents>"
                    + "<IsTruncated>true</IsTruncated><NextContinuationToken>same</NextContinuationToken></ListBucketResult>"
            )
        } _: { backend, _ in
            await returnedError { _ = try await backend.listAll(prefix: "") }
        }
        #expect(error?.code == .backendError, "\(String(describing: error))")
        #expect(error?.message.contains("does not advance") == true, "\(String(describing: error))")
    }

    @Test func aListingThatRepeatsItsKeysUnderNewTokensStops() async throws {
        let error = try await withHostileServer { request in
            .xml(
                "<ListBucketResult><Contents><Key>data/same</Key><Size>1</Size></Contents><IsTruncated>true</IsTruncated>"
                    + "<NextContinuationToken>token-\(request.index)</NextContinuationToken></ListBucketResult>")
        } _: { backend, server in
            let error = await returnedError { _ = try await backend.listAll(prefix: "data/") }
            #expect(server.requests.count < 10)
            return error
        }
        #expect(error?.code == .backendError && error?.message.contains("does not advance") == true)
        #expect(error?.message.contains("data/same") == true, "\(String(describing: error))")
    }

    @Test func aListingOfEndlessEmptyPagesStops() async throws {
        let error = try await withHostileServer { request in
            .xml(
                "<ListBucketResult><IsTruncated>true</IsTruncated>"
                    + "<NextContinuationToken>token-\(request.index)</NextContinuationToken></ListBucketResult>")
        } _: { backend, _ in
            await returnedError { _ = try await backend.list(prefix: "", after: nil, limit: 10) }
        }
        #expect(error?.code == .backendError && error?.message.contains("held no key") == true)
    }

    @Test func aListingWithSizesNoObjectCanHaveIsRefused() async throws {
        for size in ["6000000000000", "99999999999999999999999", "-1", "lots"] {
            let error = try await withHostileServer { _ in
                .xml(
                    "<ListBucketResult><Contents><Key>data/a</Key><Size>\(size)</Size></Contents>"
                        + "<IsTruncated>false</IsTruncated></ListBucketResult>")
            } _: { backend, _ in
                await returnedError { _ = try await backend.listAll(prefix: "") }
            }
            #expect(error?.code == .backendError && error?.message.contains("Size") == true, "\(size)")
        }
    }

    @Test func aListingDocumentNestedDeeperThanS3EverNestsIsMalformed() async throws {
        let depth = 100
        let error = try await withHostileServer { _ in
            .xml(
                "<ListBucketResult>" + String(repeating: "<a>", count: depth) + String(repeating: "</a>", count: depth)
                    + "</ListBucketResult>")
        } _: { backend, _ in
            await returnedError { _ = try await backend.listAll(prefix: "") }
        }
        #expect(error?.code == .backendError && error?.message.contains("not S3's XML") == true)
    }

    @Test func aListingLargerThanAnyPageIsRefusedBeforeItIsRead() async throws {
        let error = try await withHostileServer { _ in
            StubHTTPServer.Reply(head: ["HTTP/1.1 200 OK", "Content-Length: \(1 << 40)"], body: Array("<List".utf8))
        } _: { backend, _ in
            await returnedError { _ = try await backend.listAll(prefix: "") }
        }
        #expect(error?.code == .limitExceeded && error?.message.contains("\(1 << 40)") == true)
    }

    // MARK: - Object reads

    @Test func aHugeContentLengthIsRefusedBeforeTheBodyIsRead() async throws {
        let tebibyte = 1 << 40
        try await withHostileServer { _ in
            StubHTTPServer.Reply(head: ["HTTP/1.1 200 OK", "Content-Length: \(tebibyte)"], body: [1, 2, 3])
        } _: { backend, server in
            let capped = await returnedError { _ = try await backend.get("keys/huge", byteCountMax: 64 << 10) }
            #expect(capped?.code == .limitExceeded, "\(String(describing: capped))")
            #expect(
                capped?.message.contains("keys/huge") == true && capped?.message.contains("\(tebibyte) bytes") == true
                    && capped?.message.contains("\(64 << 10)") == true, "\(String(describing: capped))")
            // Without a cap, the backend's own (5 GiB) applies.
            let uncapped = await returnedError { _ = try await backend.get("keys/huge") }
            #expect(uncapped?.code == .limitExceeded, "\(String(describing: uncapped))")
            // Refusals are not retried.
            #expect(server.requests.filter { $0.method == "GET" && $0.target.contains("keys/huge") }.count == 2)
        }
    }

    @Test func anEndlessBodyWithoutLengthIsCutAtTheCap() async throws {
        try await withHostileServer { _ in
            StubHTTPServer.Reply(head: ["HTTP/1.1 200 OK", "Transfer-Encoding: chunked"], endlessChunks: true)
        } _: { backend, _ in
            let error = await returnedError { _ = try await backend.get("index/endless", byteCountMax: 4 << 20) }
            #expect(error?.code == .limitExceeded, "\(String(describing: error))")
            #expect(error?.message.contains("more than \(4 << 20) bytes") == true, "\(String(describing: error))")
        }
    }

    @Test func aHeadClaimingMoreThanAnyObjectIsRefused() async throws {
        try await withHostileServer { _ in
            StubHTTPServer.Reply(head: ["HTTP/1.1 200 OK", "Content-Length: 9000000000000000"])
        } _: { backend, _ in
            let error = await returnedError { _ = try await backend.size("data/x") }
            #expect(error?.code == .backendError && error?.message.contains("9000000000000000") == true)
        }
    }

    @Test func aBodyShorterThanItsContentLengthIsAnError() async throws {
        try await withHostileServer { _ in
            StubHTTPServer.Reply(
                head: ["HTTP/1.1 200 OK", "Content-Length: 100"], body: [UInt8](repeating: 7, count: 50),
                closeAfter: true)
        } _: { backend, server in
            for read in [
                { _ = try await backend.get("roots/short") },
                { _ = try await backend.get("roots/short", byteCountMax: 1000) },
            ] as [@Sendable () async throws -> Void] {
                let error = await returnedError(read)
                #expect(error?.code == .backendError, "\(String(describing: error))")
                #expect(error?.message.contains("Content-Length of 100") == true, "\(String(describing: error))")
            }
            // Each read was tried as often as the retry policy allows, no more.
            #expect(server.requests.filter { $0.target.contains("roots/short") }.count == 4)
        }
    }

    @Test func aPartialAnswerForAnotherRangeIsAnError() async throws {
        let object = (0..<100).map { UInt8($0) }
        let replies: [(String, StubHTTPServer.Reply)] = [
            (
                "another range",
                .complete(
                    status: "206 Partial Content", headers: ["Content-Range: bytes 0-9/100"],
                    body: Array(object[0..<10]))
            ),
            (
                "a shorter range",
                .complete(
                    status: "206 Partial Content", headers: ["Content-Range: bytes 10-14/100"],
                    body: Array(object[10..<15]))
            ),
            (
                "a later start",
                .complete(
                    status: "206 Partial Content", headers: ["Content-Range: bytes 12-19/100"],
                    body: Array(object[12..<20]))
            ),
            (
                "fewer bytes than its Content-Range",
                .complete(
                    status: "206 Partial Content", headers: ["Content-Range: bytes 10-19/100"],
                    body: Array(object[10..<15]))
            ),
            ("no Content-Range", .complete(status: "206 Partial Content", body: Array(object[10..<20]))),
            (
                "a garbled Content-Range",
                .complete(
                    status: "206 Partial Content", headers: ["Content-Range: bytes ten-19/100"],
                    body: Array(object[10..<20]))
            ),
            (
                "an end past the total",
                .complete(
                    status: "206 Partial Content", headers: ["Content-Range: bytes 10-19/15"],
                    body: Array(object[10..<20]))
            ),
        ]
        for (what, reply) in replies {
            try await withHostileServer { _ in
                reply
            } _: { backend, _ in
                let error = await returnedError { _ = try await backend.get("data/p", range: 10..<20) }
                #expect(error?.code == .backendError, "\(what): \(String(describing: error))")
                #expect(error?.message.contains("bytes 10..<20") == true, "\(what): \(String(describing: error))")
            }
        }
        // More bytes than the range holds are refused before they are read.
        try await withHostileServer { _ in
            .complete(status: "206 Partial Content", headers: ["Content-Range: bytes 10-19/100"], body: object)
        } _: { backend, _ in
            let error = await returnedError { _ = try await backend.get("data/p", range: 10..<20) }
            #expect(error?.code == .limitExceeded, "\(String(describing: error))")
        }
        // The honest answers still read: exact, and cut at the object's end.
        try await withHostileServer { request in
            request.headers["range"] == "bytes=10-19"
                ? .complete(
                    status: "206 Partial Content", headers: ["Content-Range: bytes 10-19/100"],
                    body: Array(object[10..<20]))
                : .complete(
                    status: "206 Partial Content", headers: ["Content-Range: bytes 95-99/100"],
                    body: Array(object[95..<100]))
        } _: { backend, _ in
            let exact = try await backend.get("data/p", range: 10..<20)
            let cut = try await backend.get("data/p", range: 95..<200)
            #expect(exact == Array(object[10..<20]))
            #expect(cut == Array(object[95..<100]))
        }
    }
}

// MARK: - Helpers

/// How long a call may take before the test calls it hung: generous, since only returning at
/// all is checked, never speed.
private let hangBound: Duration = .seconds(120)

/// The ``BlockStoreError`` `body` threw, when it threw one within ``hangBound``; records an
/// issue and returns nil when it hung, succeeded or threw anything else.
private func returnedError(
    sourceLocation: SourceLocation = #_sourceLocation, _ body: @escaping @Sendable () async throws -> Void
) async -> BlockStoreError? {
    let outcome = await withTaskGroup(of: Result<Void, any Error>?.self) { group in
        group.addTask {
            do { return .success(try await body()) } catch { return .failure(error) }
        }
        group.addTask {
            try? await Task.sleep(for: hangBound)
            return nil
        }
        let first = await group.next() ?? nil
        group.cancelAll()
        return first
    }
    switch outcome {
    case nil:
        Issue.record("the call did not return within \(hangBound)", sourceLocation: sourceLocation)
    case .success?:
        Issue.record("the call succeeded; expected a BlockStoreError", sourceLocation: sourceLocation)
    case .failure(let error as BlockStoreError)?:
        return error
    case .failure(let error)?:
        Issue.record("the call threw \(error); expected a BlockStoreError", sourceLocation: sourceLocation)
    }
    return nil
}
