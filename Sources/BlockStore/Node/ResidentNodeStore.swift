/// A stored node read in place: views of its header bytes and its entries, in memory that its
/// store owns.
///
/// The views stay valid as long as the store that returned them lives (a resident store never
/// moves or frees a node before it is itself freed). Nothing is copied and nothing is
/// reference-counted, so a walk can hold thousands of them. The bytes viewed never change once
/// stored, so views may cross tasks.
package struct ResidentNode: @unchecked Sendable {
    /// The node's opaque header bytes.
    package let header: UnsafeRawBufferPointer
    /// The node's entries, strictly ascending by slot.
    package let entries: UnsafeBufferPointer<StoreNode.Entry>

    /// Creates a view.
    package init(header: UnsafeRawBufferPointer, entries: UnsafeBufferPointer<StoreNode.Entry>) {
        self.header = header
        self.entries = entries
    }

    /// A copy of the node.
    package var node: StoreNode {
        StoreNode(header: Array(header), entries: Array(entries))
    }
}

/// A capability of a ``NodeStore`` whose nodes are at hand in memory: they can be read in place,
/// without suspending and without copying.
///
/// Code that visits many nodes (the block-map diff) checks for it with a conditional cast and
/// reads through these views instead of ``NodeStore/node(_:)``. ``MemoryNodeStore`` adopts it.
///
/// A node that ``residentNode(_:)`` does not return is one the store does not hold at hand;
/// ``NodeStore/node(_:)`` then says whether it exists at all.
package protocol ResidentNodeStore: NodeStore {
    /// The node with this ID, read in place; nil when the store does not hold it in memory (the
    /// zero ID names no node).
    /// - Complexity: O(1) expected.
    func residentNode(_ id: ChunkID) -> ResidentNode?

    /// Looks up `ids[k]` into `nodes[k]` for every `k`, as one batch: a store can start the
    /// lookups together, so that the memory latency of independent lookups overlaps.
    /// - Precondition: `nodes.count >= ids.count`.
    func residentNodes(
        _ ids: UnsafeBufferPointer<ChunkID>,
        into nodes: UnsafeMutableBufferPointer<ResidentNode?>)
}

extension ResidentNodeStore {
    /// Looks up `ids[k]` into `nodes[k]` one by one.
    package func residentNodes(
        _ ids: UnsafeBufferPointer<ChunkID>,
        into nodes: UnsafeMutableBufferPointer<ResidentNode?>
    ) {
        precondition(nodes.count >= ids.count, "one result per ID")
        for k in ids.indices { nodes[k] = residentNode(ids[k]) }
    }
}
