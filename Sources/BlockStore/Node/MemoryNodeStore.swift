import CBlockSnapLinux
import Synchronization

/// A ``NodeStore`` in memory, hashing nodes exactly as a store does.
///
/// Useful for hosts that diff maps they hold in memory and for tests of node-based logic.
///
/// Lookups are built for tree walks that visit many nodes at random: one open-addressing table
/// whose slot holds the ID, the node and the first bytes of its header together, so finding a
/// node costs about one cache miss. IDs are cryptographic hashes, so their first word, mixed
/// with a random per-store seed, is the bucket (no general-purpose hashing per lookup).
public final class MemoryNodeStore: NodeStore {
    private let table = Mutex(Table())
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
        table.withLock { $0.insert(id, node) }
        return id
    }

    public func node(_ id: ChunkID) async throws -> StoreNode {
        try nodeSync(id)
    }

    /// Returns a node synchronously.
    public func nodeSync(_ id: ChunkID) throws -> StoreNode {
        guard let node = table.withLock({ $0.find(id) {
            StoreNode(header: $0.header, entries: Array($0.entries))
        } }) else {
            throw BlockStoreError(.notFound, "node \(id.shortHex) is not in the memory node store")
        }
        return node
    }

    /// A node's entries with its header's length and first (up to) 8 bytes packed
    /// little-endian, without touching the header's own storage; nil when absent.
    ///
    /// For walks that check a node's header against an expected value on every visit. The
    /// entries are the store's own copy, never moved or freed while the store lives: the
    /// pointer is valid as long as the caller holds a reference to this store.
    @inline(__always)
    package func entriesAndHeaderPrefix(_ id: ChunkID)
        -> (entries: UnsafeBufferPointer<StoreNode.Entry>, headerCount: Int, headerPrefix: UInt64)?
    {
        table.withLock { t in
            t.find(id) { (UnsafeBufferPointer($0.entries), Int($0.headerCount), $0.headerPrefix) }
        }
    }

    /// Starts loading the table slot where a lookup of `id` begins (a hint; no effect on
    /// results), so a walk can overlap the cache misses of many lookups.
    @inline(__always)
    package func prefetch(_ id: ChunkID) {
        table.withLock { t in
            t.slots.withUnsafeBufferPointer { p in cbs_prefetch(p.baseAddress! + t.bucket(id)) }
        }
    }

    /// The first (up to) 8 bytes of a header, little-endian, as ``entriesAndHeaderPrefix(_:)``
    /// reports them.
    package static func headerPrefix(_ header: [UInt8]) -> UInt64 {
        var v: UInt64 = 0
        for k in 0..<min(8, header.count) { v |= UInt64(header[k]) << (8 * UInt64(k)) }
        return v
    }

    /// How many distinct nodes are held.
    public var count: Int { table.withLock { $0.count } }

    /// One slot; empty while `id` is ``ChunkID/zero`` (never a node's ID: IDs are hashes).
    /// The entries live in memory of their own, allocated once and freed with the store, so
    /// walks can read them in place without reference counting.
    private struct Entry {
        var id: ChunkID
        var header: [UInt8]
        var entries: UnsafeMutableBufferPointer<StoreNode.Entry>
        var headerPrefix: UInt64
        var headerCount: UInt16

        static var empty: Entry {
            Entry(id: .zero, header: [], entries: UnsafeMutableBufferPointer(start: nil, count: 0),
                headerPrefix: 0, headerCount: 0)
        }
    }

    deinit {
        table.withLock { t in
            for e in t.slots where !e.id.isZero { e.entries.deallocate() }
        }
    }

    /// Open addressing with linear probing, at most half full.
    private struct Table {
        var slots: [Entry] = Array(repeating: .empty, count: 1024)
        var count = 0
        var shift = 64 - 10
        let seed = UInt64.random(in: .min ... .max)

        @inline(__always)
        func bucket(_ id: ChunkID) -> Int {
            Int(truncatingIfNeeded: ((id.w0 ^ seed) &* 0x9E37_79B9_7F4A_7C15) >> UInt64(shift))
        }

        /// Calls `body` on the slot holding `id`, in place (no copy of the slot); nil if absent.
        @inline(__always)
        func find<R>(_ id: ChunkID, _ body: (borrowing Entry) -> R) -> R? {
            let mask = slots.count - 1
            var i = bucket(id)
            return slots.withUnsafeBufferPointer { p in
                while !p[i].id.isZero {
                    if p[i].id == id { return body(p[i]) }
                    i = (i + 1) & mask
                }
                return nil
            }
        }

        mutating func insert(_ id: ChunkID, _ node: StoreNode) {
            precondition(!id.isZero, "the zero ID names no node")
            if (count + 1) * 2 > slots.count { grow() }
            let mask = slots.count - 1
            var i = bucket(id)
            while !slots[i].id.isZero {
                if slots[i].id == id { return }
                i = (i + 1) & mask
            }
            let entries = UnsafeMutableBufferPointer<StoreNode.Entry>.allocate(
                capacity: node.entries.count)
            _ = entries.initialize(from: node.entries)
            slots[i] = Entry(id: id, header: node.header, entries: entries,
                headerPrefix: MemoryNodeStore.headerPrefix(node.header),
                headerCount: UInt16(node.header.count))
            count += 1
        }

        private mutating func grow() {
            let old = slots
            slots = Array(repeating: .empty, count: old.count * 2)
            shift -= 1
            let mask = slots.count - 1
            for e in old where !e.id.isZero {
                var i = bucket(e.id)
                while !slots[i].id.isZero { i = (i + 1) & mask }
                slots[i] = e
            }
        }
    }
}
