/// One range of a diff: a 512-byte-aligned run of bytes and what happened to it.
///
/// Two views of the same bytes are offered:
/// - ``range`` is **half-open**: `lowerBound` is the first byte, `upperBound` one past the last
///   (a one-page range is `0..<512`).
/// - ``start`` / ``end`` are Azure's wire form, **inclusive** at both ends
///   (the same one-page range is `start = 0`, `end = 511`).
///
/// ```swift
/// let r = PageRange(0..<2560, kind: .changed)
/// print(r.start, r.end)   // 0 2559
/// ```
public struct PageRange: Sendable, Hashable, CustomStringConvertible {
    /// What the diff found in a range.
    public enum Kind: Sendable, Hashable {
        /// The target holds new data here (Azure's *PageRange*).
        case changed
        /// The target reads as zeros here, or the disk was cut short before it
        /// (Azure's *ClearRange*).
        case cleared
    }

    /// The bytes covered, half-open (`upperBound` excluded). Both bounds are multiples of 512.
    public var range: Range<UInt64>
    /// What happened to these bytes.
    public var kind: Kind

    /// Creates a range from a half-open byte range.
    /// - Precondition: non-empty, both bounds multiples of 512.
    public init(_ range: Range<UInt64>, kind: Kind) {
        precondition(!range.isEmpty, "a page range is never empty")
        precondition(
            range.lowerBound % 512 == 0 && range.upperBound % 512 == 0,
            "page ranges are 512-byte aligned")
        self.range = range
        self.kind = kind
    }

    /// Creates a range from Azure's inclusive form (`start = 0, end = 511` is one page).
    /// - Precondition: `start` a multiple of 512, `end + 1` a multiple of 512, `start <= end`.
    public init(start: UInt64, end: UInt64, kind: Kind) {
        precondition(start <= end && end < UInt64.max, "start must not pass end")
        self.init(start..<(end + 1), kind: kind)
    }

    /// The first byte, inclusive (Azure's `Start`).
    public var start: UInt64 { range.lowerBound }
    /// The last byte, **inclusive** (Azure's `End`): `range.upperBound - 1`.
    public var end: UInt64 { range.upperBound - 1 }
    /// The number of bytes covered.
    public var byteCount: UInt64 { range.upperBound - range.lowerBound }
    /// The number of 512-byte pages covered.
    public var pageCount: UInt64 { byteCount / 512 }

    /// `changed 0…2559` style, inclusive bounds as Azure prints them.
    public var description: String {
        "\(kind == .changed ? "changed" : "cleared") \(start)…\(end)"
    }
}
