import BlockStore
import Foundation

/// The ID of a recovery point: its UTC time to the second and 8 random hex digits,
/// `yyyyMMdd'T'HHmmss'Z'-xxxxxxxx` (e.g. `20260301T020000Z-9f86d081`).
///
/// IDs sort by time; the random part keeps two points taken in the same second apart. A
/// raw-value type, so a point ID is never mistaken for an item name; literals work where an ID
/// is expected.
public struct PointID: RawRepresentable, Hashable, Comparable, Sendable, Codable, CustomStringConvertible,
    ExpressibleByStringLiteral
{
    /// The ID as text.
    public let rawValue: String

    /// Wraps an ID (checked when it is used).
    public init(rawValue: String) { self.rawValue = rawValue }

    /// Wraps an ID (checked when it is used).
    public init(_ rawValue: String) { self.rawValue = rawValue }

    /// An ID written as a literal.
    public init(stringLiteral value: String) { self.rawValue = value }

    /// A new ID for a point taken at `time`.
    static func new(at time: Date) -> PointID {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return PointID("\(f.string(from: time))-\(Hex.random(byteCount: 4))")
    }

    /// Orders IDs by their text (which is time order for IDs this library makes).
    public static func < (a: PointID, b: PointID) -> Bool { a.rawValue < b.rawValue }

    /// The ID as text.
    public var description: String { rawValue }

    /// Decodes a plain JSON string.
    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    /// Encodes as a plain JSON string.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
