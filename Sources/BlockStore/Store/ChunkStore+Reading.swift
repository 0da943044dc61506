import Foundation

extension ChunkStore {
    /// Whether the store holds this chunk (``ChunkID/zero`` is always "held").
    public func contains(_ id: ChunkID) -> Bool {
        id.isZero || state.withLock { $0.index.contains(id) || $0.pending.contains(id) }
    }

    /// What kind of chunk this ID names, or nil when the store does not hold it.
    public func kind(of id: ChunkID) -> ChunkKind? {
        state.withLock { $0.index.location(of: id)?.kind }
    }

    /// The decoded length of a stored chunk, or nil when it is not stored.
    public func length(of id: ChunkID) -> Int? {
        state.withLock { $0.index.location(of: id).map { Int($0.rawLength) } }
    }

    /// The bytes a stored chunk takes in its pack (compressed, sealed), or nil when not stored.
    public func storedLength(of id: ChunkID) -> Int? {
        state.withLock { $0.index.location(of: id).map { Int($0.length) } }
    }

    /// Where the index places a stored chunk: its pack object and the byte range of its sealed form.
    /// For tools and tests that inspect or damage stores on purpose.
    package func packLocation(of id: ChunkID) -> (pack: ObjectKey, range: Range<UInt64>)? {
        state.withLock { s in
            guard let location = s.index.location(of: id), let pack = s.index.packID(number: location.packNumber) else {
                return nil
            }
            let start = UInt64(location.offset)
            return (ChunkStore.dataKey(pack), start..<(start + UInt64(location.length)))
        }
    }

    /// Reads a chunk, verified against its ID.
    /// - Throws: `notFound` when the store lacks it; `corruptObject`, `truncatedObject` or
    ///   `authenticationFailed` when the stored bytes are damaged — never wrong bytes.
    public func chunk(_ id: ChunkID) async throws -> [UInt8] {
        let location = try await locate(id)
        var out = [UInt8](repeating: 0, count: Int(location.rawLength))
        let sealed = try await fetchSealed(id, location)
        try out.withUnsafeMutableBytes { try decode(sealed: sealed, id: id, location: location, into: $0) }
        return out
    }

