import BlockStore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Where an S3 store lives and how to talk to it.
///
/// Takes its settings the way every S3 tool does: ``fromEnvironment(bucket:keyPrefix:environment:)``
/// reads `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`
/// (default `us-east-1`) and `AWS_ENDPOINT_URL`; ``fromStoreURL(_:environment:)`` does the same
/// for a store URL `s3://BUCKET/PREFIX`, the form the CLI takes for `--store`.
///
/// ```swift
/// var configuration = try S3Configuration.fromStoreURL("s3://backups/vm-hosts")
/// configuration.maxRequestsInFlight = 32
/// let backend = S3Backend(configuration: configuration)
/// ```
public struct S3Configuration: Sendable {
    /// The service's base URL, e.g. `https://s3.eu-west-1.amazonaws.com` or
    /// `http://127.0.0.1:9000`; only scheme, host and port are used.
    public var endpoint: URL
    /// The region that signs requests, e.g. `us-east-1` (MinIO and moto accept any).
    public var region: String
    /// The bucket; it must exist.
    public var bucket: String
    /// The prefix every object key of the store gets, `/`-separated segments without a leading
    /// or trailing `/`; empty for the bucket's root.
    public var keyPrefix: String
    /// The credentials that sign requests.
    public var credentials: S3Credentials
    /// Path-style or virtual-hosted-style requests.
    public var addressingStyle: S3AddressingStyle
    /// Connect, read and per-attempt timeouts.
    public var timeouts: S3Timeouts
    /// Which failures are retried and how long to wait between attempts.
    public var retryPolicy: S3RetryPolicy
    /// The most requests the backend has in flight at once, over all operations. Default 16.
    public var maxRequestsInFlight: Int
    /// Objects larger than this are uploaded in parts (multipart upload). Default 32 MiB;
    /// at least ``multipartPartSizeBytes``.
    public var multipartThresholdBytes: Int
    /// The size of each part but the last; at least 5 MiB (S3's minimum). Default 16 MiB.
    public var multipartPartSizeBytes: Int
    /// The most parts of one object uploaded at once. Default 4.
    public var multipartConcurrency: Int
    /// Whether the service honours `If-None-Match: *` on PutObject, so that
    /// ``S3Backend/create(_:data:)`` is atomic against concurrent creators.
    ///
    /// Default: `true` for AWS endpoints (`*.amazonaws.com`), `false` elsewhere. Some
    /// S3-compatible services silently ignore the header and overwrite; on those, leave this
    /// `false`: the backend then checks for the object before writing, which narrows but does not
    /// close the race, and the store must not rely on `create` for safety (it does not: object
    /// names are never reused). ``S3Backend/probeConditionalWrites()`` tells whether a service
    /// honours the header.
    public var createIsAtomic: Bool
    /// Whether request bodies are hashed into the signature (`x-amz-content-sha256` with the
    /// SHA-256), so the service rejects a body damaged in transit. When `false` bodies are sent as
    /// `UNSIGNED-PAYLOAD` (faster; TLS still protects them on `https`). Default `true`.
    public var signsPayload: Bool

    /// The smallest part S3 accepts (5 MiB).
    public static let minimumPartSizeBytes = 5 * 1024 * 1024
    /// The largest object a single PutObject may write (5 GiB).
    public static let maximumSinglePutBytes = 5 * 1024 * 1024 * 1024
    /// The most parts one multipart upload may have.
    public static let maximumPartCount = 10_000

