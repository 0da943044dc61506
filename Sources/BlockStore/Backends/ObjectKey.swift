/// The key of an object in a ``StorageBackend``: `/`-separated segments of `[A-Za-z0-9._-]`.
///
/// Keys are validated on creation so that no backend ever sees `..`, an absolute path, an empty
/// segment or a character a file system or URL would treat specially.
public struct ObjectKey: Hashable, Sendable, Comparable, CustomStringConvertible,
    ExpressibleByStringLiteral
{
    /// The key text.
    public let rawValue: String

    /// The longest key accepted, in bytes.
    public static let maxLength = 512

    /// Validates and creates a key; nil when `rawValue` is not a valid key.
    public init?(_ rawValue: String) {
        guard ObjectKey.isValid(rawValue) else { return nil }
        self.rawValue = rawValue
    }

    /// Creates a key from a literal known to be valid.
    /// - Precondition: the literal is a valid key.
    public init(stringLiteral value: String) {
        precondition(ObjectKey.isValid(value), "invalid object key literal \(value)")
        self.rawValue = value
    }

    /// Creates a key from validated segments joined by `/`.
    /// - Throws: ``BlockStoreError/Code/invalidArgument`` when a segment is invalid.
    public init(validating rawValue: String) throws {
        guard let key = ObjectKey(rawValue) else {
            throw BlockStoreError(
                .invalidArgument,
                "'\(rawValue.prefix(100))' is not a valid object key: use '/'-separated segments of A-Z a-z 0-9 . _ -, not '.' or '..'"
            )
        }
        self = key
    }

    /// Whether `text` is a valid key.
    public static func isValid(_ text: String) -> Bool {
        let utf8 = text.utf8
        guard !utf8.isEmpty, utf8.count <= maxLength else { return false }
        for segment in text.split(separator: "/", omittingEmptySubsequences: false) {
            if segment.isEmpty || segment == "." || segment == ".." { return false }
            for c in segment.utf8 {
                switch c {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"),
                    UInt8(ascii: "-"):
                    continue
                default:
                    return false
                }
            }
        }
        return true
    }

    /// The last segment.
    public var lastSegment: Substring {
        rawValue.split(separator: "/").last ?? Substring(rawValue)
    }

    /// The error as one line: code, message and cause.
    public var description: String { rawValue }

    /// Orders keys by their bytes, as object stores list them.
    public static func < (a: ObjectKey, b: ObjectKey) -> Bool {
        a.rawValue.utf8.lexicographicallyPrecedes(b.rawValue.utf8)
    }
}
