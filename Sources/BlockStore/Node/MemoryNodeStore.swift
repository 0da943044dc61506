import CBlockSnapLinux
import Synchronization

/// A ``NodeStore`` in memory, hashing nodes exactly as a store does.
///
/// Useful for hosts that diff maps they hold in memory and for tests of node-based logic. Its
/// nodes are at hand (a resident node store): walks read them in place.
///
/// Lookups are built for walks that visit many nodes at random: one open-addressing table whose
/// slot holds the ID and where the node lives, so finding a node costs about one cache miss.
/// Each node lives in one allocation of its own (header bytes, then entries), allocated once
/// and freed with the store. IDs are cryptographic hashes, so their first word, mixed with a
/// random per-store seed, is the bucket (no general-purpose hashing per lookup).
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
        guard let node = table.withLock({ $0.find(id)?.node }) else {
            throw BlockStoreError(.notFound, "node \(id.shortHex) is not in the memory node store")
        }
        return node
    }

    /// How many distinct nodes are held.
    public var count: Int { table.withLock { $0.count } }

    deinit {
        table.withLock { t in
            for slot in t.slots where !slot.id.isZero { slot.storage?.deallocate() }
        }
    }

    /// One slot; empty while `id` is ``ChunkID/zero`` (never a node's ID: IDs are hashes).
    private struct Slot {
        var id: ChunkID
        /// The node's header bytes, then (at ``entriesOffset(headerCount:)``) its entries.
        var storage: UnsafeMutableRawPointer?
        var entryCount: UInt32
        var headerCount: UInt16

        static var empty: Slot { Slot(id: .zero, storage: nil, entryCount: 0, headerCount: 0) }

        /// Where the entries start in a node's storage: after the header, 8-byte aligned.
        @inline(__always)
        static func entriesOffset(headerCount: Int) -> Int { (headerCount + 7) & ~7 }

        /// The node in place.
        @inline(__always)
        var view: ResidentNode {
            let base = storage.unsafelyUnwrapped
            let h = Int(headerCount)
            return ResidentNode(
                header: UnsafeRawBufferPointer(start: base, count: h),
                entries: UnsafeBufferPointer(
                    start: (base + Slot.entriesOffset(headerCount: h))
                        .assumingMemoryBound(to: StoreNode.Entry.self),
                    count: Int(entryCount)))
        }
    }

    /// Open addressing with linear probing, at most half full.
    private struct Table {
        var slots: [Slot] = Array(repeating: .empty, count: 1024)
        var count = 0
        var shift = 64 - 10
        let seed = UInt64.random(in: .min ... .max)

        @inline(__always)
        func bucket(_ id: ChunkID) -> Int {
            Int(truncatingIfNeeded: ((id.w0 ^ seed) &* 0x9E37_79B9_7F4A_7C15) >> UInt64(shift))
        }

        /// The node `id` in place; nil if absent.
        @inline(__always)
        func find(_ id: ChunkID) -> ResidentNode? {
            let mask = slots.count - 1
            var i = bucket(id)
            return slots.withUnsafeBufferPointer { p in
                while !p[i].id.isZero {
                    if p[i].id == id { return p[i].view }
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
            let offset = Slot.entriesOffset(headerCount: node.header.count)
            let storage = UnsafeMutableRawPointer.allocate(
                byteCount: max(1, offset + node.entries.count * MemoryLayout<StoreNode.Entry>.stride),
                alignment: MemoryLayout<StoreNode.Entry>.alignment)
            node.header.withUnsafeBytes { h in
                if let source = h.baseAddress { storage.copyMemory(from: source, byteCount: h.count) }
            }
            node.entries.withUnsafeBufferPointer { e in
                if let source = e.baseAddress {
                    (storage + offset).initializeMemory(
                        as: StoreNode.Entry.self, from: source,
                        count: e.count)
                }
            }
            slots[i] = Slot(
                id: id, storage: storage, entryCount: UInt32(node.entries.count),
                headerCount: UInt16(node.header.count))
            count += 1
        }

        private mutating func grow() {
            let old = slots
            slots = Array(repeating: .empty, count: old.count * 2)
            shift -= 1
            let mask = slots.count - 1
            for slot in old where !slot.id.isZero {
                var i = bucket(slot.id)
                while !slots[i].id.isZero { i = (i + 1) & mask }
                slots[i] = slot
            }
        }
    }
}

extension MemoryNodeStore: ResidentNodeStore {
    /// The node with this ID in place; nil when absent. Valid while the store lives.
    @inline(__always)
    package func residentNode(_ id: ChunkID) -> ResidentNode? {
        if id.isZero { return nil }
        return table.withLock { $0.find(id) }
    }

    /// Looks up a batch under one lock: every lookup's table slot is requested first (so the
    /// cache misses of independent lookups overlap), then each is resolved.
    package func residentNodes(
        _ ids: UnsafeBufferPointer<ChunkID>,
        into nodes: UnsafeMutableBufferPointer<ResidentNode?>
    ) {
        precondition(nodes.count >= ids.count, "one result per ID")
        // The caller's buffers are used only inside this call; passed by address, so the lock's
        // closure captures nothing that region checking would tie to the caller's task.
        let count = ids.count
        let idsAddress = UInt(bitPattern: ids.baseAddress)
        let nodesAddress = UInt(bitPattern: nodes.baseAddress)
        guard count > 0 else { return }
        table.withLock { t in
            let ids = UnsafePointer<ChunkID>(bitPattern: idsAddress)!
            let nodes = UnsafeMutablePointer<ResidentNode?>(bitPattern: nodesAddress)!
            t.slots.withUnsafeBufferPointer { p in
                for k in 0..<count where !ids[k].isZero {
                    cbs_prefetch(p.baseAddress! + t.bucket(ids[k]))
                }
            }
            for k in 0..<count { nodes[k] = ids[k].isZero ? nil : t.find(ids[k]) }
        }
    }
}
