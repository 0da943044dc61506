/// What an ``S3Backend`` has sent so far: for request-count figures and tests.
public struct S3Statistics: Sendable, Equatable {
    /// HTTP requests sent, every attempt counted (retries included).
    public var requestCount: Int = 0
    /// Attempts that were retries of a failed attempt.
    public var retryCount: Int = 0
    /// Request body bytes sent.
    public var bytesSent: Int64 = 0
    /// Response body bytes received.
    public var bytesReceived: Int64 = 0
    /// Requests sent per S3 operation (`PutObject`, `UploadPart`, `ListObjectsV2`, …).
    public var requestCountByOperation: [String: Int] = [:]

    /// Creates empty statistics.
    public init() {}
}
