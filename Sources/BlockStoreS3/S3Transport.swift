import AsyncHTTPClient

/// One HTTP request as the backend sends it (signed, with the body in memory).
package struct S3HTTPRequest: Sendable {
    /// The S3 operation, e.g. `PutObject`, `UploadPart` (for fault injection and statistics).
    package var operation: String
    /// `GET`, `PUT`, `HEAD`, `POST` or `DELETE`.
    package var method: String
    /// The absolute URL, path and query already encoded.
    package var url: String
    /// The headers to send, `Host` and `Authorization` included.
    package var headers: [(String, String)]
    /// The body; empty for none.
    package var body: ArraySlice<UInt8>
    /// How large a response body may be, by status.
    package var responseLimits: S3ResponseLimits

    package init(
        operation: String, method: String, url: String, headers: [(String, String)],
        body: ArraySlice<UInt8>, responseLimits: S3ResponseLimits = .xml
    ) {
        self.operation = operation
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.responseLimits = responseLimits
    }
}

/// The most body bytes a response may carry, by its status: a transport checks a declared
/// `Content-Length` against it before reading the body, and counts while the body streams.
package struct S3ResponseLimits: Sendable, Equatable {
    /// For a 2xx answer other than 206: an object's bytes or the operation's XML.
    package var successBytesMax: Int
    /// For a 206 Partial Content: the requested range's length.
    package var partialBytesMax: Int
    /// For any other status: an S3 error document.
    package var errorBytesMax: Int

    /// The largest XML document of a successful list, multipart or delete call: 16 MiB. A page
    /// of 1000 keys of S3's longest (1024 bytes, each character escaped) with their metadata is
    /// under 8 MiB.
    package static let xmlBytesMax = 16 << 20
    /// The largest error document: 1 MiB; S3's are a few hundred bytes.
    package static let errorBytesMax = 1 << 20

    /// Limits of a call answered with XML (or nothing): ``xmlBytesMax``.
    package static let xml = S3ResponseLimits(
        successBytesMax: xmlBytesMax, partialBytesMax: xmlBytesMax, errorBytesMax: errorBytesMax)

    /// Limits of a whole-object read: at most `bytesMax` bytes of object.
    package static func object(bytesMax: Int) -> S3ResponseLimits {
        S3ResponseLimits(successBytesMax: bytesMax, partialBytesMax: bytesMax, errorBytesMax: errorBytesMax)
    }

    /// Limits of a ranged read of `range`, capped at `bytesMax`: a 206 carries at most the
    /// range's length, a 200 (a service that ignored the range) at most the bytes up to the
    /// range's end.
    package static func range(_ range: Range<UInt64>, bytesMax: Int) -> S3ResponseLimits {
        S3ResponseLimits(
            successBytesMax: Int(clamping: min(range.upperBound, UInt64(bytesMax))),
            partialBytesMax: Int(clamping: min(range.upperBound - range.lowerBound, UInt64(bytesMax))),
            errorBytesMax: errorBytesMax)
    }

    package init(successBytesMax: Int, partialBytesMax: Int, errorBytesMax: Int) {
        self.successBytesMax = successBytesMax
        self.partialBytesMax = partialBytesMax
        self.errorBytesMax = errorBytesMax
    }

    /// The limit for a response of `status`.
    package func bytesMax(status: Int) -> Int {
        switch status {
        case 206: partialBytesMax
        case 200..<300: successBytesMax
        default: errorBytesMax
        }
    }
}

/// One HTTP response with its whole body.
package struct S3HTTPResponse: Sendable {
    /// The status code.
    package var status: Int
    /// The response headers.
    package var headers: [(String, String)]
    /// The body bytes.
    package var body: [UInt8]

    package init(status: Int, headers: [(String, String)], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first value of header `name` (case-insensitive).
    package func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.0.lowercased() == lower }?.1
    }
}

/// What sends one request attempt: the seam where tests inject faults.
///
/// Implementations throw on connection errors and timeouts; any HTTP status is a response.
package protocol S3Transport: Sendable {
    /// Sends one attempt of `request`, giving up after `timeout`.
    func send(_ request: S3HTTPRequest, timeout: Duration) async throws -> S3HTTPResponse
    /// Releases connections and threads; no request may be sent afterwards.
    func shutdown() async throws
}

