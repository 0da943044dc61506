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

    package init(
        operation: String, method: String, url: String, headers: [(String, String)],
        body: ArraySlice<UInt8>
    ) {
        self.operation = operation
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
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

    /// How long an idle pooled connection is kept: a minute, below the idle timeouts of S3 and
    /// common load balancers, so the pool rarely hands out a connection the server has closed.
    static let idleConnectionTimeout: Duration = .seconds(60)

    /// Creates the client.
    /// - Parameters:
    ///   - timeouts: Connect and read timeouts.
    ///   - maxConnections: The connection pool's size per host.
    ///   - maxResponseBytes: The largest response body accepted.
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
        var body: [UInt8] = []
        if let length = response.headers.first(name: "content-length").flatMap(Int.init),
            request.method != "HEAD"
        {
            body.reserveCapacity(min(length, maxResponseBytes))
        }
        for try await chunk in response.body {
            body += chunk.readableBytesView
            if body.count > maxResponseBytes {
                throw S3TransportError.responseTooLarge(limit: maxResponseBytes)
            }
        }
        return S3HTTPResponse(
            status: Int(response.status.code),
            headers: response.headers.map { ($0.name, $0.value) }, body: body)
    }

    package func shutdown() async throws {
        try await client.shutdown()
    }
}

/// A transport failure that is not the network's.
package enum S3TransportError: Error, Sendable, CustomStringConvertible {
    /// A response body exceeded the backend's limit.
    case responseTooLarge(limit: Int)

    package var description: String {
        switch self {
        case .responseTooLarge(let limit): "response body larger than \(limit) bytes"
        }
    }
}
