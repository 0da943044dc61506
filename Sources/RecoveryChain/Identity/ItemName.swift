/// The name of a protected item (a VM, a disk set): 1–128 letters, digits, `.`, `_` or `-`.
///
/// A raw-value type, so an item name is never mistaken for a point ID or a path. Literals work
/// where a name is expected (`"vm1"`); names from elsewhere are checked by ``isValid`` and by
/// every ``ChainStore`` operation, which refuses an invalid one with `invalidArgument`.
public struct ItemName: RawRepresentable, Hashable, Comparable, Sendable, Codable, CustomStringConvertible,
    ExpressibleByStringLiteral
{
    /// The name as text.
    public let rawValue: String

    /// Wraps a name (checked when it is used).
    public init(rawValue: String) { self.rawValue = rawValue }

    /// Wraps a name (checked when it is used).
    public init(_ rawValue: String) { self.rawValue = rawValue }

    /// A name written as a literal.
    public init(stringLiteral value: String) { self.rawValue = value }

    /// The longest name accepted, in UTF-8 bytes.
    public static let byteCountMax = 128

    /// Whether the name is 1–128 bytes of letters, digits, `.`, `_` or `-`, and not `.` or `..`.
    public var isValid: Bool {
        guard !rawValue.isEmpty, rawValue.utf8.count <= ItemName.byteCountMax, rawValue != ".", rawValue != ".." else {
            return false
        }
        return rawValue.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
                return true
            default:
                return false
            }
        }
    }

    /// Orders names by their text.
    public static func < (a: ItemName, b: ItemName) -> Bool { a.rawValue < b.rawValue }

    /// The name as text.
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
