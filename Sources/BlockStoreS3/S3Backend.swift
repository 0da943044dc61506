import BlockStore
import Crypto
import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A `StorageBackend` on S3-compatible object storage (AWS S3, MinIO, Ceph RGW, R2, …).
///
/// Objects are stored under ``S3Configuration/keyPrefix`` in one bucket. Requests are signed
/// with AWS Signature Version 4 and sent by one `HTTPClient` that the backend owns: call
/// ``shutdown()`` when done (or use ``withBackend(configuration:isolation:_:)``).
///
/// - ``put(_:data:)`` is one PutObject, or a multipart upload above
///   ``S3Configuration/multipartThresholdBytes`` (parts of ``S3Configuration/multipartPartSizeBytes``,
///   at most ``S3Configuration/multipartConcurrency`` in flight, aborted on failure). Either way
///   the object appears whole or not at all.
/// - ``create(_:data:)`` is PutObject with `If-None-Match: *`; see
///   ``S3Configuration/createIsAtomic`` for services that ignore the header.
/// - ``get(_:range:)`` sends a `Range` header and clamps like the protocol says.
/// - ``list(prefix:after:limit:)`` is ListObjectsV2 with `start-after` and continuation tokens.
/// - ``delete(_:)`` and ``deleteMany(_:)`` (DeleteObjects, 1000 keys a request).
///
/// Every request is retried per ``S3Configuration/retryPolicy`` on connection errors,
/// timeouts, 5xx and throttling; each is idempotent by construction: PUTs write whole objects
/// under names that do not change meaning, DELETE of a missing key succeeds, and a create-only
/// PUT or a multipart completion whose first attempt's response was lost is recognised
/// afterwards (the object is there with our bytes). At most
/// ``S3Configuration/maxRequestsInFlight`` requests are in flight at once.
///
/// Errors are `BlockStoreError`: `.notFound` only for a missing object; `.backendError` for the
/// service's and the network's failures, with an ``S3ServiceError`` as `underlying` when the
/// service answered, and a message that says what to fix (credentials, bucket, region,
/// permissions, endpoint).
///
/// ```swift
/// try await S3Backend.withBackend(configuration: try .fromStoreURL("s3://backups/host1")) { s3 in
///     try await s3.put("config", data: Array("hello".utf8))
///     let bytes = try await s3.get("config")
/// }
/// ```
public final class S3Backend: StorageBackend {
    /// The configuration the backend was created with.
    public let configuration: S3Configuration
    let transport: any S3Transport
    let signer: SigV4Signer
    let gate: RequestGate
    private let bucketVerified = Atomic<Bool>(false)
    private let counters = Mutex(S3Statistics())

    /// The largest response body accepted (a whole object read), 5 GiB.
    static let maxResponseBytes = S3Configuration.maximumSinglePutBytes
    /// The most keys one ListObjectsV2 request asks for: S3 returns at most 1000 per page.
    static let listPageSizeMax = 1000
    /// The most keys one DeleteObjects request carries: S3 rejects more than 1000.
    static let deleteBatchKeyCountMax = 1000
    /// The most bytes of an unexpected response body quoted in an error message: enough to
    /// recognise an HTML error page or a proxy's answer, short enough for one log line.
    static let quotedResponseBytesMax = 200

    /// Creates a backend and its HTTP client.
    /// - Parameter configuration: Where the store lives and how to reach it.
    /// - Precondition: `maxRequestsInFlight`, `multipartConcurrency` are positive.
    public convenience init(configuration: S3Configuration) {
        self.init(
            configuration: configuration,
            transport: HTTPClientTransport(
                timeouts: configuration.timeouts,
                maxConnections: max(1, configuration.maxRequestsInFlight),
                maxResponseBytes: Self.maxResponseBytes))
    }

