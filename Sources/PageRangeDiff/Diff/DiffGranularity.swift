/// How finely a diff reports changed bytes.
public enum DiffGranularity: Sendable, Hashable {
    /// Whole blocks: a block whose chunk ID differs is reported in full. Reads only map nodes.
    case block
    /// Azure-exact pages: each differing block is refined to the 512-byte pages whose contents
    /// really differ, by reading both blocks through a ``ChunkContentSource``.
    case exact
}
