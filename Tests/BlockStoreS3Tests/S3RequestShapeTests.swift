import BlockStore
import BlockStoreS3
import Foundation
import Synchronization
import Testing

/// What goes on the wire: URLs per addressing style, signed headers, Content-MD5, conditions.
@Suite struct S3RequestShapeTests {
    static func configuration(
        endpoint: String, style: S3AddressingStyle? = nil, prefix: String = "vault"
    ) throws -> S3Configuration {
        try S3Configuration(
            endpoint: URL(string: endpoint)!, region: "eu-west-1", bucket: "backups",
            keyPrefix: prefix,
            credentials: S3Credentials(
                accessKeyID: "AKID", secretAccessKey: "secret", sessionToken: "tok"),
            addressingStyle: style)
    }

    @Test func pathStyleNamesTheBucketInThePath() async throws {
        let transport = RecordingTransport()
        let backend = S3Backend(
            configuration: try Self.configuration(endpoint: "http://127.0.0.1:9000"),
            transport: transport)
        #expect(try await backend.size("data/ab/cd") == 5)
        let head = try #require(transport.requests.last)
        #expect(head.method == "HEAD")
        #expect(head.url == "http://127.0.0.1:9000/backups/vault/data/ab/cd")
        #expect(head.header("Host") == "127.0.0.1:9000")
        let authorization = try #require(head.header("Authorization"))
        #expect(authorization.hasPrefix("AWS4-HMAC-SHA256 Credential=AKID/"))
        #expect(authorization.contains("/eu-west-1/s3/aws4_request"))
        #expect(
            authorization.contains(
                "SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,"))
        #expect(head.header("x-amz-security-token") == "tok")
        #expect(head.header("x-amz-content-sha256") == SigV4Signer.emptyPayloadHash)
        // The first request of a backend checks the bucket once.
        let list = try #require(transport.requests.first)
        #expect(list.url == "http://127.0.0.1:9000/backups?list-type=2&max-keys=1&prefix=vault%2F")
        _ = try await backend.size("x")
        #expect(transport.requests.count == 3)
    }

    @Test func virtualHostedStyleNamesTheBucketInTheHost() async throws {
        let transport = RecordingTransport()
        let configuration = try Self.configuration(endpoint: "https://s3.eu-west-1.amazonaws.com")
        #expect(configuration.addressingStyle == .virtualHosted)
        #expect(configuration.createIsAtomic)
        let backend = S3Backend(configuration: configuration, transport: transport)
        try await backend.put("k", data: [1, 2, 3])
        let put = try #require(transport.requests.last)
        #expect(put.url == "https://backups.s3.eu-west-1.amazonaws.com/vault/k")
        #expect(put.header("Host") == "backups.s3.eu-west-1.amazonaws.com")
        #expect(put.header("x-amz-content-sha256") == SigV4Signer.hexSHA256([1, 2, 3] as [UInt8]))
        #expect(Array(put.body) == [1, 2, 3])
    }

    @Test func createSendsIfNoneMatchAndRangedGetsARange() async throws {
        let transport = RecordingTransport { request in
            if request.method == "GET", request.header("Range") != nil {
                return S3HTTPResponse(status: 206, headers: [("Content-Range", "bytes 10-11/100")], body: [7, 8])
            }
            if request.method == "PUT" { return S3HTTPResponse(status: 412, headers: [], body: []) }
            return S3HTTPResponse(status: 200, headers: [], body: Array("<ListBucketResult/>".utf8))
        }
        var configuration = try Self.configuration(endpoint: "http://127.0.0.1:9000", prefix: "")
        configuration.createIsAtomic = true
        let backend = S3Backend(configuration: configuration, transport: transport)
        #expect(try await backend.create("lock", data: [1]) == false)
        let put = try #require(transport.requests.last)
        #expect(put.header("If-None-Match") == "*")
        #expect(put.header("Authorization")?.contains("if-none-match") == true)
        #expect(try await backend.get("pack", range: 10..<12) == [7, 8])
        let get = try #require(transport.requests.last)
        #expect(get.header("Range") == "bytes=10-11")
        #expect(get.url == "http://127.0.0.1:9000/backups/pack")
    }

    @Test func deleteObjectsSendsContentMD5AndBatchesOf1000() async throws {
        let transport = RecordingTransport { _ in
            S3HTTPResponse(status: 200, headers: [], body: Array("<DeleteResult/>".utf8))
        }
        let backend = S3Backend(
            configuration: try Self.configuration(endpoint: "http://127.0.0.1:9000"),
            transport: transport)
        let keys = (0..<2001).map { ObjectKey(stringLiteral: "k\($0)") }
        try await backend.deleteMany(keys)
        let batches = transport.requests.filter { $0.operation == "DeleteObjects" }
        #expect(batches.count == 3)
        for batch in batches {
            #expect(batch.method == "POST")
            #expect(batch.url == "http://127.0.0.1:9000/backups?delete=")
            #expect(batch.header("Content-MD5") == S3Backend.contentMD5(batch.body))
        }
        let first = String(decoding: batches[0].body, as: UTF8.self)
        #expect(first.contains("<Quiet>true</Quiet><Object><Key>vault/k0</Key></Object>"))
        #expect(first.components(separatedBy: "<Object>").count - 1 == 1000)
        #expect(
            String(decoding: batches[2].body, as: UTF8.self).components(separatedBy: "<Object>")
                .count - 1 == 1)
    }

    @Test func contentMD5IsBase64OfTheDigest() {
        #expect(S3Backend.contentMD5([]) == "1B2M2Y8AsgTpgAmY7PhCfg==")
        #expect(S3Backend.contentMD5(Array("abc".utf8)[...]) == "kAFQmDzST7DWlj99KOF/cg==")
    }

    @Test func deleteObjectsReportsKeysItCouldNotDelete() async throws {
        let transport = RecordingTransport { request in
            let body =
                request.operation == "DeleteObjects"
                ? "<DeleteResult><Error><Key>vault/a</Key><Code>AccessDenied</Code><Message>no</Message></Error>"
                    + "<Error><Key>vault/b</Key><Code>NoSuchKey</Code></Error></DeleteResult>"
                : "<ListBucketResult/>"
            return S3HTTPResponse(status: 200, headers: [], body: Array(body.utf8))
        }
        let backend = S3Backend(
            configuration: try Self.configuration(endpoint: "http://127.0.0.1:9000"),
            transport: transport)
        let error = await #expect(throws: BlockStoreError.self) {
            try await backend.deleteMany(["a", "b"])
        }
        #expect(error?.code == .backendError)
        #expect(error?.message.contains("left 1 of 2 objects, e.g. vault/a (AccessDenied") == true)
    }

    @Test func wrongRegionNamesTheBucketsRegion() async throws {
        let transport = RecordingTransport { _ in
            S3HTTPResponse(
                status: 301, headers: [("x-amz-bucket-region", "ap-southeast-2")],
                body: Array(
                    "<Error><Code>PermanentRedirect</Code><Message>moved</Message></Error>".utf8))
        }
        let backend = S3Backend(
            configuration: try Self.configuration(endpoint: "https://s3.eu-west-1.amazonaws.com"),
            transport: transport)
        let error = await #expect(throws: BlockStoreError.self) { try await backend.get("k") }
        #expect(error?.message.contains("set AWS_REGION=ap-southeast-2") == true)
        #expect((error?.underlying as? S3ServiceError)?.reason == .wrongRegion)
    }

    @Test func cancellationEndsAWaitingOperation() async throws {
        let transport = RecordingTransport { _ in
            S3HTTPResponse(
                status: 503, headers: [], body: Array("<Error><Code>SlowDown</Code></Error>".utf8))
        }
        var configuration = try Self.configuration(endpoint: "http://127.0.0.1:9000")
        configuration.retryPolicy = S3RetryPolicy(
            maxAttempts: 50, baseDelay: .seconds(1), maxDelay: .seconds(1))
        let backend = S3Backend(configuration: configuration, transport: transport)
        let task = Task { try await backend.get("k") }
        try await Task.sleep(for: .milliseconds(100))
        task.cancel()
        let error = await #expect(throws: BlockStoreError.self) { try await task.value }
        #expect(error?.code == .cancelled)
        #expect(transport.requests.count < 5)
    }
}