    /// Creates a backend that sends through `transport` (tests inject faults here).
    package init(configuration: S3Configuration, transport: any S3Transport) {
        precondition(configuration.maxRequestsInFlight > 0, "maxRequestsInFlight must be positive")
        precondition(
            configuration.multipartConcurrency > 0, "multipartConcurrency must be positive")
        self.configuration = configuration
        self.transport = transport
        self.signer = SigV4Signer(
            credentials: configuration.credentials, region: configuration.region)
        self.gate = RequestGate(limit: configuration.maxRequestsInFlight)
    }

    /// Runs `body` with a new backend and shuts the backend down afterwards, whether `body`
    /// throws or not.
    public static func withBackend<Result>(
        configuration: S3Configuration,
        isolation: isolated (any Actor)? = #isolation,
        _ body: (S3Backend) async throws -> Result
    ) async throws -> Result {
        let backend = S3Backend(configuration: configuration)
        let result: Result
        do {
            result = try await body(backend)
        } catch {
            try? await backend.shutdown()
            throw error
        }
        try await backend.shutdown()
        return result
    }

    /// Closes the backend's connections and stops its HTTP client; call it exactly once, when
    /// no operation is running. Operations afterwards fail.
    ///
    /// Required: in debug builds the HTTP client traps when it is released without a shutdown
    /// (prefer ``withBackend(configuration:isolation:_:)``, which cannot forget it).
    public func shutdown() async throws {
        try await transport.shutdown()
    }

    /// `s3://BUCKET/PREFIX at ENDPOINT`.
    public var location: String { "\(configuration.storeURL) at \(endpointText)" }

    /// Whether ``create(_:data:)`` is atomic: ``S3Configuration/createIsAtomic``.
    public var createIsAtomic: Bool { configuration.createIsAtomic }

    /// What the backend has sent so far.
    public var statistics: S3Statistics { counters.withLock { $0 } }

    // MARK: - StorageBackend

    /// Writes an object with PutObject, or with a multipart upload when it is larger than
    /// ``S3Configuration/multipartThresholdBytes``; atomic either way.
    /// - Throws: `BlockStoreError` `.backendError` when the service refuses or cannot be reached.
    public func put(_ key: ObjectKey, data: [UInt8]) async throws {
        try await ensureBucket()
        if data.count
            > max(configuration.multipartThresholdBytes, effectivePartSize(for: data.count))
        {
            try await multipartPut(objectName(key), data: data)
            return
        }
        try checkSinglePutSize(data.count, key)
        let response = try await send(
            S3Request(
                operation: "PutObject", method: "PUT", object: objectName(key), body: data[...],
                contentMD5: !configuration.signsPayload))
        guard response.response.status == 200 else {
            throw failure(response.response, "PutObject", key: key)
        }
    }

    /// Writes an object only if the key is free: PutObject with `If-None-Match: *`.
    ///
    /// When ``createIsAtomic`` is `false`, the backend first checks that the key is free (a HEAD),
    /// which leaves a window in which a concurrent creator can be overwritten.
    /// - Returns: `true` if this call created the object, `false` if the key existed.
    /// - Throws: `BlockStoreError` `.limitExceeded` above 5 GiB; `.backendError` on failure.
    public func create(_ key: ObjectKey, data: [UInt8]) async throws -> Bool {
        try await ensureBucket()
        try checkSinglePutSize(data.count, key)
        if !configuration.createIsAtomic, try await size(key) != nil { return false }
        let sent = try await send(
            S3Request(
                operation: "PutObject", method: "PUT", object: objectName(key),
                headers: [("If-None-Match", "*")], body: data[...],
                contentMD5: !configuration.signsPayload))
        switch sent.response.status {
        case 200:
            return true
        case 412:
            // A first attempt may have created it and lost the response: then the bytes are ours.
            if sent.ambiguous { return try await get(key) == data }
            return false
        default:
            throw failure(sent.response, "PutObject", key: key)
        }
    }

