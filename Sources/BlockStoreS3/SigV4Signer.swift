import BlockStore
import Crypto

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// AWS Signature Version 4 (`AWS4-HMAC-SHA256`) for S3 requests.
///
/// The signer follows S3's rules: the path is URI-encoded once (S3 keys are not
/// double-encoded, unlike other AWS services), `/` stays literal in the path, query names and
/// values are encoded with `/` as `%2F` and sorted by name, header names are lowercased, sorted,
/// their values trimmed with inner runs of spaces collapsed. The payload hash is the hex SHA-256
/// of the body, or ``unsignedPayload`` to leave the body out of the signature; S3 requires it in
/// the `x-amz-content-sha256` header, which ``sign(method:encodedPath:query:headers:payloadHash:date:sendsContentSHA256:)``
/// adds and signs.
///
/// ```swift
/// let signer = SigV4Signer(credentials: credentials, region: "us-east-1")
/// var headers = [("host", "examplebucket.s3.amazonaws.com")]
/// headers += signer.sign(method: "GET", encodedPath: "/test.txt", query: [], headers: headers,
///                        payloadHash: SigV4Signer.emptyPayloadHash, date: Date())
/// ```
public struct SigV4Signer: Sendable {
    /// The credentials that sign.
    public var credentials: S3Credentials
    /// The region of the credential scope, e.g. `us-east-1`.
    public var region: String
    /// The service of the credential scope: `s3` for S3.
    public var service: String

    /// The payload hash that leaves the body out of the signature.
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"
    /// The hex SHA-256 of an empty body.
    public static let emptyPayloadHash =
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// Creates a signer.
    /// - Parameters:
    ///   - credentials: The credentials that sign.
    ///   - region: The region of the credential scope.
    ///   - service: The service of the credential scope (`s3`).
    public init(credentials: S3Credentials, region: String, service: String = "s3") {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// Signs a request and returns the headers to add to it: `x-amz-date`, `x-amz-content-sha256`
    /// (when `sendsContentSHA256`), `x-amz-security-token` (with a session token) and
    /// `Authorization`.
    ///
    /// - Parameters:
    ///   - method: The HTTP method, e.g. `PUT`.
    ///   - encodedPath: The request path exactly as sent, already URI-encoded (see
    ///     ``uriEncode(_:encodeSlash:)``).
    ///   - query: The query parameters, not encoded; the signer encodes and sorts them.
    ///   - headers: The headers to sign, `host` among them; names in any case.
    ///   - payloadHash: The hex SHA-256 of the body, or ``unsignedPayload``.
    ///   - date: The signing time; requests more than 15 minutes off the service's clock fail.
    ///   - sendsContentSHA256: Whether to add and sign `x-amz-content-sha256` (S3 requires it;
    ///     the generic AWS test suite leaves it out).
    /// - Returns: The headers to add, in the order above.
    public func sign(
        method: String,
        encodedPath: String,
        query: [(String, String)],
        headers: [(String, String)],
        payloadHash: String,
        date: Date,
        sendsContentSHA256: Bool = true
    ) -> [(String, String)] {
        let amzDate = Self.amzDate(date)
        var added: [(String, String)] = [("x-amz-date", amzDate)]
        if sendsContentSHA256 { added.append(("x-amz-content-sha256", payloadHash)) }
        if let token = credentials.sessionToken { added.append(("x-amz-security-token", token)) }
        let (canonical, signedHeaders) = canonicalRequest(
            method: method, encodedPath: encodedPath, query: query, headers: headers + added,
            payloadHash: payloadHash)
        let signature = signature(
            stringToSign: stringToSign(canonicalRequest: canonical, amzDate: amzDate),
            dateStamp: String(amzDate.prefix(8)))
        added.append(
            (
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope(dateStamp: String(amzDate.prefix(8)))), "
                    + "SignedHeaders=\(signedHeaders), Signature=\(signature)"
            ))
        return added
    }

    /// The query parameters of a presigned URL (query-string authentication, payload
    /// ``unsignedPayload``, only `host` signed): the given `query` plus the `X-Amz-*` parameters,
    /// the signature last.
    /// - Parameters:
    ///   - method: The HTTP method the URL allows.
    ///   - encodedPath: The path, already URI-encoded.
    ///   - host: The `Host` the URL is sent to.
    ///   - query: Extra query parameters, not encoded.
    ///   - date: The signing time.
    ///   - expiresSeconds: How long the URL stays valid, 1 … 604800.
    /// - Returns: Parameters, not encoded; encode each name and value with
    ///   ``uriEncode(_:encodeSlash:)`` when building the URL.
    public func presignedQuery(
        method: String,
        encodedPath: String,
        host: String,
        query: [(String, String)] = [],
        date: Date,
        expiresSeconds: Int
    ) -> [(String, String)] {
        let amzDate = Self.amzDate(date)
        let dateStamp = String(amzDate.prefix(8))
        var params = query
        params.append(("X-Amz-Algorithm", "AWS4-HMAC-SHA256"))
        params.append(
            ("X-Amz-Credential", "\(credentials.accessKeyID)/\(scope(dateStamp: dateStamp))"))
        params.append(("X-Amz-Date", amzDate))
        params.append(("X-Amz-Expires", String(expiresSeconds)))
        if let token = credentials.sessionToken { params.append(("X-Amz-Security-Token", token)) }
        params.append(("X-Amz-SignedHeaders", "host"))
        let (canonical, _) = canonicalRequest(
            method: method, encodedPath: encodedPath, query: params, headers: [("host", host)],
            payloadHash: Self.unsignedPayload)
        let signature = signature(
            stringToSign: stringToSign(canonicalRequest: canonical, amzDate: amzDate),
            dateStamp: dateStamp)
        params.append(("X-Amz-Signature", signature))
        return params
    }

