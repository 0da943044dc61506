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
}

extension ChunkStore {
    /// Deletes every chunk no root reaches, and rewrites packs that are mostly garbage.
    ///
    /// Fails closed: before deciding anything it reads and authenticates every pack header,
    /// every index object and every root, and follows every root through its nodes using the
    /// pack headers' own account of where chunks are (never the index alone). If any of them is
    /// damaged or unreadable, or a chunk a root reaches is in no pack, it throws
    /// ``BlockStoreError/Code/damaged`` with a ``DamageReport`` naming the objects, having
    /// deleted nothing; a dry run reports the same. Run ``verify(roots:dataSubset:progress:)`` to see which
    /// points are affected, and ``repair(dryRun:progress:)`` to rebuild a damaged index.
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
    ///     expiring points would free). They are still checked: damage they reach stops the
    ///     preview like any other.
    ///   - progress: Receives phase reports.
    /// - Complexity: Reads every pack header (two ranged reads each), every index object, every
    ///   root and every node the roots reach; repacking reads and rewrites the packs it picks.
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

        // 1. The complete picture, or nothing is deleted: every pack header, index object and
        //    root must read and authenticate, and every chunk the roots reach must be in a pack.
        let survey = try await self.survey(progress: progress)
        var damage = DamageReport(
            damagedObjects: survey.damagedObjectKeys, damagedRoots: survey.roots.damaged.map(\.name))
        // Every root is followed, excluded ones too: damage anywhere stops a preview as well,
        // so that pruning never expires points on a store it could not then collect.
        progress?(StoreProgress(phase: "marking", done: 0, total: nil, bytesRead: 0))
        let marked = try await mark(roots: survey.roots.records, survey: survey, progress: progress)
        damage.missingChunks = marked.missing.sorted()
        damage.damagedObjects.append(
            contentsOf: marked.unreadableNodes.keys.sorted().compactMap { id in
                survey.locations[id].map { survey.packs[$0.pack].key }
            })
        damage.damagedObjects = Array(Set(damage.damagedObjects)).sorted()
        damage.damagedRoots = Array(Set(damage.damagedRoots + marked.damagedRoots)).sorted()
        guard damage.isEmpty else {
            throw BlockStoreError(
                .damaged,
                "garbage collection stopped before deleting anything: the store is damaged (\(damage)); run verify to see which points are affected and repair to rebuild the index",
                underlying: damage)
        }
        let roots = survey.roots.records.filter { !excludingRoots.contains($0.name) }
        report.rootCount = roots.count
        let live =
            excludingRoots.isEmpty ? marked.live : try await mark(roots: roots, survey: survey, progress: progress).live
        report.liveChunks = live.count

        // 2. Decide per pack from its own header. A chunk stored twice lives in the first pack
        //    (by key) holding it.
        var claimed: Set<ChunkID> = []
        var keep: [(packID: ChunkID, entries: [PackEntry])] = []
        var drop: [(id: ChunkID, key: ObjectKey, sizeBytes: UInt64)] = []
        var repack: [(id: ChunkID, key: ObjectKey, entries: [PackEntry])] = []
        for pack in survey.packs {
            var liveBytes: UInt64 = 0
            var allBytes: UInt64 = 0
            var liveEntries: [PackEntry] = []
            for e in pack.entries {
                allBytes += UInt64(e.length)
                guard live.contains(e.id), !claimed.contains(e.id) else { continue }
                claimed.insert(e.id)
                liveBytes += UInt64(e.length)
                liveEntries.append(e)
            }
            report.deletedChunks += pack.entries.count - liveEntries.count
            report.deletedChunkBytes += Int64(clamping: allBytes - liveBytes)
            // Entries may overlap in a hostile header: never let the garbage estimate underflow.
            let garbageBytes = pack.sizeBytes > liveBytes ? pack.sizeBytes - liveBytes : 0
            if liveEntries.isEmpty {
                drop.append((pack.id, pack.key, pack.sizeBytes))
                report.deletedPacks += 1
                report.freedBytes += Int64(clamping: pack.sizeBytes)
            } else if Double(garbageBytes) >= repackThreshold * Double(pack.sizeBytes) {
                repack.append((pack.id, pack.key, liveEntries))
                drop.append((pack.id, pack.key, pack.sizeBytes))
                report.repackedPacks += 1
                report.freedBytes += Int64(clamping: pack.sizeBytes)
            } else {
                // The dead chunks stay as bytes until the pack is rewritten, but leave the index:
                // they are deleted as far as every reader and writer is concerned.
                keep.append((pack.id, liveEntries))
            }
        }
        let oldIndexObjects = survey.indexKeys
        if dryRun { return report }

