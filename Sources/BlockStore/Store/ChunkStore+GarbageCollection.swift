/// What a garbage collection did.
public struct GarbageCollectionReport: Sendable, Equatable {
    /// Roots that kept data alive.
    public var rootCount: Int = 0
    /// Chunks reachable from the roots.
    public var liveChunks: Int = 0
    /// Chunks removed (unreachable).
    public var deletedChunks: Int = 0
    /// Stored bytes of those chunks (what they took in packs).
    public var deletedChunkBytes: Int64 = 0
    /// Packs deleted outright (nothing live in them).
    public var deletedPacks: Int = 0
    /// Packs rewritten because most of their bytes were garbage.
    public var repackedPacks: Int = 0
    /// Bytes of pack objects removed minus bytes written by repacking.
    public var freedBytes: Int64 = 0
    /// Chunks a root references that the store does not hold (damage found on the way).
    public var missingChunks: [ChunkID] = []
}

extension ChunkStore {
    /// Deletes every chunk no root reaches, and rewrites packs that are mostly garbage.
    ///
    /// Needs the store opened with ``StoreLockMode/exclusive`` (no writer runs meanwhile).
    /// Crash-safe at every step: new packs are written, then index objects naming everything
    /// kept, and only then are old index objects and dropped packs deleted; a crash at any point
    /// leaves a store that opens and restores every root (leftover packs go at the next run).
    /// - Parameters:
    ///   - repackThreshold: A pack whose garbage is at least this fraction of its bytes is
    ///     rewritten (default 0.3); packs with no live chunk are always deleted. Dead chunks in
    ///     packs below the threshold leave the index at once; their bytes go when the pack is
    ///     rewritten by a later collection.
    ///   - dryRun: Count what would go without changing anything (no exclusive lock needed).
    ///   - excludingRoots: With `dryRun`, count as if these roots were deleted (to preview what
    ///     expiring points would free).
    ///   - progress: Receives phase reports.
    public func collectGarbage(
        repackThreshold: Double = 0.3, dryRun: Bool = false, excludingRoots: Set<String> = [],
        progress: StoreProgressHandler? = nil
    ) async throws -> GarbageCollectionReport {
        guard dryRun || excludingRoots.isEmpty else {
            throw BlockStoreError(.invalidArgument, "excludingRoots is only for dry runs")
        }
        guard dryRun || options.lock == .exclusive else {
            throw BlockStoreError(.invalidArgument, "garbage collection needs the store opened with lock: .exclusive")
        }
        try await flush()
        var report = GarbageCollectionReport()

        // 1. The authoritative view: every pack's own header.
        let packs = try await listPacks().sorted { $0.key < $1.key }
                var entriesByPack: [ChunkID: [PackEntry]] = [:]
        for (n, pack) in packs.enumerated() {
            try Task.checkCancellation()
            progress?(StoreProgress(phase: "scanning packs", done: n, total: packs.count, bytesRead: 0))
            let entries = try await packEntries(pack.key, sizeBytes: pack.sizeBytes)
            entriesByPack[pack.id] = entries
        }
        let oldIndexObjects = try await backend.listAll(prefix: "index/").map(\.key)
        try await refreshIndex()

        // 2. Mark everything the roots reach.
        let roots = try await backend.listAll(prefix: "roots/")
        var rootIDs: [ChunkID] = []
        for entry in roots {
            let name = String(entry.key.rawValue.dropFirst("roots/".count))
            if excludingRoots.contains(name) { continue }
            rootIDs.append(try decodeRoot(try await backend.get(entry.key), name: name).id)
        }
        report.rootCount = rootIDs.count
        progress?(StoreProgress(phase: "marking", done: 0, total: nil, bytesRead: 0))
        let (live, missing) = try await reachable(from: rootIDs)
        report.liveChunks = live.count
        report.missingChunks = missing.sorted()

        // 3. Decide per pack. A chunk stored twice lives in the first pack (by key) holding it.
        var claimed: Set<ChunkID> = []
        var keep: [(packID: ChunkID, entries: [PackEntry])] = []
        var drop: [(id: ChunkID, key: ObjectKey, sizeBytes: UInt64)] = []
        var repack: [(id: ChunkID, key: ObjectKey, entries: [PackEntry])] = []
        for pack in packs {
            let entries = entriesByPack[pack.id] ?? []
            var liveBytes: UInt64 = 0
            var liveEntries: [PackEntry] = []
            for e in entries where live.contains(e.id) && !claimed.contains(e.id) {
                claimed.insert(e.id)
                liveBytes += UInt64(e.length)
                liveEntries.append(e)
            }
            report.deletedChunks += entries.count - liveEntries.count
            report.deletedChunkBytes += entries.reduce(Int64(0)) { $0 + Int64($1.length) } - liveEntries.reduce(Int64(0)) { $0 + Int64($1.length) }
            if liveEntries.isEmpty {
                drop.append(pack)
                report.deletedPacks += 1
                report.freedBytes += Int64(pack.sizeBytes)
            } else if Double(pack.sizeBytes - liveBytes) >= repackThreshold * Double(pack.sizeBytes) {
                repack.append((pack.id, pack.key, liveEntries))
                drop.append(pack)
                report.repackedPacks += 1
                report.freedBytes += Int64(pack.sizeBytes)
            } else {
                // The dead blobs stay as bytes until the pack is rewritten, but leave the index:
                // they are deleted as far as every reader and writer is concerned.
                keep.append((pack.id, liveEntries))
            }
        }
        if dryRun { return report }

        // 4. Rewrite mostly-garbage packs: copy live blobs as they are (still sealed, still verified on read).
        var builder = PackBuilder(capacity: configuration.packTargetBytes + (1 << 20))
        func closePack() async throws {
            guard !builder.isEmpty else { return }
            let (id, bytes, entries) = try builder.finish(crypto: crypto)
            builder = PackBuilder(capacity: configuration.packTargetBytes + (1 << 20))
            try await backend.put(ChunkStore.dataKey(id), data: bytes)
            keep.append((id, entries))
            report.freedBytes -= Int64(bytes.count)
        }
        for (n, pack) in repack.enumerated() {
            try Task.checkCancellation()
            progress?(StoreProgress(phase: "repacking", done: n, total: repack.count, bytesRead: 0))
            let bytes = try await backend.get(pack.key)
            for e in pack.entries {
                let end = Int(e.offset) + Int(e.length)
                guard end <= bytes.count else {
                    throw BlockStoreError(.truncatedObject, "pack \(pack.key) ends before chunk \(e.id.shortHex); run verify")
                }
                bytes.withUnsafeBytes { raw in
                    builder.append(id: e.id, kind: e.kind, rawLength: Int(e.rawLength), blob: UnsafeRawBufferPointer(rebasing: raw[Int(e.offset)..<end]))
                }
                if builder.bytes.count >= configuration.packTargetBytes { try await closePack() }
            }
        }
        try await closePack()

        // 5. Index objects naming everything kept, then remove the old ones, then the packs.
        progress?(StoreProgress(phase: "writing index", done: 0, total: nil, bytesRead: 0))
        var newIndex = ChunkIndex()
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
        for pack in keep {
            newIndex.add(packID: pack.packID, entries: pack.entries)
            batch.append(pack)
            batchCount += pack.entries.count
            if batchCount >= 1 << 20 { try await writeBatch() }
        }
        try await writeBatch()
        for key in oldIndexObjects where !written.contains(key) {
            try lockHandle?.checkHeld()
            try await backend.delete(key)
        }
        for (n, pack) in drop.enumerated() {
            progress?(StoreProgress(phase: "deleting packs", done: n, total: drop.count, bytesRead: 0))
            try lockHandle?.checkHeld()
            try await backend.delete(pack.key)
        }
        newIndex.loadedIndexObjects = written
        state.withLock { s in
            s.index = newIndex
            s.damagedIndexObjects = []
        }
        return report
    }

    /// Every chunk reachable from `roots` through nodes, and referenced chunks the index lacks.
    func reachable(from roots: [ChunkID]) async throws -> (live: Set<ChunkID>, missing: Set<ChunkID>) {
        var live: Set<ChunkID> = []
        var missing: Set<ChunkID> = []
        var stack = roots
        while let id = stack.popLast() {
            if id.isZero || live.contains(id) || missing.contains(id) { continue }
            guard let kind = kind(of: id) else {
                missing.insert(id)
                continue
            }
            live.insert(id)
            if kind == .node {
                try Task.checkCancellation()
                for e in try await node(id).entries where !e.id.isZero && !live.contains(e.id) {
                    stack.append(e.id)
                }
            }
        }
        return (live, missing)
    }
}