    /// The canonical request (step 1 of SigV4) and the `SignedHeaders` list.
    /// - Parameters: as in ``sign(method:encodedPath:query:headers:payloadHash:date:sendsContentSHA256:)``,
    ///   with `headers` holding every header to sign.
    /// - Returns: The canonical request text and the `;`-joined lowercased header names.
    public func canonicalRequest(
        method: String,
        encodedPath: String,
        query: [(String, String)],
        headers: [(String, String)],
        payloadHash: String
    ) -> (text: String, signedHeaders: String) {
        var encoded: [(name: String, value: String)] = []
        for (name, value) in query {
            encoded.append(
                (Self.uriEncode(name, encodeSlash: true), Self.uriEncode(value, encodeSlash: true)))
        }
        encoded.sort { a, b in a.name == b.name ? a.value < b.value : a.name < b.name }
        let canonicalQuery = encoded.map { $0.name + "=" + $0.value }.joined(separator: "&")
        var merged: [String: [String]] = [:]
        for (name, value) in headers {
            merged[name.lowercased(), default: []].append(Self.normalizeHeaderValue(value))
        }
        let names = merged.keys.sorted()
        let canonicalHeaders = names.map { "\($0):\(merged[$0]!.joined(separator: ","))\n" }
            .joined()
        let signedHeaders = names.joined(separator: ";")
        let text = [
            method, encodedPath.isEmpty ? "/" : encodedPath, canonicalQuery, canonicalHeaders,
            signedHeaders, payloadHash,
        ].joined(separator: "\n")
        return (text, signedHeaders)
    }

    /// The string to sign (step 2): algorithm, time, scope and the hash of the canonical request.
    public func stringToSign(canonicalRequest: String, amzDate: String) -> String {
        [
            "AWS4-HMAC-SHA256", amzDate, scope(dateStamp: String(amzDate.prefix(8))),
            Self.hexSHA256(Array(canonicalRequest.utf8)),
        ].joined(separator: "\n")
    }

    /// The hex signature of `stringToSign` with the key derived for `dateStamp` (`YYYYMMDD`).
    public func signature(stringToSign: String, dateStamp: String) -> String {
        var key = SymmetricKey(data: Array("AWS4\(credentials.secretAccessKey)".utf8))
        for part in [dateStamp, region, service, "aws4_request"] {
            key = SymmetricKey(
                data: Array(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        return Hex.encode(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: key))
    }

    /// The credential scope, `YYYYMMDD/region/service/aws4_request`.
    public func scope(dateStamp: String) -> String {
        "\(dateStamp)/\(region)/\(service)/aws4_request"
    }

    /// `date` as SigV4's basic ISO 8601 form, `YYYYMMDD'T'HHMMSS'Z'`, in UTC.
    public static func amzDate(_ date: Date) -> String {
        let total = Int64(date.timeIntervalSince1970.rounded(.down))
        var days = total / 86_400
        var secs = total % 86_400
        if secs < 0 {
            secs += 86_400
            days -= 1
        }
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        func pad(_ v: Int64, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return pad(year, 4) + pad(month, 2) + pad(day, 2) + "T" + pad(secs / 3600, 2)
            + pad(secs / 60 % 60, 2) + pad(secs % 60, 2) + "Z"
    }

    /// URI-encodes `text` the way SigV4 and S3 require: every byte except `A–Z a–z 0–9 - . _ ~`
    /// becomes `%XX` (upper-case hex); `/` stays literal unless `encodeSlash`.
    /// - Parameters:
    ///   - text: The text to encode (UTF-8).
    ///   - encodeSlash: `true` for query names and values, `false` for an object key in a path.
    public static func uriEncode(_ text: String, encodeSlash: Bool) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(byte)
            case UInt8(ascii: "/") where !encodeSlash:
                out.append(byte)
            default:
                out.append(UInt8(ascii: "%"))
                Hex.append(byte, uppercase: true, to: &out)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The lower-case hex SHA-256 of `bytes`.
    public static func hexSHA256(_ bytes: some DataProtocol) -> String {
        Hex.encode(SHA256.hash(data: bytes))
    }

    static func normalizeHeaderValue(_ value: String) -> String {
        var out = ""
        var lastWasSpace = false
        for ch in value.trimmingSpaces() {
            if ch == " " {
                if !lastWasSpace { out.append(ch) }
                lastWasSpace = true
            } else {
                out.append(ch)
                lastWasSpace = false
            }
        }
        return out
    }
}

extension String {
    func trimmingSpaces() -> Substring {
        var s = self[...]
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return s
    }
}