    /// Creates a configuration.
    /// - Parameters:
    ///   - endpoint: The service's base URL (`http` or `https`).
    ///   - region: The signing region.
    ///   - bucket: The bucket.
    ///   - keyPrefix: The prefix of every key; empty for none.
    ///   - credentials: The signing credentials.
    ///   - addressingStyle: Path or virtual-hosted style; nil picks virtual-hosted for AWS
    ///     endpoints with a DNS-compatible bucket, path style otherwise.
    ///   - createIsAtomic: Whether the service honours `If-None-Match: *`; nil means `true` for
    ///     AWS endpoints and `false` elsewhere.
    /// - Throws: `BlockStoreError` `.invalidArgument` when the endpoint, bucket or prefix is
    ///   malformed, with what to fix.
    public init(
        endpoint: URL,
        region: String = "us-east-1",
        bucket: String,
        keyPrefix: String = "",
        credentials: S3Credentials,
        addressingStyle: S3AddressingStyle? = nil,
        createIsAtomic: Bool? = nil
    ) throws {
        guard let scheme = endpoint.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = endpoint.host, !host.isEmpty
        else {
            throw BlockStoreError(
                .invalidArgument,
                "S3 endpoint '\(endpoint.absoluteString)' is not an http(s) URL with a host: use e.g. https://s3.us-east-1.amazonaws.com or http://127.0.0.1:9000"
            )
        }
        try Self.validateBucket(bucket)
        let prefix = trimmed(keyPrefix, "/")
        if !prefix.isEmpty, !ObjectKey.isValid(prefix) {
            throw BlockStoreError(
                .invalidArgument,
                "S3 key prefix '\(keyPrefix)' is not valid: use '/'-separated segments of A-Z a-z 0-9 . _ -"
            )
        }
        guard !region.isEmpty else {
            throw BlockStoreError(
                .invalidArgument, "S3 region is empty: set AWS_REGION, e.g. us-east-1")
        }
        let isAWS = host.lowercased().hasSuffix(".amazonaws.com")
        self.endpoint = endpoint
        self.region = region
        self.bucket = bucket
        self.keyPrefix = prefix
        self.credentials = credentials
        self.addressingStyle =
            addressingStyle
            ?? ((isAWS && !bucket.contains(".")) ? .virtualHosted : .path)
        self.timeouts = S3Timeouts()
        self.retryPolicy = S3RetryPolicy()
        self.maxRequestsInFlight = 16
        self.multipartThresholdBytes = 32 * 1024 * 1024
        self.multipartPartSizeBytes = 16 * 1024 * 1024
        self.multipartConcurrency = 4
        self.createIsAtomic = createIsAtomic ?? isAWS
        self.signsPayload = true
    }

