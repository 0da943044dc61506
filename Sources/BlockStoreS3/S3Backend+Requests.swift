import AsyncHTTPClient
import BlockStore
import Crypto

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One S3 call before signing: an operation on the bucket (`object == nil`) or on one object.
struct S3Request: Sendable {
    var operation: String
    var method: String
    var object: String? = nil
    var query: [(String, String)] = []
    var headers: [(String, String)] = []
    var body: ArraySlice<UInt8> = []
    /// Whether to send `Content-MD5` (DeleteObjects requires it; unsigned payloads get it for
    /// integrity).
    var contentMD5 = false
    /// How large the response body may be: XML unless the call reads an object.
    var responseLimits = S3ResponseLimits.xml
}

/// A response and whether an earlier attempt of the same request may have taken effect.
struct S3Sent: Sendable {
    var response: S3HTTPResponse
    /// An earlier attempt failed after the request could have reached the service (a lost
    /// response, a timeout, a 5xx).
    var ambiguous: Bool
}

extension S3Backend {
    /// Signs and sends `request`, retrying connection errors, timeouts, 5xx and throttling per
    /// the retry policy, with at most `maxRequestsInFlight` requests out at once.
    ///
    /// - Returns: The last response (any status, including a 5xx when retries ran out).
    /// - Throws: `BlockStoreError` `.backendError` when the endpoint cannot be reached within the
    ///   attempts, `.cancelled` when the task is cancelled.
    func send(_ request: S3Request) async throws -> S3Sent {
        let endpoint = configuration.endpoint
        let hostName = endpoint.host ?? ""
        let hostPort = endpoint.port.map { "\(hostName):\($0)" } ?? hostName
        let path: String
        let host: String
        switch configuration.addressingStyle {
        case .path:
            host = hostPort
            path =
                "/" + configuration.bucket
                + (request.object.map { "/" + SigV4Signer.uriEncode($0, encodeSlash: false) } ?? "")
        case .virtualHosted:
            host = configuration.bucket + "." + hostPort
            path =
                "/" + (request.object.map { SigV4Signer.uriEncode($0, encodeSlash: false) } ?? "")
        }
        let queryText = request.query
            .map {
                SigV4Signer.uriEncode($0.0, encodeSlash: true) + "="
                    + SigV4Signer.uriEncode($0.1, encodeSlash: true)
            }
            .joined(separator: "&")
        let url =
            "\(endpoint.scheme ?? "https")://\(host)\(path)"
            + (queryText.isEmpty ? "" : "?" + queryText)
        let payloadHash =
            request.body.isEmpty
            ? SigV4Signer.emptyPayloadHash
            : (configuration.signsPayload
                ? SigV4Signer.hexSHA256(request.body) : SigV4Signer.unsignedPayload)
        var baseHeaders = request.headers
        if request.contentMD5 {
            baseHeaders.append(("Content-MD5", Self.contentMD5(request.body)))
        }
        if !request.body.isEmpty {
            baseHeaders.append(("Content-Type", "application/octet-stream"))
        }

        let policy = configuration.retryPolicy
        var ambiguous = false
        var lastError: (any Error & Sendable)? = nil
        for attempt in 1...policy.maxAttempts {
            if attempt > 1 {
                do {
                    try await Task.sleep(for: policy.jitteredBackoff(afterAttempt: attempt - 1))
                } catch {
                    throw cancelled(request)
                }
            }
            if Task.isCancelled { throw cancelled(request) }
            var headers = baseHeaders
            headers.append(("Host", host))
            headers += signer.sign(
                method: request.method, encodedPath: path, query: request.query,
                headers: headers,
                payloadHash: payloadHash, date: Date())
            let outgoing = S3HTTPRequest(
                operation: request.operation, method: request.method, url: url, headers: headers,
                body: request.body, responseLimits: request.responseLimits)
            let response: S3HTTPResponse
            do {
                response = try await gate.withPermit {
                    try await transport.send(outgoing, timeout: configuration.timeouts.request)
                }
                try Self.check(response, of: outgoing)
            } catch let error as S3TransportError {
                record(outgoing, retry: attempt > 1, received: 0)
                if case .lengthMismatch = error {
                    // A body cut short is what a dropped connection looks like: try again.
                    lastError = error
                    ambiguous = true
                    continue
                }
                throw transportFailure(error, request)
            } catch {
                if error is CancellationError || Task.isCancelled { throw cancelled(request) }
                if let http = error as? HTTPClientError, http == .cancelled {
                    throw cancelled(request)
                }
                record(outgoing, retry: attempt > 1, received: 0)
                lastError = error
                ambiguous = true
                continue
            }
            record(outgoing, retry: attempt > 1, received: response.body.count)
            if attempt < policy.maxAttempts, Self.isRetryable(response) {
                ambiguous = true
                continue
            }
            return S3Sent(response: response, ambiguous: ambiguous)
        }
        if let error = lastError as? S3TransportError {
            throw BlockStoreError(
                .backendError,
                "\(request.operation)\(request.object.map { " " + $0 } ?? "") at \(location) failed "
                    + "\(policy.maxAttempts) times, the last with a \(error): the connection keeps dropping, or the "
                    + "service or a proxy in front of it cuts responses short",
                underlying: error)
        }
        let t = configuration.timeouts
        throw BlockStoreError(
            .backendError,
            "could not reach \(endpointText) for \(request.operation)\(request.object.map { " " + $0 } ?? "") after \(policy.maxAttempts) attempts (connect timeout \(t.connect), read timeout \(t.read)): check the endpoint URL (AWS_ENDPOINT_URL) and that the service is running and reachable",
            underlying: lastError)
    }

