extension ChunkStore {
    /// The most entries one index object written by GC or repair lists (about 46 MiB).
    static let consolidatedIndexEntryCountMax = 1 << 20

    /// Writes index objects listing `packs` (content-named, so rewriting the same listing is
    /// idempotent) and returns the in-memory index they describe with the keys written.
    ///
    /// Used by garbage collection and repair, which then delete the index objects not written
    /// here: the new ones are durable first, so a crash between the two steps leaves chunks
    /// listed twice (harmless), never unlisted.
    func writeIndexObjects(
        listing packs: [(packID: ChunkID, entries: [PackEntry])]
    ) async throws -> (index: ChunkIndex, written: Set<ObjectKey>) {
        var index = ChunkIndex()
        var batch: [(packID: ChunkID, entries: [PackEntry])] = []
        var batchCount = 0
        var written: Set<ObjectKey> = []
        func writeBatch() async throws {
            guard !batch.isEmpty else { return }
            let bytes = try IndexFile(packs: batch).encoded(crypto: crypto)
            let key = ChunkStore.indexKey(ChunkHasher.sha256.dataID(bytes))
            try await backend.put(key, data: bytes)
            written.insert(key)
            batch = []
            batchCount = 0
        }
        for pack in packs {
            if batchCount + pack.entries.count > ChunkStore.consolidatedIndexEntryCountMax { try await writeBatch() }
            index.add(packID: pack.packID, entries: pack.entries)
            batch.append(pack)
            batchCount += pack.entries.count
        }
        try await writeBatch()
        index.loadedIndexObjects = written
        return (index, written)
    }
}
