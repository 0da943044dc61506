extension ChunkStore {
    /// Reads the entries of one pack from its header (two ranged reads), without its chunks.
    /// - Throws: `corruptObject` when `key` is not a pack's name; what reading the header throws.
    func packEntries(_ key: ObjectKey, sizeBytes: UInt64) async throws -> [PackEntry] {
        guard let packID = ChunkID(hex: key.lastSegment), key == ChunkStore.dataKey(packID) else {
            throw BlockStoreError(.corruptObject, "\(key) is not the name of a pack")
        }
        let trailerBytes = UInt64(PackFormat.trailerBytes)
        guard sizeBytes <= PackFormat.packObjectBytesMax else {
            throw BlockStoreError(
                .limitExceeded, "pack \(key) is \(sizeBytes) bytes, more than any pack this format can hold")
        }
        guard sizeBytes >= trailerBytes else {
            throw BlockStoreError(.truncatedObject, "pack \(key) is \(sizeBytes) bytes, shorter than a pack trailer")
        }
        let trailer = try await backend.get(key, range: (sizeBytes - trailerBytes)..<sizeBytes)
        var r = ByteReader(trailer, what: "pack \(key)")
        let headerLength = UInt64(try r.u32())
        guard headerLength + trailerBytes <= sizeBytes else {
            throw BlockStoreError(
                .truncatedObject, "pack \(key) declares a \(headerLength)-byte header but is only \(sizeBytes) bytes")
        }
        guard headerLength <= UInt64(ObjectSizeLimits.packHeader) else {
            throw BlockStoreError(
                .limitExceeded,
                "pack \(key) declares a \(headerLength)-byte header, more than the \(ObjectSizeLimits.packHeader) "
                    + "bytes of the largest pack header: it was not read")
        }
        let tail = try await backend.get(key, range: (sizeBytes - trailerBytes - headerLength)..<sizeBytes)
        // Parse the tail as a pack whose chunks start before it; offsets are checked against that.
        let chunkArea = Int(sizeBytes - trailerBytes - headerLength)
        let entries = try PackFormat.entries(
            ofPack: tail, packID: packID, crypto: crypto, what: "pack \(key)", chunkAreaOffset: chunkArea)
        return entries
    }

    /// Every pack object with its size, keyed by pack ID. Objects under `data/` whose name is not
    /// a pack ID are ignored.
    func listPacks() async throws -> [(id: ChunkID, key: ObjectKey, sizeBytes: UInt64)] {
        try await backend.listAll(prefix: "data/").compactMap { entry in
            guard let id = ChunkID(hex: entry.key.lastSegment), entry.key == ChunkStore.dataKey(id) else { return nil }
            return (id, entry.key, entry.sizeBytes)
        }
    }
}
