/// The `Content-Range` of a 206 answer: `bytes <first>-<last>/<total>` (RFC 9110 §14.4), the
/// total `*` when the server does not know it.
struct S3ContentRange: Equatable {
    /// The first byte served.
    var first: UInt64
    /// The last byte served (inclusive).
    var last: UInt64
    /// The object's size, nil for `*`.
    var totalBytes: UInt64?

    /// The most digits a number of the header may have: `UInt64.max` has 20.
    static let digitCountMax = 20

    /// Parses a header value; nil unless it is exactly one byte range with `first <= last`.
    init?(_ text: String) {
        var rest = Substring(text).drop { $0 == " " }
        guard rest.hasPrefix("bytes ") else { return nil }
        rest = rest.dropFirst("bytes ".count)
        let trimmed = rest.reversed().drop { $0 == " " }.reversed()
        let parts = String(trimmed).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        let bounds = parts[0].split(separator: "-", omittingEmptySubsequences: false)
        guard bounds.count == 2, let first = Self.number(bounds[0]), let last = Self.number(bounds[1]),
            first <= last
        else { return nil }
        if parts[1] == "*" {
            totalBytes = nil
        } else {
            guard let total = Self.number(parts[1]) else { return nil }
            totalBytes = total
        }
        self.first = first
        self.last = last
    }

    /// A decimal number of ASCII digits only (no sign, no spaces), nil when it overflows.
    private static func number(_ text: Substring) -> UInt64? {
        guard !text.isEmpty, text.utf8.count <= digitCountMax,
            text.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
        else { return nil }
        return UInt64(text)
    }
}
