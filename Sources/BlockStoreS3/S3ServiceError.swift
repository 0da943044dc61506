/// An error response of an S3 service, carried as the `underlying` cause of a
/// `BlockStoreError` so that a program can tell bad credentials from a missing bucket.
///
/// ```swift
/// catch let error as BlockStoreError {
///     if (error.underlying as? S3ServiceError)?.reason == .credentialsRejected { … }
/// }
/// ```
public struct S3ServiceError: Error, Sendable, CustomStringConvertible {
    /// The class of failure, for programs to switch on (with a default: reasons may be added).
    public struct Reason: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case credentialsRejected, bucketMissing, accessDenied, wrongRegion, throttled
            case serverError, preconditionFailed, invalidRequest, other
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The service does not accept the access key, signature or token (403
        /// `InvalidAccessKeyId`, `SignatureDoesNotMatch`, `InvalidToken`, `ExpiredToken`).
        public static let credentialsRejected = Reason(.credentialsRejected)
        /// The bucket does not exist (404 `NoSuchBucket`).
        public static let bucketMissing = Reason(.bucketMissing)
        /// The credentials are valid but lack a permission (403 `AccessDenied`).
        public static let accessDenied = Reason(.accessDenied)
        /// The bucket lives in another region than configured (301, 400
        /// `AuthorizationHeaderMalformed`).
        public static let wrongRegion = Reason(.wrongRegion)
        /// The service asked to slow down (503 `SlowDown`, 429) and retries ran out.
        public static let throttled = Reason(.throttled)
        /// The service failed (5xx) and retries ran out.
        public static let serverError = Reason(.serverError)
        /// A conditional request's condition did not hold (412).
        public static let preconditionFailed = Reason(.preconditionFailed)
        /// The service rejected the request as malformed (other 4xx).
        public static let invalidRequest = Reason(.invalidRequest)
        /// Anything else.
        public static let other = Reason(.other)

        /// The reason's stable name, e.g. `"bucketMissing"`.
        public var description: String { base.rawValue }
    }

    /// The class of failure.
    public var reason: Reason
    /// The HTTP status code.
    public var statusCode: Int
    /// The S3 error code from the response body, e.g. `NoSuchBucket`; empty when the response
    /// had no body (HEAD).
    public var code: String
    /// The service's message, if any.
    public var message: String
    /// The S3 operation that failed, e.g. `PutObject`.
    public var operation: String
    /// The service's request ID (`x-amz-request-id`), for support cases.
    public var requestID: String?

    /// Creates a service error.
    public init(
        reason: Reason, statusCode: Int, code: String, message: String, operation: String,
        requestID: String? = nil
    ) {
        self.reason = reason
        self.statusCode = statusCode
        self.code = code
        self.message = message
        self.operation = operation
        self.requestID = requestID
    }

    /// The error as one line: code, message and cause.
    public var description: String {
        "\(operation): HTTP \(statusCode)"
            + (code.isEmpty ? "" : " \(code)")
            + (message.isEmpty ? "" : ": \(message)")
            + (requestID.map { " (request \($0))" } ?? "")
    }

    /// Classifies a status and an S3 error code.
    static func reason(status: Int, code: String) -> Reason {
        switch (status, code) {
        case (_, "InvalidAccessKeyId"), (_, "SignatureDoesNotMatch"), (_, "InvalidToken"),
            (_, "ExpiredToken"), (_, "TokenRefreshRequired"), (_, "InvalidSecurity"):
            return .credentialsRejected
        case (_, "NoSuchBucket"): return .bucketMissing
        case (_, "AccessDenied"), (_, "AllAccessDisabled"), (403, _): return .accessDenied
        case (301, _), (_, "AuthorizationHeaderMalformed"), (_, "PermanentRedirect"),
            (_, "IllegalLocationConstraintException"):
            return .wrongRegion
        case (503, "SlowDown"), (429, _), (_, "SlowDown"), (_, "Throttling"): return .throttled
        case (412, _): return .preconditionFailed
        case (500..., _): return .serverError
        case (400..<500, _): return .invalidRequest
        default: return .other
        }
    }
}
