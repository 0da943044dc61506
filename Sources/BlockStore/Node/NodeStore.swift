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
}