    /// Reads a whole object.
    /// - Throws: `BlockStoreError` `.notFound` when the object does not exist; `.backendError`
    ///   on failure.
    public func get(_ key: ObjectKey) async throws -> [UInt8] {
        try await ensureBucket()
        let response = try await send(
            S3Request(operation: "GetObject", method: "GET", object: objectName(key))
        )
        .response
        switch response.status {
        case 200: return response.body
        case 404 where !isMissingBucket(response): throw notFound(key)
        default: throw failure(response, "GetObject", key: key)
        }
    }

    /// Reads bytes `range` of an object, clamped to its end (a range at or past the end reads
    /// nothing).
    /// - Throws: `BlockStoreError` `.notFound` when the object does not exist; `.backendError`
    ///   on failure.
    public func get(_ key: ObjectKey, range: Range<UInt64>) async throws -> [UInt8] {
        try await ensureBucket()
        if range.isEmpty {
            guard try await size(key) != nil else { throw notFound(key) }
            return []
        }
        // Ends past any possible object (beyond Int64) are sent open-ended: `bytes=N-`.
        let lengthBytes = range.upperBound - range.lowerBound
        let last = range.upperBound > UInt64(Int64.max) ? "" : String(range.upperBound - 1)
        let response = try await send(
            S3Request(
                operation: "GetObject", method: "GET", object: objectName(key),
                headers: [("Range", "bytes=\(range.lowerBound)-\(last)")])
        ).response
        switch response.status {
        case 206:
            return Array(response.body.prefix(Int(clamping: lengthBytes)))
        case 200:
            // The service ignored the range: cut it out here.
            let end = Int(clamping: min(range.upperBound, UInt64(response.body.count)))
            let start = Int(clamping: min(range.lowerBound, UInt64(end)))
            return Array(response.body[start..<end])
        case 416:
            return []
        case 404 where !isMissingBucket(response):
            throw notFound(key)
        default:
            throw failure(response, "GetObject", key: key)
        }
    }

    /// The size of an object (HeadObject), or nil when it does not exist.
    /// - Throws: `BlockStoreError` `.backendError` on failure.
    public func size(_ key: ObjectKey) async throws -> UInt64? {
        try await ensureBucket()
        let response = try await send(
            S3Request(operation: "HeadObject", method: "HEAD", object: objectName(key))
        )
        .response
        switch response.status {
        case 200:
            guard let length = response.header("content-length").flatMap(UInt64.init) else {
                throw BlockStoreError(
                    .backendError,
                    "HeadObject \(key) at \(location) returned no Content-Length: the service is not S3-compatible"
                )
            }
            return length
        case 404:
            return nil
        default:
            throw failure(response, "HeadObject", key: key)
        }
    }

    /// Lists keys under `prefix` strictly after `after`, ascending (ListObjectsV2).
    /// - Complexity: One request per 1000 keys.
    /// - Throws: `BlockStoreError` `.backendError` on failure.
    public func list(prefix: String, after: ObjectKey?, limit: Int) async throws -> ObjectListing {
        precondition(limit > 0, "limit must be positive")
        try await ensureBucket()
        let fullPrefix = objectName(prefix)
        let strip = configuration.keyPrefix.isEmpty ? 0 : configuration.keyPrefix.utf8.count + 1
        var entries: [ObjectListing.Entry] = []
        var token: String? = nil
        var truncated = true
        while entries.count < limit, truncated {
            var query: [(String, String)] = [
                ("list-type", "2"), ("prefix", fullPrefix),
                ("max-keys", String(min(Self.listPageSizeMax, limit - entries.count))),
            ]
            if let token {
                query.append(("continuation-token", token))
            } else if let after {
                query.append(("start-after", objectName(after)))
            }
            let response = try await send(
                S3Request(operation: "ListObjectsV2", method: "GET", query: query)
            )
            .response
            guard response.status == 200 else { throw failure(response, "ListObjectsV2", key: nil) }
            guard let root = S3XMLNode.parse(response.body), root.name == "ListBucketResult" else {
                throw malformed("ListObjectsV2", response)
            }
            for item in root.children("Contents") {
                guard let name = item.text(of: "Key"), name.utf8.count > strip,
                    let key = ObjectKey(String(Substring(name.utf8.dropFirst(strip))))
                else { continue }  // not a key of this store: ignore it.
                entries.append(
                    .init(key: key, sizeBytes: item.text(of: "Size").flatMap(UInt64.init) ?? 0))
            }
            truncated = root.text(of: "IsTruncated") == "true"
            token = root.text(of: "NextContinuationToken")
            if truncated, token == nil {
                throw malformed("ListObjectsV2 (truncated without NextContinuationToken)", response)
            }
        }
        return ObjectListing(entries: entries, continuation: truncated ? entries.last?.key : nil)
    }

