import Foundation

/// The outcome of offering a block to the store.
public struct StoredChunk: Sendable, Equatable {
    /// The block's ID (``ChunkID/zero`` for an all-zero block).
    public var id: ChunkID
    /// Whether this call stored new bytes (false for zero and already-stored blocks).
    public var isNew: Bool
    /// Bytes this call added to the store (compressed, sealed); 0 when not new.
    public var storedBytes: Int
}

extension ChunkStore {
    /// Chunks of at most this many bytes are stored without trying compression: a zstd frame's
    /// own header and checksum eat what little so few bytes could save.
    static let uncompressedChunkBytesMax = 64

    /// Stores a block unless it is all zeros or already stored.
    ///
    /// Safe to call from many tasks at once: hashing, compression and encryption run in the
    /// calling task, so N concurrent callers use N cores. The bytes are durable after ``flush()``.
    /// - Parameter bytes: The block, at most 8 MiB; it must stay valid until the call returns.
    /// - Returns: The ID and whether new bytes were stored.
    /// - Throws: `storeClosed` after a failed write or ``close()``; `lockLost` once the store's
    ///   lock is lost; backend errors.
    public func putBlock(_ bytes: UnsafeRawBufferPointer) async throws -> StoredChunk {
        let (result, full) = try ingest(bytes, kind: .data)
        if let full { try await upload(full) }
        return result
    }

    /// Stores a block held in an array (see ``putBlock(_:)-(UnsafeRawBufferPointer)``).
    public func putBlock(_ bytes: [UInt8]) async throws -> StoredChunk {
        let (result, full) = try bytes.withUnsafeBytes { try ingest($0, kind: .data) }
        if let full { try await upload(full) }
        return result
    }

    /// Stores a node and returns its ID.
    public func putNode(_ node: StoreNode) async throws -> ChunkID {
        let encoded = node.encoded()
        let (result, full) = try encoded.withUnsafeBytes { try ingest($0, kind: .node) }
        if let full { try await upload(full) }
        return result.id
    }

    /// Makes every chunk stored so far durable: closes the open pack, waits for uploads, and
    /// writes the index objects that list them. Publish roots only after this returns.
    /// - Throws: `lockLost` once the store's lock is lost; `storeClosed` after a failed write.
    public func flush() async throws {
        try lockHandle?.checkHeld()
        try failIfFailed()
        let current: PackBuilder? = state.withLock { s in
            guard !s.builder.isEmpty else { return nil }
            let taken = s.builder
            s.builder = PackBuilder(capacity: configuration.packTargetBytes + PackBuilder.capacitySlackBytes)
            s.inFlight += 1
            return taken
        }
        if let current { try await upload(current) }
        await waitForUploads()
        let rest = state.withLock { s -> [(packID: ChunkID, entries: [PackEntry])] in
            defer { s.unindexed = [] }
            return s.unindexed
        }
        if !rest.isEmpty {
            do {
                try await writeIndexObject(rest)
            } catch {
                recordFailure(error)
                throw error
            }
        }
        try failIfFailed()
    }

    func failIfFailed() throws {
        if let failure = state.withLock({ $0.failure }) {
            throw BlockStoreError(
                .storeClosed, "an earlier write to this store failed, so it accepts no more: \(failure.message)",
                underlying: failure)
        }
    }