    /// A configuration from the standard AWS environment variables.
    ///
    /// Reads `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` (required), `AWS_SESSION_TOKEN`,
    /// `AWS_REGION` (else `AWS_DEFAULT_REGION`, else `us-east-1`), and `AWS_ENDPOINT_URL_S3` or
    /// `AWS_ENDPOINT_URL` (else AWS's regional endpoint `https://s3.REGION.amazonaws.com`).
    /// - Parameters:
    ///   - bucket: The bucket.
    ///   - keyPrefix: The key prefix; empty for none.
    ///   - environment: The variables to read; the process environment by default.
    /// - Throws: `BlockStoreError` `.invalidArgument` naming the variable to set or fix.
    public static func fromEnvironment(
        bucket: String,
        keyPrefix: String = "",
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> S3Configuration {
        func value(_ name: String) -> String? {
            guard let v = environment[name].map({ trimmed($0, " \t\n") }), !v.isEmpty else {
                return nil
            }
            return String(v)
        }
        guard let accessKey = value("AWS_ACCESS_KEY_ID") else {
            throw BlockStoreError(
                .invalidArgument,
                "AWS_ACCESS_KEY_ID is not set: export the access key of the S3 store's credentials")
        }
        guard let secret = value("AWS_SECRET_ACCESS_KEY") else {
            throw BlockStoreError(
                .invalidArgument,
                "AWS_SECRET_ACCESS_KEY is not set: export the secret key that belongs to AWS_ACCESS_KEY_ID"
            )
        }
        let region = value("AWS_REGION") ?? value("AWS_DEFAULT_REGION") ?? "us-east-1"
        let endpointText =
            value("AWS_ENDPOINT_URL_S3") ?? value("AWS_ENDPOINT_URL")
            ?? "https://s3.\(region).amazonaws.com"
        guard let endpoint = URL(string: endpointText), endpoint.host != nil else {
            throw BlockStoreError(
                .invalidArgument,
                "AWS_ENDPOINT_URL '\(endpointText)' is not a URL: use e.g. http://127.0.0.1:9000 or https://s3.us-east-1.amazonaws.com"
            )
        }
        return try S3Configuration(
            endpoint: endpoint, region: region, bucket: bucket, keyPrefix: keyPrefix,
            credentials: S3Credentials(
                accessKeyID: accessKey, secretAccessKey: secret,
                sessionToken: value("AWS_SESSION_TOKEN")))
    }

    /// A configuration for a store URL `s3://BUCKET/PREFIX`, the rest from the environment (see
    /// ``fromEnvironment(bucket:keyPrefix:environment:)``).
    /// - Throws: `BlockStoreError` `.invalidArgument` when the URL or the environment is wrong.
    public static func fromStoreURL(
        _ storeURL: String,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> S3Configuration {
        let (bucket, prefix) = try parseStoreURL(storeURL)
        return try fromEnvironment(bucket: bucket, keyPrefix: prefix, environment: environment)
    }

    /// Whether `text` is a store URL this module handles (starts with `s3://`), for a CLI that
    /// also takes directories.
    public static func isStoreURL(_ text: String) -> Bool {
        text.lowercased().hasPrefix("s3://")
    }

    /// Splits a store URL `s3://BUCKET` or `s3://BUCKET/PREFIX` into bucket and key prefix.
    /// - Throws: `BlockStoreError` `.invalidArgument` when the URL is not of that form.
    public static func parseStoreURL(_ storeURL: String) throws -> (
        bucket: String, keyPrefix: String
    ) {
        guard isStoreURL(storeURL) else {
            throw BlockStoreError(
                .invalidArgument,
                "'\(storeURL)' is not an S3 store URL: use s3://BUCKET or s3://BUCKET/PREFIX")
        }
        let rest = storeURL.dropFirst("s3://".count)
        if rest.contains("?") || rest.contains("#") {
            throw BlockStoreError(
                .invalidArgument,
                "'\(storeURL)' has a query or fragment: use s3://BUCKET/PREFIX and set the endpoint and region with AWS_ENDPOINT_URL and AWS_REGION"
            )
        }
        let bucket = String(rest.prefix { $0 != "/" })
        let prefix = trimmed(rest.dropFirst(bucket.count), "/")
        guard !bucket.isEmpty else {
            throw BlockStoreError(
                .invalidArgument, "'\(storeURL)' names no bucket: use s3://BUCKET/PREFIX")
        }
        try validateBucket(bucket)
        if !prefix.isEmpty, !ObjectKey.isValid(prefix) {
            throw BlockStoreError(
                .invalidArgument,
                "the prefix '\(prefix)' of '\(storeURL)' is not valid: use '/'-separated segments of A-Z a-z 0-9 . _ -"
            )
        }
        return (bucket, prefix)
    }

    /// The store URL of this configuration, `s3://BUCKET/PREFIX`.
    public var storeURL: String {
        keyPrefix.isEmpty ? "s3://\(bucket)" : "s3://\(bucket)/\(keyPrefix)"
    }

    static func validateBucket(_ bucket: String) throws {
        let ok =
            (3...63).contains(bucket.utf8.count)
            && bucket.utf8.allSatisfy { c in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(c)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c)
                    || c == UInt8(ascii: "-") || c == UInt8(ascii: ".") || c == UInt8(ascii: "_")
            }
            && bucket.first != "-" && bucket.first != "." && bucket.last != "-"
            && bucket.last != "."
        guard ok else {
            throw BlockStoreError(
                .invalidArgument,
                "'\(bucket)' is not a valid S3 bucket name: use 3 to 63 characters of a-z 0-9 . - (lower case, starting and ending with a letter or digit)"
            )
        }
    }
}

/// `text` without leading and trailing characters of `set`.
func trimmed(_ text: some StringProtocol, _ set: String) -> String {
    var s = Substring(text)
    while let f = s.first, set.contains(f) { s = s.dropFirst() }
    while let l = s.last, set.contains(l) { s = s.dropLast() }
    return String(s)
}