    /// Deletes an object; succeeds when it does not exist.
    /// - Throws: `BlockStoreError` `.backendError` on failure (a missing bucket included).
    public func delete(_ key: ObjectKey) async throws {
        try await ensureBucket()
        let response = try await send(
            S3Request(operation: "DeleteObject", method: "DELETE", object: objectName(key))
        )
        .response
        switch response.status {
        case 200, 204: return
        case 404 where !isMissingBucket(response): return
        default: throw failure(response, "DeleteObject", key: key)
        }
    }

    // MARK: - Beyond the protocol

    /// Deletes many objects with DeleteObjects, 1000 keys a request (S3's limit); missing keys
    /// are fine.
    /// - Complexity: `ceil(keys.count / 1000)` requests.
    /// - Throws: `BlockStoreError` `.backendError` naming the keys the service did not delete.
    public func deleteMany(_ keys: [ObjectKey]) async throws {
        guard !keys.isEmpty else { return }
        try await ensureBucket()
        for start in stride(from: 0, to: keys.count, by: Self.deleteBatchKeyCountMax) {
            let batch = keys[start..<min(keys.count, start + Self.deleteBatchKeyCountMax)]
            var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
            xml += "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>"
            for key in batch {
                xml += "<Object><Key>\(S3XMLNode.escape(objectName(key)))</Key></Object>"
            }
            xml += "</Delete>"
            let body = Array(xml.utf8)
            let response = try await send(
                S3Request(
                    operation: "DeleteObjects", method: "POST", query: [("delete", "")],
                    headers: [("Content-Type", "application/xml")], body: body[...],
                    contentMD5: true)
            ).response
            guard response.status == 200 else { throw failure(response, "DeleteObjects", key: nil) }
            guard let root = S3XMLNode.parse(response.body) else {
                throw malformed("DeleteObjects", response)
            }
            if root.name == "Error" {
                throw failure(response, "DeleteObjects", key: nil, statusOverride: 500)
            }
            let failed = root.children("Error").filter { $0.text(of: "Code") != "NoSuchKey" }
            if let first = failed.first {
                throw BlockStoreError(
                    .backendError,
                    "DeleteObjects at \(location) left \(failed.count) of \(batch.count) objects, e.g. \(first.text(of: "Key") ?? "?") (\(first.text(of: "Code") ?? "?"): \(first.text(of: "Message") ?? "")): check s3:DeleteObject permission and retry"
                )
            }
        }
    }

