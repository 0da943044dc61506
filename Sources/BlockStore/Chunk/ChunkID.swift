/// The name of a stored chunk: a 256-bit hash of its content.
///
/// In an unencrypted store the ID is SHA-256 of the block's bytes; in an encrypted store it is
/// HMAC-SHA256 keyed with a key derived from the store's master key, so IDs reveal nothing about
/// content. Nodes (see ``StoreNode``) are hashed with a domain prefix, so a node never shares an
/// ID with a data block of the same bytes.
///
/// ``zero`` (all 32 bytes zero) is the ID of an all-zero block, which is never stored.
///
/// ```swift
/// let id = ChunkID(hex: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")!
/// print(id.shortHex) // "9f86d081"
/// ```
public struct ChunkID: Hashable, Sendable, Comparable, CustomStringConvertible {
    // Four words keep the type 32 bytes inline, hashing and comparison cheap.
    @usableFromInline var w0: UInt64
    @usableFromInline var w1: UInt64
    @usableFromInline var w2: UInt64
    @usableFromInline var w3: UInt64

    /// The ID of an all-zero block. Such blocks are never stored and read back as zeros.
    public static let zero = ChunkID(w0: 0, w1: 0, w2: 0, w3: 0)

    /// The number of bytes in an ID.
    public static let byteCount = 32

    @inlinable init(w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64) {
        self.w0 = w0
        self.w1 = w1
        self.w2 = w2
        self.w3 = w3
    }

    /// Creates an ID from exactly 32 bytes (big-endian order, as a hash prints).
    /// - Precondition: `bytes.count == 32`.
    public init(bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count == ChunkID.byteCount, "a ChunkID is 32 bytes")
        func word(_ i: Int) -> UInt64 {
            var v: UInt64 = 0
            for k in 0..<8 { v = (v << 8) | UInt64(bytes[i * 8 + k]) }
            return v
        }
        self.init(w0: word(0), w1: word(1), w2: word(2), w3: word(3))
    }

    /// Creates an ID from a sequence of exactly 32 bytes, or returns nil for any other length.
    public init?<Bytes: Collection>(bytes: Bytes) where Bytes.Element == UInt8 {
        guard bytes.count == ChunkID.byteCount else { return nil }
        let array = Array(bytes)
        self = array.withUnsafeBytes { ChunkID(bytes: $0) }
    }

    /// Parses 64 hexadecimal digits (either case); nil for anything else.
    public init?(hex: some StringProtocol) {
        guard hex.utf8.count == 2 * ChunkID.byteCount, let bytes = Hex.decode(hex) else { return nil }
        self.init(bytes: bytes)
    }

    /// Whether this is the ID of the all-zero block.
    @inlinable public var isZero: Bool { (w0 | w1 | w2 | w3) == 0 }

    /// The 32 bytes, big-endian.
    public var bytes: [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        out.withUnsafeMutableBytes { write(to: $0.baseAddress!) }
        return out
    }

    /// Writes the 32 bytes (big-endian) at `pointer`.
    @inlinable public func write(to pointer: UnsafeMutableRawPointer) {
        pointer.storeBytes(of: w0.bigEndian, toByteOffset: 0, as: UInt64.self)
        pointer.storeBytes(of: w1.bigEndian, toByteOffset: 8, as: UInt64.self)
        pointer.storeBytes(of: w2.bigEndian, toByteOffset: 16, as: UInt64.self)
        pointer.storeBytes(of: w3.bigEndian, toByteOffset: 24, as: UInt64.self)
    }

    /// Reads an ID from 32 bytes at `pointer` (no alignment needed).
    @inlinable public init(loadingFrom pointer: UnsafeRawPointer) {
        self.init(
            w0: UInt64(bigEndian: pointer.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
            w1: UInt64(bigEndian: pointer.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
            w2: UInt64(bigEndian: pointer.loadUnaligned(fromByteOffset: 16, as: UInt64.self)),
            w3: UInt64(bigEndian: pointer.loadUnaligned(fromByteOffset: 24, as: UInt64.self)))
    }

    /// 64 lowercase hexadecimal digits.
    public var hex: String { Hex.encode(w0) + Hex.encode(w1) + Hex.encode(w2) + Hex.encode(w3) }

    /// The first 8 hex digits, for logs and tables.
    public var shortHex: String { String(hex.prefix(8)) }

    /// The first 64 bits, useful as a well-mixed hash seed.
    @inlinable public var prefix64: UInt64 { w0 }

    /// The error as one line: code, message and cause.
    public var description: String { hex }

    /// Orders IDs by their bytes.
    @inlinable public static func < (a: ChunkID, b: ChunkID) -> Bool {
        (a.w0, a.w1, a.w2, a.w3) < (b.w0, b.w1, b.w2, b.w3)
    }

    /// Compares two IDs in time independent of where they differ (for authentication tags).
    @inlinable public func constantTimeEquals(_ other: ChunkID) -> Bool {
        ((w0 ^ other.w0) | (w1 ^ other.w1) | (w2 ^ other.w2) | (w3 ^ other.w3)) == 0
    }

    /// Hashes the ID's first two words (already uniformly distributed).
    @inlinable public func hash(into hasher: inout Hasher) {
        hasher.combine(w0)
        hasher.combine(w1)
    }
}

extension ChunkID: Codable {
    /// Decodes the ID from its 64 hex digits.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let id = ChunkID(hex: text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "not a 64-digit hex chunk ID: \(text.prefix(80))")
        }
        self = id
    }

    /// Encodes the ID as its 64 hex digits.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(hex)
    }
}
