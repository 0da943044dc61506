/// A stored node: a small opaque header plus a sparse, sorted vector of chunk IDs.
///
/// Nodes are how higher layers build persistent, content-addressed structures (the block-map
/// tree of a disk, the manifest of a recovery point) on the store. The store understands a
/// node's entries as references: garbage collection and verification follow them, so anything
/// a published root reaches through nodes is kept. The header is opaque to the store.
///
/// Encoding (little-endian, see <doc:StoreFormat>):
/// ```
/// magic "BSND" | version u8 = 1 | reserved u8 = 0 | headerLength u16 | entryCount u32
/// header bytes | entryCount × (slot u32, id 32 bytes)
/// ```
/// Slots are strictly ascending. A node's ID is ``ChunkHasher/nodeID(_:)-(UnsafeRawBufferPointer)``
/// of its encoding.
public struct StoreNode: Sendable, Equatable {
    /// One reference: a slot number (meaning defined by the layer that built the node) and an ID.
    public struct Entry: Sendable, Equatable {
        /// The position this entry fills (e.g. a block index within the node's span).
        public var slot: UInt32
        /// The referenced chunk or node.
        public var id: ChunkID
        /// Creates an entry.
        public init(slot: UInt32, id: ChunkID) {
            self.slot = slot
            self.id = id
        }
    }

    /// Opaque bytes for the layer that built the node (at most ``maxHeaderBytes``).
    public var header: [UInt8]
    /// References, strictly ascending by slot, at most ``maxEntryCount``.
    public var entries: [Entry]

    /// The largest header accepted, in bytes.
    public static let maxHeaderBytes = 16 * 1024
    /// The most entries a node may hold.
    public static let maxEntryCount = 1 << 16

    static let magic: [UInt8] = Array("BSND".utf8)
    static let version: UInt8 = 1
    static let fixedBytes = 12
    static let entryBytes = 36

    /// Creates a node.
    /// - Precondition: entries strictly ascending by slot; sizes within the limits.
    public init(header: [UInt8] = [], entries: [Entry]) {
        precondition(header.count <= StoreNode.maxHeaderBytes, "node header too large")
        precondition(entries.count <= StoreNode.maxEntryCount, "too many node entries")
        self.header = header
        self.entries = entries
    }

    /// The encoded size in bytes.
    public var encodedByteCount: Int {
        StoreNode.fixedBytes + header.count + entries.count * StoreNode.entryBytes
    }

    /// The canonical encoding.
    public func encoded() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: encodedByteCount)
        out.withUnsafeMutableBytes { raw in
            let p = raw.baseAddress!
            for i in 0..<4 { p.storeBytes(of: StoreNode.magic[i], toByteOffset: i, as: UInt8.self) }
            p.storeBytes(of: StoreNode.version, toByteOffset: 4, as: UInt8.self)
            p.storeBytes(of: UInt16(header.count).littleEndian, toByteOffset: 6, as: UInt16.self)
            p.storeBytes(of: UInt32(entries.count).littleEndian, toByteOffset: 8, as: UInt32.self)
            var offset = StoreNode.fixedBytes
            header.withUnsafeBytes { h in
                if h.count > 0 { (p + offset).copyMemory(from: h.baseAddress!, byteCount: h.count) }
            }
            offset += header.count
            var previous: UInt32? = nil
            for entry in entries {
                precondition(previous.map { entry.slot > $0 } ?? true, "node slots must ascend")
                previous = entry.slot
                (p + offset).storeBytes(of: entry.slot.littleEndian, as: UInt32.self)
                entry.id.write(to: p + offset + 4)
                offset += StoreNode.entryBytes
            }
        }
        return out
    }

    /// Decodes a node, checking every bound; never traps on hostile input.
    /// - Throws: ``BlockStoreError`` with `corruptObject`, `truncatedObject` or
    ///   `unsupportedFormat`.
    public init(decoding bytes: [UInt8]) throws {
        self = try bytes.withUnsafeBytes { try StoreNode(decoding: $0) }
    }

    /// Decodes a node from raw bytes, checking every bound.
    public init(decoding raw: UnsafeRawBufferPointer) throws {
        guard raw.count >= StoreNode.fixedBytes else {
            throw BlockStoreError(.truncatedObject, "node is \(raw.count) bytes, shorter than its 12-byte header")
        }
        guard raw[0] == StoreNode.magic[0], raw[1] == StoreNode.magic[1],
            raw[2] == StoreNode.magic[2], raw[3] == StoreNode.magic[3]
        else {
            throw BlockStoreError(.corruptObject, "node does not start with magic BSND")
        }
        guard raw[4] == StoreNode.version else {
            throw BlockStoreError(
                .unsupportedFormat, "node format version \(raw[4]) is not supported (this build reads version 1)")
        }
        guard raw[5] == 0 else {
            throw BlockStoreError(.corruptObject, "node has a non-zero reserved byte")
        }
        let base = raw.baseAddress!
        let headerCount = Int(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 6, as: UInt16.self)))
        let entryCount = Int(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 8, as: UInt32.self)))
        guard headerCount <= StoreNode.maxHeaderBytes, entryCount <= StoreNode.maxEntryCount else {
            throw BlockStoreError(
                .corruptObject, "node declares \(headerCount) header bytes and \(entryCount) entries, beyond the limits"
            )
        }
        let expected = StoreNode.fixedBytes + headerCount + entryCount * StoreNode.entryBytes
        guard raw.count >= expected else {
            throw BlockStoreError(.truncatedObject, "node is \(raw.count) bytes but declares \(expected)")
        }
        guard raw.count == expected else {
            throw BlockStoreError(.corruptObject, "node has \(raw.count - expected) trailing bytes")
        }
        let header = Array(
            UnsafeRawBufferPointer(rebasing: raw[StoreNode.fixedBytes..<(StoreNode.fixedBytes + headerCount)]))
        var entries: [Entry] = []
        entries.reserveCapacity(entryCount)
        var offset = StoreNode.fixedBytes + headerCount
        var previous: UInt32? = nil
        for _ in 0..<entryCount {
            let slot = UInt32(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
            if let previous, slot <= previous {
                throw BlockStoreError(
                    .corruptObject, "node slots are not strictly ascending (\(slot) after \(previous))")
            }
            previous = slot
            entries.append(Entry(slot: slot, id: ChunkID(loadingFrom: base + offset + 4)))
            offset += StoreNode.entryBytes
        }
        self.header = header
        self.entries = entries
    }
}