/// The production transport: one `HTTPClient` with the configured timeouts and pool size.
package final class HTTPClientTransport: S3Transport {
    private let client: HTTPClient
    private let maxResponseBytes: Int
    /// The most room reserved for a body before its bytes arrive: 64 MiB. A larger body (up to
    /// its limit) grows as it streams, so a `Content-Length` that lies costs no memory.
    static let reservedBytesMax = 64 << 20

    /// How long an idle pooled connection is kept: a minute, below the idle timeouts of S3 and
    /// common load balancers, so the pool rarely hands out a connection the server has closed.
    static let idleConnectionTimeout: Duration = .seconds(60)

    /// Creates the client.
    /// - Parameters:
    ///   - timeouts: Connect and read timeouts.
    ///   - maxConnections: The connection pool's size per host.
    ///   - maxResponseBytes: The largest response body accepted for any request, beside the
    ///     limits each request carries (``S3HTTPRequest/responseLimits``).
    package init(timeouts: S3Timeouts, maxConnections: Int, maxResponseBytes: Int) {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(
            connect: .milliseconds(timeouts.connect.wholeMilliseconds),
            read: .milliseconds(timeouts.read.wholeMilliseconds))
        configuration.redirectConfiguration = .disallow
        configuration.connectionPool = .init(
            idleTimeout: .milliseconds(Self.idleConnectionTimeout.wholeMilliseconds),
            concurrentHTTP1ConnectionsPerHostSoftLimit: maxConnections)
        configuration.decompression = .disabled
        // The backend retries failed connections itself, with its own backoff and attempt
        // bound: a refused connection fails its attempt at once instead of after `connect`.
        configuration.connectionPool.retryConnectionEstablishment = false
        self.client = HTTPClient(
            eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        self.maxResponseBytes = maxResponseBytes
    }

    package func send(_ request: S3HTTPRequest, timeout: Duration) async throws -> S3HTTPResponse {
        var outgoing = HTTPClientRequest(url: request.url)
        switch request.method {
        case "GET": outgoing.method = .GET
        case "PUT": outgoing.method = .PUT
        case "HEAD": outgoing.method = .HEAD
        case "POST": outgoing.method = .POST
        case "DELETE": outgoing.method = .DELETE
        default: preconditionFailure("unsupported method \(request.method)")
        }
        for (name, value) in request.headers { outgoing.headers.add(name: name, value: value) }
        if !request.body.isEmpty || request.method == "PUT" || request.method == "POST" {
            outgoing.body = .bytes(request.body)
        }
        let response = try await client.execute(
            outgoing, timeout: .milliseconds(timeout.wholeMilliseconds))
        let status = Int(response.status.code)
        let limit = min(request.responseLimits.bytesMax(status: status), maxResponseBytes)
        // A HEAD's Content-Length is the object's, not a body's.
        let declared =
            request.method == "HEAD" ? nil : response.headers.first(name: "content-length").map { Int($0) ?? -1 }
        if let declared {
            guard declared >= 0 else { throw S3TransportError.malformedContentLength }
            // Refused before a byte of the body is read or a buffer sized by it.
            guard declared <= limit else {
                throw S3TransportError.responseTooLarge(limit: limit, declaredBytes: declared)
            }
        }
        var body: [UInt8] = []
        body.reserveCapacity(min(declared ?? 0, Self.reservedBytesMax))
        do {
            for try await chunk in response.body {
                guard chunk.readableBytes <= limit - body.count else {
                    throw S3TransportError.responseTooLarge(limit: limit, declaredBytes: declared)
                }
                body += chunk.readableBytesView
            }
        } catch let error where !(error is S3TransportError) {
            // The connection ended (or failed) inside a body of declared length: a body cut short.
            guard let declared, body.count < declared else { throw error }
            throw S3TransportError.lengthMismatch(declaredBytes: declared, receivedBytes: body.count)
        }
        if let declared, declared != body.count {
            throw S3TransportError.lengthMismatch(declaredBytes: declared, receivedBytes: body.count)
        }
        return S3HTTPResponse(
            status: status, headers: response.headers.map { ($0.name, $0.value) }, body: body)
    }

    package func shutdown() async throws {
        try await client.shutdown()
    }
}

/// A transport failure that is not the network's.
package enum S3TransportError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A response body exceeded the limit of its request and status; `declaredBytes` is its
    /// `Content-Length` when it had one (then nothing of the body was read).
    case responseTooLarge(limit: Int, declaredBytes: Int?)
    /// A response body ended before, or went past, the length its `Content-Length` declared.
    case lengthMismatch(declaredBytes: Int, receivedBytes: Int)
    /// A `Content-Length` that is not a number of bytes.
    case malformedContentLength

    package var description: String {
        switch self {
        case .responseTooLarge(let limit, let declared?):
            "response body of \(declared) bytes (Content-Length) is larger than the \(limit) bytes accepted"
        case .responseTooLarge(let limit, nil):
            "response body larger than the \(limit) bytes accepted"
        case .lengthMismatch(let declared, let received):
            "response body of \(received) bytes does not match its Content-Length of \(declared) bytes"
        case .malformedContentLength:
            "response Content-Length is not a number of bytes"
        }
    }
}
