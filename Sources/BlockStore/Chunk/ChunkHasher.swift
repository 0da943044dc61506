import Crypto

/// Computes ``ChunkID``s: SHA-256 for unencrypted stores, HMAC-SHA256 for encrypted ones.
///
/// Data blocks hash their bytes as they are; nodes hash a domain prefix first, so a node and a
/// data block never share an ID.
public struct ChunkHasher: Sendable {
    private enum Mode: Sendable {
        case plain
        case keyed(SymmetricKey)
    }
    private let mode: Mode

    /// Unkeyed SHA-256, for stores without encryption.
    public static let sha256 = ChunkHasher(mode: .plain)

    /// HMAC-SHA256 under `key`, for encrypted stores (IDs reveal nothing without the key).
    public static func keyed(_ key: SymmetricKey) -> ChunkHasher { ChunkHasher(mode: .keyed(key)) }

    private init(mode: Mode) { self.mode = mode }

    /// Whether IDs are keyed.
    public var isKeyed: Bool {
        if case .keyed = mode { return true }
        return false
    }

    private static let nodeDomain: [UInt8] = Array("blocksnap.node.v1\u{0}".utf8)

    /// The ID of a data block.
    public func dataID(_ bytes: UnsafeRawBufferPointer) -> ChunkID {
        switch mode {
        case .plain:
            var h = SHA256()
            h.update(bufferPointer: bytes)
            return h.finalize().withUnsafeBytes { ChunkID(bytes: $0) }
        case .keyed(let key):
            var h = HMAC<SHA256>(key: key)
            h.update(data: bytes)
            return h.finalize().withUnsafeBytes { ChunkID(bytes: $0) }
        }
    }

    /// The ID of a data block held in an array.
    public func dataID(_ bytes: [UInt8]) -> ChunkID {
        bytes.withUnsafeBytes { dataID($0) }
    }

    /// The ID of an encoded node (domain-separated from data IDs).
    public func nodeID(_ encoded: UnsafeRawBufferPointer) -> ChunkID {
        switch mode {
        case .plain:
            var h = SHA256()
            ChunkHasher.nodeDomain.withUnsafeBytes { h.update(bufferPointer: $0) }
            h.update(bufferPointer: encoded)
            return h.finalize().withUnsafeBytes { ChunkID(bytes: $0) }
        case .keyed(let key):
            var h = HMAC<SHA256>(key: key)
            ChunkHasher.nodeDomain.withUnsafeBytes { h.update(data: $0) }
            h.update(data: encoded)
            return h.finalize().withUnsafeBytes { ChunkID(bytes: $0) }
        }
    }

    /// The ID of an encoded node held in an array.
    public func nodeID(_ encoded: [UInt8]) -> ChunkID {
        encoded.withUnsafeBytes { nodeID($0) }
    }
}
