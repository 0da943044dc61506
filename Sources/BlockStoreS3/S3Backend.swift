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
    /// The largest object size believed, in a listing or a `Content-Length`: S3's own limit,
    /// 5 TiB. A larger claim is refused before it is converted or used.
    static let objectBytesMax: UInt64 = 5 << 40
    /// How many truncated pages without a key one listing accepts in a row before it calls the
    /// service stuck (S3 may return a few while it skips over deleted keys).
    static let emptyListPageCountMax = 100
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

    /// Reads a whole object (at most 5 GiB, the largest single PUT).
    /// - Throws: `BlockStoreError` `.notFound` when the object does not exist; `.backendError`
    ///   on failure.
    public func get(_ key: ObjectKey) async throws -> [UInt8] {
        try await get(key, limits: .object(bytesMax: Self.maxResponseBytes))
    }

    /// Reads a whole object of at most `byteCountMax` bytes. A `Content-Length` above the cap
    /// is refused before the body is read; a body without one is counted while it streams.
    /// - Throws: `BlockStoreError` `.notFound` when the object does not exist, `.limitExceeded`
    ///   when it is larger than `byteCountMax`; `.backendError` on failure.
    public func get(_ key: ObjectKey, byteCountMax: Int) async throws -> [UInt8] {
        precondition(byteCountMax >= 0, "byteCountMax must not be negative")
        do {
            return try await get(key, limits: .object(bytesMax: min(byteCountMax, Self.maxResponseBytes)))
        } catch let error as BlockStoreError where error.code == .limitExceeded {
            guard case .responseTooLarge(_, let declared)? = error.underlying as? S3TransportError else { throw error }
            throw BlockStoreError.objectTooLarge(
                key, sizeBytes: declared.map(UInt64.init), byteCountMax: byteCountMax, location: location)
        }
    }

    /// A GetObject whose body may be as large as `limits` allows.
    private func get(_ key: ObjectKey, limits: S3ResponseLimits) async throws -> [UInt8] {
        try await ensureBucket()
        let response = try await send(
            S3Request(operation: "GetObject", method: "GET", object: objectName(key), responseLimits: limits)
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
    ///
    /// A 206 answer must say with `Content-Range` that it holds exactly the requested bytes (or
    /// those up to the object's end), and carry no more than the range's length; a 200 (a
    /// service that ignores ranges) no more than the bytes up to the range's end.
    /// - Throws: `BlockStoreError` `.notFound` when the object does not exist; `.backendError`
    ///   on failure or an answer that does not fit the range.
    public func get(_ key: ObjectKey, range: Range<UInt64>) async throws -> [UInt8] {
        try await ensureBucket()
        if range.isEmpty {
            guard try await size(key) != nil else { throw notFound(key) }
            return []
        }
        // Ends past any possible object (beyond Int64) are sent open-ended: `bytes=N-`.
        let last = range.upperBound > UInt64(Int64.max) ? "" : String(range.upperBound - 1)
        let response = try await send(
            S3Request(
                operation: "GetObject", method: "GET", object: objectName(key),
                headers: [("Range", "bytes=\(range.lowerBound)-\(last)")],
                responseLimits: .range(range, bytesMax: Self.maxResponseBytes))
        ).response
        switch response.status {
        case 206:
            try checkPartialContent(response, of: key, range: range)
            return response.body
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
            guard length <= Self.objectBytesMax else {
                throw BlockStoreError(
                    .backendError,
                    "HeadObject \(key) at \(location) claims \(length) bytes, more than the \(Self.objectBytesMax) "
                        + "any S3 object can have: the service is not S3-compatible")
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
        // What makes the listing advance: each bucket key after the one before (and after
        // `after`), each continuation token new, few empty pages in a row.
        var lastName: [UInt8]? = after.map { Array(objectName($0).utf8) }
        var tokensSeen: Set<String> = []
        var emptyPages = 0
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
            let contents = root.children("Contents")
            for item in contents {
                guard let name = item.text(of: "Key") else {
                    throw malformed("ListObjectsV2 (an entry without a Key)", response)
                }
                let nameBytes = Array(name.utf8)
                if let lastName, !lastName.lexicographicallyPrecedes(nameBytes) {
                    throw notAdvancing(
                        prefix: prefix,
                        "key \(name.prefix(200)) follows \(String(decoding: lastName.prefix(200), as: UTF8.self))")
                }
                lastName = nameBytes
                guard let sizeText = item.text(of: "Size"), let sizeBytes = UInt64(sizeText),
                    sizeBytes <= Self.objectBytesMax
                else {
                    throw malformed("ListObjectsV2 (a Size that is not a byte count of at most 5 TiB)", response)
                }
                guard name.utf8.count > strip, let key = ObjectKey(String(Substring(name.utf8.dropFirst(strip))))
                else { continue }  // not a key of this store: ignore it.
                entries.append(.init(key: key, sizeBytes: sizeBytes))
            }
            truncated = root.text(of: "IsTruncated") == "true"
            token = root.text(of: "NextContinuationToken")
            if truncated {
                guard let token else {
                    throw malformed("ListObjectsV2 (truncated without NextContinuationToken)", response)
                }
                guard tokensSeen.insert(token).inserted else {
                    throw notAdvancing(prefix: prefix, "continuation token \(token.prefix(200)) came back")
                }
                emptyPages = contents.isEmpty ? emptyPages + 1 : 0
                guard emptyPages <= Self.emptyListPageCountMax else {
                    throw notAdvancing(prefix: prefix, "\(emptyPages) truncated pages in a row held no key")
                }
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

    /// The error for a listing that repeats itself instead of moving on.
    func notAdvancing(prefix: String, _ detail: String) -> BlockStoreError {
        BlockStoreError(
            .backendError,
            "ListObjectsV2 of '\(prefix)' at \(location) does not advance (\(detail)): the service is not "
                + "behaving as S3 does; stopped instead of looping")
    }

    /// The error for a 206 answer whose `Content-Range` is not the range asked for.
    func wrongRange(_ key: ObjectKey, _ range: Range<UInt64>, _ detail: String) -> BlockStoreError {
        BlockStoreError(
            .backendError,
            "GetObject \(key) bytes \(range.lowerBound)..<\(range.upperBound) at \(location) was answered "
                + "with \(detail): the service or a proxy is not behaving as S3 does")
    }

    /// Checks that a 206 answer holds exactly the bytes of `range` that exist: `Content-Range:
    /// bytes <first>-<last>/<total>` with `first` the range's start, `last` its end or the
    /// object's, and a body of `last - first + 1` bytes.
    func checkPartialContent(_ response: S3HTTPResponse, of key: ObjectKey, range: Range<UInt64>) throws {
        guard let header = response.header("content-range") else {
            throw wrongRange(key, range, "a 206 without Content-Range")
        }
        guard let served = S3ContentRange(header) else {
            throw wrongRange(key, range, "Content-Range '\(header.prefix(100))', which is not one")
        }
        // The last byte the answer must end at: the range's, or the object's when it ends first.
        var expectedLast = range.upperBound - 1
        if let total = served.totalBytes {
            guard total <= Self.objectBytesMax, served.last < total else {
                throw wrongRange(key, range, "Content-Range '\(header.prefix(100))'")
            }
            expectedLast = min(expectedLast, total - 1)
        }
        guard served.first == range.lowerBound, served.last == expectedLast else {
            throw wrongRange(key, range, "Content-Range '\(header.prefix(100))'")
        }
        guard UInt64(response.body.count) == served.last - served.first + 1 else {
            throw wrongRange(
                key, range, "\(response.body.count) bytes for Content-Range '\(header.prefix(100))'")
        }
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