    static func isAllZero(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return true }
        if base.load(as: UInt8.self) != 0 { return false }
        return memcmp(base, base + 1, bytes.count - 1) == 0
    }

    /// Hashes, deduplicates, compresses, seals and appends one chunk. Returns a full pack for the
    /// caller to upload, if this chunk filled one.
    func ingest(_ bytes: UnsafeRawBufferPointer, kind: ChunkKind) throws -> (StoredChunk, PackBuilder?) {
        guard bytes.count <= Int(PackEntry.rawLengthMax) else {
            throw BlockStoreError(
                .limitExceeded, "a \(bytes.count)-byte chunk exceeds the \(PackEntry.rawLengthMax)-byte limit")
        }
        try failIfUnusable()
        if kind == .data, ChunkStore.isAllZero(bytes) {
            state.withLock {
                $0.counters.blocksOffered += 1
                $0.counters.zeroBlocks += 1
            }
            return (StoredChunk(id: .zero, isNew: false, storedBytes: 0), nil)
        }
        let id = kind == .data ? crypto.hasher.dataID(bytes) : crypto.hasher.nodeID(bytes)
        let isNew = state.withLock { s -> Bool in
            s.counters.blocksOffered += 1
            if s.index.contains(id) || s.pending.contains(id) {
                s.counters.duplicateBlocks += 1
                return false
            }
            s.pending.insert(id)
            return true
        }
        guard isNew else { return (StoredChunk(id: id, isNew: false, storedBytes: 0), nil) }
        do {
            return try zstd.withContext { ctx in
                let scratch = ctx.scratch(minimumBytes: 1 + ZstdContext.bound(bytes.count))
                // Compress only when it saves bytes: the output may be at most count - 1 bytes.
                let limit = max(bytes.count - 1, 0)
                var payloadLength = bytes.count
                if bytes.count > ChunkStore.uncompressedChunkBytesMax,
                    let n = ctx.compress(bytes, into: UnsafeMutableRawBufferPointer(rebasing: scratch[1..<(1 + limit)]))
                {
                    scratch[0] = PackFormat.flagCompressed
                    payloadLength = n
                } else {
                    scratch[0] = 0
                    if bytes.count > 0 {
                        (scratch.baseAddress! + 1).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
                    }
                }
                let plain = UnsafeRawBufferPointer(rebasing: scratch[0..<(1 + payloadLength)])
                func append(_ sealed: UnsafeRawBufferPointer) -> (StoredChunk, PackBuilder?) {
                    state.withLock { s in
                        s.builder.append(id: id, kind: kind, rawLength: bytes.count, sealed: sealed)
                        s.counters.newChunks += 1
                        s.counters.newRawBytes += UInt64(bytes.count)
                        s.counters.newStoredBytes += UInt64(sealed.count)
                        var full: PackBuilder? = nil
                        if s.builder.bytes.count >= configuration.packTargetBytes
                            || s.builder.entries.count >= PackFormat.entryCountMax - 1
                        {
                            full = s.builder
                            s.builder = PackBuilder(
                                capacity: configuration.packTargetBytes + PackBuilder.capacitySlackBytes)
                            s.inFlight += 1
                        }
                        return (StoredChunk(id: id, isNew: true, storedBytes: sealed.count), full)
                    }
                }
                // Sealed straight from AES-GCM's output into the pack buffer: no intermediate array.
                return try crypto.withSealedChunk(plain, id: id, kind: kind) { append($0) }
            }
        } catch {
            _ = state.withLock { $0.pending.remove(id) }
            throw error
        }
    }

    /// Uploads a full pack, then records its chunks as stored. A failure makes the store refuse
    /// further writes (the chunks it held were promised to other callers).
    func upload(_ builder: PackBuilder) async throws {
        defer { finishUpload() }
        do {
            let (packID, bytes, entries) = try builder.finish(crypto: crypto)
            try await backend.put(ChunkStore.dataKey(packID), data: bytes)
            let indexNow = state.withLock { s -> [(packID: ChunkID, entries: [PackEntry])]? in
                s.index.add(packID: packID, entries: entries)
                for e in entries { s.pending.remove(e.id) }
                s.unindexed.append((packID, entries))
                s.counters.packsWritten += 1
                guard s.unindexed.count >= options.packsPerIndexObject else { return nil }
                defer { s.unindexed = [] }
                return s.unindexed
            }
            if let indexNow { try await writeIndexObject(indexNow) }
        } catch {
            recordFailure(error)
            throw error
        }
    }

    func recordFailure(_ error: any Error) {
        let failure = (error as? BlockStoreError) ?? BlockStoreError(.backendError, "a write failed", underlying: error)
        state.withLock { s in
            if s.failure == nil { s.failure = failure }
        }
    }

    private func finishUpload() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.inFlight -= 1
            guard s.inFlight == 0 else { return [] }
            defer { s.waiters = [] }
            return s.waiters
        }
        for w in waiters { w.resume() }
    }

    func waitForUploads() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                if s.inFlight == 0 { return true }
                s.waiters.append(c)
                return false
            }
            if now { c.resume() }
        }
    }

    /// Writes one index object listing `packs`; named by its hash, never overwritten.
    func writeIndexObject(_ packs: [(packID: ChunkID, entries: [PackEntry])]) async throws {
        let bytes = try IndexFile(packs: packs).encoded(crypto: crypto)
        let key = ChunkStore.indexKey(ChunkHasher.sha256.dataID(bytes))
        try await backend.put(key, data: bytes)
        state.withLock { s in
            s.index.loadedIndexObjects.insert(key)
            s.counters.indexObjectsWritten += 1
        }
    }
}