    /// Creates the bucket (CreateBucket); succeeds when this account already owns it.
    /// - Throws: `BlockStoreError` `.backendError` when the service refuses.
    public func createBucket() async throws {
        var body: [UInt8] = []
        if configuration.region != "us-east-1" {
            body = Array(
                ("<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                    + "<LocationConstraint>\(S3XMLNode.escape(configuration.region))</LocationConstraint></CreateBucketConfiguration>")
                    .utf8)
        }
        let response = try await send(
            S3Request(operation: "CreateBucket", method: "PUT", body: body[...])
        )
        .response
        switch response.status {
        case 200: break
        case 409 where S3XMLNode.parse(response.body)?.text(of: "Code") == "BucketAlreadyOwnedByYou":
            break
        default: throw failure(response, "CreateBucket", key: nil)
        }
        bucketVerified.store(true, ordering: .relaxed)
    }

    /// Checks that the bucket exists and the credentials may list it; every operation does this
    /// once before its first request, so configuration mistakes surface as one clear error.
    /// - Throws: `BlockStoreError` `.backendError` saying what to fix.
    public func checkAccess() async throws {
        let response = try await send(
            S3Request(
                operation: "ListObjectsV2", method: "GET",
                query: [("list-type", "2"), ("max-keys", "1"), ("prefix", objectName(""))])
        ).response
        guard response.status == 200 else { throw failure(response, "ListObjectsV2", key: nil) }
        bucketVerified.store(true, ordering: .relaxed)
    }

    /// Whether the service honours `If-None-Match: *`: creates a probe object twice under
    /// `probe-` keys of the store's prefix and deletes it. Use it to decide
    /// ``S3Configuration/createIsAtomic`` for a service you do not know.
    /// - Returns: `true` when the second create was refused.
    public func probeConditionalWrites() async throws -> Bool {
        try await ensureBucket()
        let key = try ObjectKey(
            validating: "probe-conditional-write-\(UInt64.random(in: 0...UInt64.max))")
        let request = S3Request(
            operation: "PutObject", method: "PUT", object: objectName(key),
            headers: [("If-None-Match", "*")],
            body: [1][...])
        let first = try await send(request).response
        guard first.status == 200 else { throw failure(first, "PutObject", key: key) }
        let second = try await send(request).response
        try await delete(key)
        return second.status == 412
    }

    // MARK: - Helpers

    var endpointText: String {
        let e = configuration.endpoint
        return "\(e.scheme ?? "https")://\(e.host ?? "")" + (e.port.map { ":\($0)" } ?? "")
    }

    /// The bucket key of a store key: the prefix, `/`, the key.
    func objectName(_ key: ObjectKey) -> String { objectName(key.rawValue) }

    func objectName(_ raw: String) -> String {
        configuration.keyPrefix.isEmpty ? raw : configuration.keyPrefix + "/" + raw
    }

    func ensureBucket() async throws {
        if bucketVerified.load(ordering: .relaxed) { return }
        try await checkAccess()
    }

    private func checkSinglePutSize(_ count: Int, _ key: ObjectKey) throws {
        if count > S3Configuration.maximumSinglePutBytes {
            throw BlockStoreError(
                .limitExceeded,
                "object \(key) is \(count) bytes; a single S3 PUT takes at most 5 GiB: split the object"
            )
        }
    }

    func notFound(_ key: ObjectKey) -> BlockStoreError {
        BlockStoreError(.notFound, "object \(key) does not exist in \(location)")
    }

    func isMissingBucket(_ response: S3HTTPResponse) -> Bool {
        S3XMLNode.parse(response.body)?.text(of: "Code") == "NoSuchBucket"
    }

    func malformed(_ operation: String, _ response: S3HTTPResponse) -> BlockStoreError {
        BlockStoreError(
            .backendError,
            "\(operation) at \(location) returned a response that is not S3's XML (\(response.body.prefix(Self.quotedResponseBytesMax).count) bytes: \(String(decoding: response.body.prefix(Self.quotedResponseBytesMax), as: UTF8.self))): check that AWS_ENDPOINT_URL points at an S3 service"
        )
    }

    func record(_ request: S3HTTPRequest, retry: Bool, received: Int) {
        counters.withLock {
            $0.requestCount += 1
            if retry { $0.retryCount += 1 }
            $0.bytesSent += Int64(request.body.count)
            $0.bytesReceived += Int64(received)
            $0.requestCountByOperation[request.operation, default: 0] += 1
        }
    }

    func effectivePartSize(for count: Int) -> Int {
        let size = max(configuration.multipartPartSizeBytes, S3Configuration.minimumPartSizeBytes)
        let needed =
            (count + S3Configuration.maximumPartCount - 1) / S3Configuration.maximumPartCount
        return max(size, needed)
    }
}