    /// Checks what any transport returned against the request's limits: the body no larger
    /// than its status allows and, but for a HEAD, as long as its `Content-Length` says.
    static func check(_ response: S3HTTPResponse, of request: S3HTTPRequest) throws(S3TransportError) {
        let limit = request.responseLimits.bytesMax(status: response.status)
        guard response.body.count <= limit else {
            throw .responseTooLarge(limit: limit, declaredBytes: nil)
        }
        guard request.method != "HEAD", let text = response.header("content-length") else { return }
        guard let declared = Int(text), declared >= 0 else { throw .malformedContentLength }
        guard declared == response.body.count else {
            throw .lengthMismatch(declaredBytes: declared, receivedBytes: response.body.count)
        }
    }

    /// The error for a response the transport refused: `limitExceeded` for one too large,
    /// `backendError` otherwise.
    func transportFailure(_ error: S3TransportError, _ request: S3Request) -> BlockStoreError {
        let what = "\(request.operation)\(request.object.map { " " + $0 } ?? "") at \(location)"
        if case .responseTooLarge = error {
            return BlockStoreError(
                .limitExceeded,
                "\(what) was answered with a \(error); it was not read: the service or a proxy in "
                    + "front of it is not behaving as S3 does",
                underlying: error)
        }
        return BlockStoreError(.backendError, "\(what) failed: \(error)", underlying: error)
    }

    /// The base64 MD5 of `body`, the value of a `Content-MD5` header.
    package static func contentMD5(_ body: ArraySlice<UInt8>) -> String {
        Data(Insecure.MD5.hash(data: body)).base64EncodedString()
    }

    /// Whether a response is worth another attempt: 5xx, throttling, S3's idle-connection
    /// `RequestTimeout`, and a conditional write racing another one.
    static func isRetryable(_ response: S3HTTPResponse) -> Bool {
        switch response.status {
        case 500, 502, 503, 504, 429: return true
        case 400, 409:
            let code = S3XMLNode.parse(response.body)?.text(of: "Code")
            return code == "RequestTimeout" || code == "ConditionalRequestConflict"
        default: return false
        }
    }

    func cancelled(_ request: S3Request) -> BlockStoreError {
        BlockStoreError(.cancelled, "\(request.operation) at \(location) was cancelled")
    }

    /// The error for a response that failed: a `BlockStoreError` `.backendError` (or
    /// `.limitExceeded`) with an ``S3ServiceError`` underneath and a message that says what to fix.
    func failure(
        _ response: S3HTTPResponse, _ operation: String, key: ObjectKey?, name: String? = nil,
        statusOverride: Int? = nil
    ) -> BlockStoreError {
        let status = statusOverride ?? response.status
        let xml = S3XMLNode.parse(response.body)
        let code = xml?.text(of: "Code") ?? ""
        let message = xml?.text(of: "Message") ?? ""
        let reason = S3ServiceError.reason(status: status, code: code)
        let service = S3ServiceError(
            reason: reason, statusCode: status, code: code, message: message, operation: operation,
            requestID: response.header("x-amz-request-id") ?? response.header("x-amzn-requestid"))
        let bucket = configuration.bucket
        let target =
            "s3://\(bucket)" + ((key.map { objectName($0) } ?? name).map { "/" + $0 } ?? "")
        let attempts = configuration.retryPolicy.maxAttempts
        let text: String
        var blockCode = BlockStoreError.Code.backendError
        switch reason {
        case .credentialsRejected:
            text =
                "credentials rejected by \(endpointText) (\(code)): check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN (temporary credentials expire), and that this machine's clock is right"
        case .bucketMissing:
            text =
                "bucket \(bucket) does not exist at \(endpointText): create it (e.g. aws s3 mb s3://\(bucket)) or fix the bucket name, AWS_ENDPOINT_URL and AWS_REGION"
        case .accessDenied:
            text =
                "access denied: \(operation) on \(target) at \(endpointText) (\(code.isEmpty ? "HTTP \(status)" : code)): grant these credentials s3:ListBucket on the bucket and s3:GetObject, s3:PutObject, s3:DeleteObject on its objects, or check AWS_ACCESS_KEY_ID"
        case .wrongRegion:
            let actual = response.header("x-amz-bucket-region") ?? xml?.text(of: "Region")
            text =
                "bucket \(bucket) is not in region \(configuration.region) at \(endpointText)"
                + (actual.map { ": set AWS_REGION=\($0)" }
                    ?? ": set AWS_REGION to the bucket's region")
        case .throttled:
            text =
                "\(endpointText) kept throttling \(operation) on \(target) after \(attempts) attempts: lower maxRequestsInFlight or retry later"
        case .serverError:
            text =
                "\(endpointText) failed \(operation) on \(target) with HTTP \(status) after \(attempts) attempts: retry later"
        default:
            if code == "EntityTooLarge" { blockCode = .limitExceeded }
            text =
                "\(endpointText) refused \(operation) on \(target): HTTP \(status)\(code.isEmpty ? "" : " \(code)")\(message.isEmpty ? "" : ": \(message)")"
        }
        return BlockStoreError(blockCode, text, underlying: service)
    }
}