    /// Reads a chunk into `buffer` (which must hold at least its length), verified against its ID.
    /// ``ChunkID/zero`` fills the whole buffer with zeros.
    /// - Returns: The chunk's length in bytes.
    public func readChunk(_ id: ChunkID, into buffer: UnsafeMutableRawBufferPointer) async throws -> Int {
        if id.isZero {
            if let base = buffer.baseAddress { memset(base, 0, buffer.count) }
            return buffer.count
        }
        let location = try await locate(id)
        guard buffer.count >= Int(location.rawLength) else {
            throw BlockStoreError(
                .invalidArgument,
                "a \(buffer.count)-byte buffer cannot hold chunk \(id.shortHex) of \(location.rawLength) bytes")
        }
        let sealed = try await fetchSealed(id, location)
        try decode(
            sealed: sealed, id: id, location: location,
            into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<Int(location.rawLength)]))
        return Int(location.rawLength)
    }

    /// Reads and decodes a node.
    public func node(_ id: ChunkID) async throws -> StoreNode {
        let location = try await locate(id)
        guard location.kind == .node else {
            throw BlockStoreError(
                .corruptObject, "chunk \(id.shortHex) was expected to be a node but is stored as data")
        }
        return try StoreNode(decoding: try await chunk(id))
    }

    /// Loads index objects written since the last refresh (by this or other processes).
    /// Damaged index objects are skipped and reported by ``verify(roots:dataSubset:progress:)``.
    public func refreshIndex() async throws {
        let listed = try await backend.listAll(prefix: "index/")
        let known = state.withLock { $0.index.loadedIndexObjects }
        for entry in listed where !known.contains(entry.key) {
            try Task.checkCancellation()
            let bytes: [UInt8]
            do {
                bytes = try await backend.get(entry.key, byteCountMax: ObjectSizeLimits.indexObject)
            } catch let error as BlockStoreError where ChunkStore.isDamage(error) {
                state.withLock { _ = $0.damagedIndexObjects.insert(entry.key) }  // Too large to be one.
                continue
            }
            let file: IndexFile
            do {
                file = try IndexFile.decode(bytes, key: entry.key, crypto: crypto)
            } catch {
                state.withLock { _ = $0.damagedIndexObjects.insert(entry.key) }
                continue
            }
            state.withLock { s in
                for pack in file.packs { s.index.add(packID: pack.packID, entries: pack.entries) }
                s.index.loadedIndexObjects.insert(entry.key)
            }
        }
    }

    func locate(_ id: ChunkID) async throws -> ChunkLocation {
        if let location = state.withLock({ $0.index.location(of: id) }) { return location }
        try await refreshIndex()
        if let location = state.withLock({ $0.index.location(of: id) }) { return location }
        if state.withLock({ $0.pending.contains(id) }) {
            throw BlockStoreError(
                .invalidArgument, "chunk \(id.shortHex) is still being written; call flush() before reading it")
        }
        throw BlockStoreError(
            .notFound,
            "chunk \(id.shortHex) is not in the store in \(backend.location); run verify to find which points are damaged"
        )
    }

    func fetchSealed(_ id: ChunkID, _ location: ChunkLocation) async throws -> [UInt8] {
        guard
            let packID = state.withLock({ s -> ChunkID? in
                // The index may have been replaced (by a GC of this instance) since `location` was read.
                guard let now = s.index.location(of: id), now == location else { return nil }
                return s.index.packID(number: location.packNumber)
            })
        else {
            return try await fetchSealed(id, try await locate(id))
        }
        let range = UInt64(location.offset)..<(UInt64(location.offset) + UInt64(location.length))
        do {
            let sealed = try await backend.get(ChunkStore.dataKey(packID), range: range)
            guard sealed.count == Int(location.length) else {
                throw BlockStoreError(
                    .truncatedObject,
                    "pack \(packID.shortHex) ends before chunk \(id.shortHex) (got \(sealed.count) of \(location.length) bytes)"
                )
            }
            return sealed
        } catch let error as BlockStoreError where error.code == .notFound {
            // A garbage collection may have repacked the chunk: look again once.
            state.withLock { $0.index.removePacks([packID]) }
            try await refreshIndex()
            guard let moved = state.withLock({ $0.index.location(of: id) }),
                let movedPack = state.withLock({ $0.index.packID(number: moved.packNumber) }), movedPack != packID
            else {
                throw BlockStoreError(
                    .notFound,
                    "pack \(packID.shortHex) holding chunk \(id.shortHex) is missing from \(backend.location)",
                    underlying: error)
            }
            return try await fetchSealed(id, moved)
        }
    }

    /// Opens, decompresses and verifies one sealed chunk into `output` (exactly rawLength bytes).
    func decode(sealed: [UInt8], id: ChunkID, location: ChunkLocation, into output: UnsafeMutableRawBufferPointer)
        throws
    {
        try sealed.withUnsafeBytes { try decode(sealed: $0, id: id, location: location, into: output) }
    }

    /// Opens, decompresses and verifies one sealed chunk, read in place (a slice of a pack run),
    /// into `output` (exactly rawLength bytes).
    func decode(
        sealed: UnsafeRawBufferPointer, id: ChunkID, location: ChunkLocation, into output: UnsafeMutableRawBufferPointer
    ) throws {
        // A sealed chunk opens only as the chunk it was sealed as (its ID and kind).
        try crypto.withOpenedChunk(sealed, id: id, kind: location.kind, what: "chunk \(id.shortHex)") { p in
            guard p.count >= 1 else {
                throw BlockStoreError(.truncatedObject, "chunk \(id.shortHex) is empty in its pack")
            }
            guard p[0] & ~PackFormat.flagCompressed == 0 else {
                throw BlockStoreError(.corruptObject, "chunk \(id.shortHex) has unknown flags \(p[0])")
            }
            let payload = UnsafeRawBufferPointer(rebasing: p[1...])
            if p[0] & PackFormat.flagCompressed != 0 {
                try zstd.withContext { try $0.decompress(payload, into: output) }
            } else {
                guard payload.count == output.count else {
                    throw BlockStoreError(
                        .corruptObject,
                        "chunk \(id.shortHex) holds \(payload.count) bytes, its index says \(output.count)")
                }
                if payload.count > 0 {
                    output.baseAddress!.copyMemory(from: payload.baseAddress!, byteCount: payload.count)
                }
            }
        }
        let actual =
            location.kind == .data
            ? crypto.hasher.dataID(UnsafeRawBufferPointer(output))
            : crypto.hasher.nodeID(UnsafeRawBufferPointer(output))
        guard actual == id else {
            throw BlockStoreError(
                .corruptObject,
                "chunk \(id.shortHex) failed verification: its stored content hashes to \(actual.shortHex)")
        }
    }
}
