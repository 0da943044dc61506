import Foundation

/// A time zone as a policy file spells it: `"Z"`, `"UTC"`, a fixed offset such as `"+01:00"`,
/// `"-0530"` or `"+02"`, or an IANA name such as `"Europe/Berlin"`.
///
/// It encodes back to the spelling it was decoded from.
///
/// ```swift
/// let zone = try PolicyTimeZone("Europe/Berlin")
/// zone.timeZone.identifier  // "Europe/Berlin"
/// ```
public struct PolicyTimeZone: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The spelling, as written in the policy.
    public let spelling: String
    /// The Foundation time zone it names.
    public let timeZone: TimeZone

    /// Parses a spelling.
    /// - Parameter spelling: `"Z"`, `"UTC"`, `"±HH:MM"`, `"±HHMM"`, `"±HH"` or an IANA name.
    /// - Throws: ``PolicyError/Code/invalidValue`` (field `timeZone`) for anything else.
    public init(_ spelling: String) throws(PolicyError) {
        self.spelling = spelling
        if let zone = Self.parse(spelling) {
            timeZone = zone
        } else {
            throw PolicyError(
                .invalidValue,
                "timeZone \"\(spelling)\" is neither Z, UTC, an offset like +01:00 nor a known IANA name",
                field: "timeZone")
        }
    }

    /// Wraps a Foundation time zone; the spelling is its identifier.
    public init(_ timeZone: TimeZone) {
        self.spelling = timeZone.identifier
        self.timeZone = timeZone
    }

    /// The largest UTC offset accepted, in hours: Foundation's `TimeZone(secondsFromGMT:)`
    /// takes ±18 h (real zones span −12 h to +14 h).
    static let offsetHoursMax = 18

    private static func parse(_ s: String) -> TimeZone? {
        if s == "Z" || s == "UTC" || s == "GMT" { return TimeZone(secondsFromGMT: 0) }
        if let sign = s.first, sign == "+" || sign == "-" {
            let digits = s.dropFirst().filter { $0 != ":" }
            guard digits.count == 2 || digits.count == 4, digits.allSatisfy(\.isASCII),
                let value = Int(digits)
            else { return nil }
            let hours = digits.count == 2 ? value : value / 100
            let minutes = digits.count == 2 ? 0 : value % 100
            if s.contains(":") && !(s.count == 6 && Array(s)[3] == ":") { return nil }
            guard hours <= offsetHoursMax, minutes < 60 else { return nil }
            let seconds = (hours * 3600 + minutes * 60) * (sign == "-" ? -1 : 1)
            return TimeZone(secondsFromGMT: seconds)
        }
        guard !s.isEmpty, let zone = TimeZone(identifier: s) else { return nil }
        return zone
    }

    /// Decodes from a single string.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let spelling = try container.decode(String.self)
        do {
            try self.init(spelling)
        } catch {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: error.message)
        }
    }

    /// Encodes as the spelling.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(spelling)
    }

    /// Two zones are equal when spelt the same.
    public static func == (a: PolicyTimeZone, b: PolicyTimeZone) -> Bool {
        a.spelling == b.spelling
    }

    /// Hashes the spelling.
    public func hash(into hasher: inout Hasher) { hasher.combine(spelling) }

    /// The spelling.
    public var description: String { spelling }
}
