/// A blob: an opaque byte string of any size up to ``byteCountMax``, stored as a node over data
/// chunks of ``pieceBytes`` each (the last one shorter).
///
/// Hosts keep what travels with a recovery point this way (a VM's configuration, its disk
/// encryption keys); the pieces deduplicate like any block and the node is sealed and verified
/// like any node.
///
/// ```
/// node header: "BSBL" byteCount:u64          entries: slot k → piece k (k = 0, 1, …)
/// ```
/// A piece that is all zeros is the zero chunk ID (never stored). Decoding checks the magic, the
/// declared size against ``byteCountMax``, that the entries are exactly slots 0 ..< ⌈size/piece⌉,
/// and every piece's length, before anything is allocated or appended.
public enum StoreBlob {
    /// Bytes each entry of a blob holds (the last one the rest).
    public static let pieceBytes = 1 << 20
    /// The largest blob read back: bounds what a hostile header can make a reader allocate.
    public static let byteCountMax = 64 << 20

    static let magic: [UInt8] = Array("BSBL".utf8)
    static let headerBytes = 12

    /// The node header of a blob of `byteCount` bytes.
    static func header(byteCount: Int) -> [UInt8] {
        var w = ByteWriter(capacity: headerBytes)
        w.raw(magic)
        w.u64(UInt64(byteCount))
        return w.bytes
    }

    /// The blob's size from its node, after checking the node is a well-formed blob.
    static func byteCount(of node: StoreNode, id: ChunkID) throws -> Int {
        var r = ByteReader(node.header, what: "blob \(id.shortHex)")
        guard node.header.count == headerBytes else {
            throw BlockStoreError(
                .corruptObject,
                "blob \(id.shortHex) has a \(node.header.count)-byte header, not a blob's \(headerBytes)")
        }
        try r.expect(magic)
        let declared = try r.u64()
        guard declared <= UInt64(byteCountMax) else {
            throw BlockStoreError(
                .corruptObject,
                "blob \(id.shortHex) declares \(declared) bytes, more than the \(byteCountMax) a blob may hold")
        }
        let size = Int(declared)
        let pieceCount = (size + pieceBytes - 1) / pieceBytes
        guard node.entries.count == pieceCount,
            node.entries.enumerated().allSatisfy({ UInt64($0.element.slot) == UInt64($0.offset) })
        else {
            throw BlockStoreError(
                .corruptObject,
                "blob \(id.shortHex) declares \(size) bytes but has \(node.entries.count) entries (\(pieceCount) expected, in slot order)"
            )
        }
        return size
    }
}

extension ChunkStore {
    /// Stores a blob (see ``StoreBlob``) and returns the ID of its node. Durable after
    /// ``flush()``; keep it alive by referencing the ID from a node that a root reaches.
    /// - Throws: `limitExceeded` above ``StoreBlob/byteCountMax``; what ``putBlock(_:)-([UInt8])`` throws.
    /// - Complexity: One hash (and compression) pass over the bytes.
    public func putBlob(_ bytes: [UInt8]) async throws -> ChunkID {
        guard bytes.count <= StoreBlob.byteCountMax else {
            throw BlockStoreError(
                .limitExceeded, "a \(bytes.count)-byte blob exceeds the \(StoreBlob.byteCountMax)-byte limit")
        }
        var entries: [StoreNode.Entry] = []
        var offset = 0
        var slot: UInt32 = 0
        while offset < bytes.count {
            let end = min(offset + StoreBlob.pieceBytes, bytes.count)
            let stored = try await putBlock(Array(bytes[offset..<end]))
            entries.append(.init(slot: slot, id: stored.id))
            slot += 1
            offset = end
        }
        return try await putNode(StoreNode(header: StoreBlob.header(byteCount: bytes.count), entries: entries))
    }

    /// Reads a blob written by ``putBlob(_:)``, verified piece by piece.
    /// - Throws: `corruptObject` when the node is not a well-formed blob or a piece has the
    ///   wrong length; what ``chunk(_:)`` throws.
    /// - Complexity: One read per piece.
    public func blob(_ id: ChunkID) async throws -> [UInt8] {
        let node = try await node(id)
        let size = try StoreBlob.byteCount(of: node, id: id)
        var out: [UInt8] = []
        out.reserveCapacity(size)
        for (k, e) in node.entries.enumerated() {
            let length = min(StoreBlob.pieceBytes, size - k * StoreBlob.pieceBytes)  // 0 < length ≤ piece
            if e.id.isZero {
                out.append(contentsOf: repeatElement(0, count: length))
                continue
            }
            if let stored = self.length(of: e.id), stored != length {
                throw BlockStoreError(
                    .corruptObject,
                    "piece \(k) of blob \(id.shortHex) is a \(stored)-byte chunk where \(length) bytes belong")
            }
            let bytes = try await chunk(e.id)
            guard bytes.count == length else {
                throw BlockStoreError(
                    .corruptObject,
                    "piece \(k) of blob \(id.shortHex) holds \(bytes.count) bytes where \(length) belong")
            }
            out.append(contentsOf: bytes)
        }
        return out
    }
}
