/// What a stored chunk holds: a disk block's bytes, or an encoded ``StoreNode``.
public enum ChunkKind: UInt8, Sendable, Codable, Hashable {
    /// A data block.
    case data = 0
    /// An encoded ``StoreNode``; its entries are references that GC and verify follow.
    case node = 1
}