        // 3. Rewrite mostly-garbage packs: copy live chunks as they are (still sealed), each
        //    verified first: a damaged chunk stops the collection before anything is deleted
        //    (packs written so far are unindexed leftovers for the next run).
        var builder = PackBuilder(capacity: configuration.packTargetBytes + PackBuilder.capacitySlackBytes)
        func closePack() async throws {
            guard !builder.isEmpty else { return }
            let (id, bytes, entries) = try builder.finish(crypto: crypto)
            builder = PackBuilder(capacity: configuration.packTargetBytes + PackBuilder.capacitySlackBytes)
            try await backend.put(ChunkStore.dataKey(id), data: bytes)
            keep.append((id, entries))
            report.freedBytes -= Int64(bytes.count)
        }
        var scratch: [UInt8] = []
        for (n, pack) in repack.enumerated() {
            try Task.checkCancellation()
            progress?(StoreProgress(phase: "repacking", done: n, total: repack.count, bytesRead: 0))
            let bytes = try await backend.get(pack.key, byteCountMax: ObjectSizeLimits.pack)
            for e in pack.entries {
                let end = Int(UInt64(e.offset) + UInt64(e.length))
                guard end <= bytes.count else {
                    throw BlockStoreError(
                        .truncatedObject, "pack \(pack.key) ends before chunk \(e.id.shortHex); run verify")
                }
                let sealed = Array(bytes[Int(e.offset)..<end])
                if scratch.count < Int(e.rawLength) { scratch = [UInt8](repeating: 0, count: Int(e.rawLength)) }
                do {
                    let location = ChunkLocation(
                        packNumber: 0, offset: e.offset, length: e.length, rawLength: e.rawLength, kind: e.kind)
                    try scratch.withUnsafeMutableBytes {
                        try decode(
                            sealed: sealed, id: e.id, location: location,
                            into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<Int(e.rawLength)]))
                    }
                } catch let error as BlockStoreError where ChunkStore.isDamage(error) || error.code == .compressionError
                {
                    let damage = DamageReport(damagedObjects: [pack.key])
                    throw BlockStoreError(
                        .damaged,
                        "garbage collection stopped before deleting anything: live chunk \(e.id.shortHex) in pack \(pack.key) is damaged (\(error.message)); run verify to see which points are affected",
                        underlying: damage)
                }
                sealed.withUnsafeBytes { raw in
                    builder.append(id: e.id, kind: e.kind, rawLength: Int(e.rawLength), sealed: raw)
                }
                if builder.bytes.count >= configuration.packTargetBytes { try await closePack() }
            }
        }
        try await closePack()

        // 4. Index objects naming everything kept, then remove the old ones, then the packs.
        progress?(StoreProgress(phase: "writing index", done: 0, total: nil, bytesRead: 0))
        let (newIndex, written) = try await writeIndexObjects(listing: keep)
        for key in oldIndexObjects where !written.contains(key) {
            try lockHandle?.checkHeld()
            try await backend.delete(key)
        }
        for (n, pack) in drop.enumerated() {
            progress?(StoreProgress(phase: "deleting packs", done: n, total: drop.count, bytesRead: 0))
            try lockHandle?.checkHeld()
            try await backend.delete(pack.key)
        }
        state.withLock { s in
            s.index = newIndex
            s.damagedIndexObjects = []
        }
        return report
    }
}
