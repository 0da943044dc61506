extension ChunkStore {
    /// Returns several nodes, in the order of `ids`, reading nodes that sit near each other in
    /// one pack with a single ranged read (``readChunks(_:into:gapBytesMax:_:)``): a tree walk
    /// that asks for the children of a node in slot order reads them in a few requests instead
    /// of one per node, which matters most on object storage. Every node is verified against its
    /// ID, as ``node(_:)`` does.
    /// - Throws: ``BlockStoreError`` `notFound` for an ID the store does not hold,
    ///   `corruptObject` for a data chunk or a damaged node, or a backend error.
    public func nodes(_ ids: [ChunkID]) async throws -> [StoreNode] {
        var largest = 0
        var located: [(index: Int, pack: UInt32, offset: UInt32)] = []
        located.reserveCapacity(ids.count)
        for (index, id) in ids.enumerated() {
            let location = try await locate(id)
            guard location.kind == .node else {
                throw BlockStoreError(
                    .corruptObject,
                    "chunk \(id.shortHex) was expected to be a node but is stored as data")
            }
            largest = max(largest, Int(location.rawLength))
            located.append((index, location.packNumber, location.offset))
        }
        // Read in pack order, whatever order the nodes were written in, so neighbours coalesce.
        located.sort { ($0.pack, $0.offset) < ($1.pack, $1.offset) }
        var out = [StoreNode?](repeating: nil, count: ids.count)
        let buffer = UnsafeMutableRawBufferPointer.allocate(
            byteCount: max(largest, 1),
            alignment: 16)
        defer { buffer.deallocate() }
        try await readChunks(located.map { ids[$0.index] }, into: buffer) { k, bytes in
            out[located[k].index] = try StoreNode(decoding: bytes)
        }
        return out.map { $0! }
    }
}
