import Synchronization

/// A ``NodeStore`` in memory, hashing nodes exactly as a store does.
///
/// Useful for hosts that diff maps they hold in memory and for tests of node-based logic.
public final class MemoryNodeStore: NodeStore {
    private let nodes = Mutex<[ChunkID: StoreNode]>([:])
    private let hasher: ChunkHasher

    /// Creates an empty node store.
    /// - Parameter hasher: How node IDs are computed (default unkeyed SHA-256).
    public init(hasher: ChunkHasher = .sha256) {
        self.hasher = hasher
    }

    public func putNode(_ node: StoreNode) async throws -> ChunkID {
        putNodeSync(node)
    }

    /// Stores a node synchronously and returns its ID.
    public func putNodeSync(_ node: StoreNode) -> ChunkID {
        let id = hasher.nodeID(node.encoded())
        nodes.withLock { $0[id] = node }
        return id
    }

    public func node(_ id: ChunkID) async throws -> StoreNode {
        try nodeSync(id)
    }

    /// Returns a node synchronously.
    public func nodeSync(_ id: ChunkID) throws -> StoreNode {
        guard let node = nodes.withLock({ $0[id] }) else {
            throw BlockStoreError(.notFound, "node \(id.shortHex) is not in the memory node store")
        }
        return node
    }

    /// How many distinct nodes are held.
    public var count: Int { nodes.withLock { $0.count } }
}
