/// Anything that stores and returns ``StoreNode``s by ID.
///
/// `ChunkStore` is the real one; ``MemoryNodeStore`` keeps nodes in memory so pure logic built on
/// nodes (the block-map tree, the diff) can run and be tested without a store.
public protocol NodeStore: Sendable {
    /// Stores a node and returns its ID (storing an existing node is free).
    func putNode(_ node: StoreNode) async throws -> ChunkID
    /// Returns the node with this ID.
    /// - Throws: ``BlockStoreError`` `notFound` when absent, `corruptObject` when damaged.
    func node(_ id: ChunkID) async throws -> StoreNode
    /// Returns several nodes, in the order of `ids` (a default reads them one by one).
    /// - Throws: What ``node(_:)`` throws for a node that cannot be read.
    func nodes(_ ids: [ChunkID]) async throws -> [StoreNode]
}

extension NodeStore {
    /// Returns several nodes, in the order of `ids`. Stores that can read neighbouring nodes in
    /// one request (``ChunkStore``) do; this default reads them one by one.
    /// - Throws: What ``node(_:)`` throws for the first node that cannot be read.
    public func nodes(_ ids: [ChunkID]) async throws -> [StoreNode] {
        var out: [StoreNode] = []
        out.reserveCapacity(ids.count)
        for id in ids { out.append(try await node(id)) }
        return out
    }
}
