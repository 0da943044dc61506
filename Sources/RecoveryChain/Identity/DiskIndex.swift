/// A disk's stable position in its item: disk 0, disk 1, … (at most 1,024 disks).
///
/// A raw-value type, so a disk's position is never mistaken for a count or a block index;
/// integer literals work where a disk is expected.
public struct DiskIndex: RawRepresentable, Hashable, Comparable, Sendable, Codable, CustomStringConvertible,
    ExpressibleByIntegerLiteral
{
    /// The position.
    public let rawValue: Int

    /// Wraps a position (checked when it is used).
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// Wraps a position (checked when it is used).
    public init(_ rawValue: Int) { self.rawValue = rawValue }

    /// A position written as a literal.
    public init(integerLiteral value: Int) { self.rawValue = value }

    /// How many disks one item may have.
    public static let countMax = 1024

    /// Whether the position is within 0 ..< ``countMax``.
    public var isValid: Bool { rawValue >= 0 && rawValue < DiskIndex.countMax }

    /// Orders disks by position.
    public static func < (a: DiskIndex, b: DiskIndex) -> Bool { a.rawValue < b.rawValue }

    /// The position as text.
    public var description: String { String(rawValue) }

    /// Decodes a plain JSON number.
    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(Int.self)
    }

    /// Encodes as a plain JSON number.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
