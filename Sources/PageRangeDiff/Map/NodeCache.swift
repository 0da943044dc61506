import BlockStore
import Synchronization

/// A bounded cache of decoded block-map nodes, shared safely between tasks.
///
/// Eviction is CLOCK (second chance) by encoded bytes: a node read again before the hand comes
/// round survives one more sweep. Every read of a map from a store (lookup, iteration, diff,
/// incremental build) goes through a cache, so a 1 TiB map is never held in memory at once:
/// memory is bounded by ``capacityBytes`` plus one tree path per walk. (A diff of maps in a
/// store whose nodes are in memory, such as `MemoryNodeStore`, reads their non-root nodes in
/// place instead.)
///
/// Share one cache among the readers of one store; IDs are content hashes, so entries never go
/// stale.
///
/// ```swift
/// let cache = NodeCache(capacityBytes: 64 << 20)
/// let reader = BlockMapReader(store: store, cache: cache)
/// ```
public final class NodeCache: Sendable {
    private struct Slot {
        var id: ChunkID
        var node: MapNode?
        var referenced: Bool
    }
    private struct State {
        var index: [ChunkID: Int] = [:]
        var slots: [Slot] = []
        var free: [Int] = []
        var hand = 0
        var bytes = 0
        var hits = 0
        var misses = 0
    }
    private let state = Mutex(State())

    /// The most bytes of encoded nodes kept.
    public let capacityBytes: Int

    /// The default capacity: 64 MiB.
    public static let defaultCapacityBytes = 64 << 20

    /// Creates an empty cache.
    /// - Parameter capacityBytes: The budget in encoded node bytes (0 keeps nothing).
    public init(capacityBytes: Int = NodeCache.defaultCapacityBytes) {
        precondition(capacityBytes >= 0, "a cache capacity is not negative")
        self.capacityBytes = capacityBytes
    }

    /// Counters since creation.
    public struct Statistics: Sendable, Hashable {
        /// Lookups answered from the cache.
        public var hits: Int
        /// Lookups that had to read the store.
        public var misses: Int
        /// Nodes held now.
        public var nodeCount: Int
        /// Encoded bytes held now.
        public var bytes: Int
    }

    /// Hit and miss counters and current size.
    public var statistics: Statistics {
        state.withLock {
            Statistics(hits: $0.hits, misses: $0.misses, nodeCount: $0.index.count, bytes: $0.bytes)
        }
    }

    /// Drops every node (counters are kept).
    public func removeAll() {
        state.withLock {
            $0.index = [:]
            $0.slots = []
            $0.free = []
            $0.hand = 0
            $0.bytes = 0
        }
    }

    func node(_ id: ChunkID) -> MapNode? {
        state.withLock { s in
            guard let i = s.index[id] else {
                s.misses += 1
                return nil
            }
            s.hits += 1
            s.slots[i].referenced = true
            return s.slots[i].node
        }
    }

    func insert(_ id: ChunkID, _ node: MapNode) {
        let size = node.byteCount
        guard size <= capacityBytes else { return }
        state.withLock { s in
            if s.index[id] != nil { return }
            while s.bytes + size > capacityBytes && s.index.count > 0 {
                if s.hand >= s.slots.count { s.hand = 0 }
                let h = s.hand
                s.hand += 1
                guard let victim = s.slots[h].node else { continue }
                if s.slots[h].referenced {
                    s.slots[h].referenced = false
                    continue
                }
                s.bytes -= victim.byteCount
                s.index[s.slots[h].id] = nil
                s.slots[h].node = nil
                s.free.append(h)
            }
            let slot = Slot(id: id, node: node, referenced: false)
            let i: Int
            if let f = s.free.popLast() {
                s.slots[f] = slot
                i = f
            } else {
                s.slots.append(slot)
                i = s.slots.count - 1
            }
            s.index[id] = i
            s.bytes += size
        }
    }
}
