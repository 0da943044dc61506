extension ChunkStore {
    /// The prefix damaged packs are moved under by ``repair(dryRun:progress:)``.
    static let quarantinePrefix = "quarantine/"

    /// Rebuilds the index from the pack headers (as `restic repair index` does), sets aside packs
    /// whose header is damaged, and reports the roots that cannot be restored whole.
    ///
    /// Pack headers are the authority on which chunks a pack holds: every readable header is
    /// read and authenticated, and when any index object is damaged or missing, disagrees with a
    /// header or names a missing pack, or a pack is not indexed, new index objects listing every
    /// readable pack are written before the old ones are removed (a crash between the two leaves
    /// chunks listed twice, which is harmless). A readable pack is never deleted. A pack whose
    /// header cannot be read or authenticated cannot be indexed: its bytes are copied under
    /// `quarantine/` and the original removed, so that garbage collection, which refuses to run
    /// beside damage, can run again once the points that needed it are dealt with. Roots are
    /// never changed: damaged ones are reported in ``RepairReport/damagedRoots``.
    ///
    /// Needs the store opened with ``StoreLockMode/exclusive`` unless `dryRun`.
    /// - Parameters:
    ///   - dryRun: Report what would be done without changing anything.
    ///   - progress: Receives phase reports.
    /// - Throws: Backend errors (nothing is changed while any object cannot be fetched at all).
    /// - Complexity: Reads every pack header, index object and root, and every node the roots
    ///   reach; writes the index once.
    public func repair(dryRun: Bool = false, progress: StoreProgressHandler? = nil) async throws -> RepairReport {
        guard dryRun || options.lock == .exclusive else {
            throw BlockStoreError(.invalidArgument, "repair needs the store opened with lock: .exclusive")
        }
        try await flush()
        var report = RepairReport()
        report.dryRun = dryRun
        let survey = try await self.survey(progress: progress)
        let check = survey.checkIndex()
        report.damagedIndexObjects = survey.damagedIndexObjects.map(\.key)
        report.damagedPacks = survey.damagedPacks.map(\.key)
        report.rebuiltIndex =
            !survey.damagedIndexObjects.isEmpty || !check.isConsistent || check.unindexed > 0
            || !survey.damagedPacks.isEmpty

        let listing = survey.packs.map { (packID: $0.id, entries: $0.entries) }
        if report.rebuiltIndex {
            if dryRun {
                report.indexObjects = ChunkStore.indexObjectCount(listing: listing)
                report.removedIndexObjects = survey.indexKeys.count
            } else {
                progress?(StoreProgress(phase: "writing index", done: 0, total: nil, bytesRead: 0))
                let (index, written) = try await writeIndexObjects(listing: listing)
                report.indexObjects = written.count
                for key in survey.indexKeys where !written.contains(key) {
                    try await backend.delete(key)
                    report.removedIndexObjects += 1
                }
                state.withLock { s in
                    s.index = index
                    s.damagedIndexObjects = []
                }
            }
        }
        if !dryRun {
            for (n, damaged) in survey.damagedPacks.enumerated() {
                progress?(
                    StoreProgress(phase: "quarantining packs", done: n, total: survey.damagedPacks.count, bytesRead: 0))
                try await quarantine(damaged.key)
            }
        }

        progress?(StoreProgress(phase: "checking roots", done: 0, total: survey.roots.records.count, bytesRead: 0))
        let marked = try await mark(roots: survey.roots.records, survey: survey, progress: progress)
        report.missingChunks = marked.missing.sorted()
        report.damagedRoots = Array(Set(marked.damagedRoots + survey.roots.damaged.map(\.name))).sorted()
        return report
    }

    /// How many index objects ``writeIndexObjects(listing:)`` would write for `packs`.
    static func indexObjectCount(listing packs: [(packID: ChunkID, entries: [PackEntry])]) -> Int {
        var count = 0
        var batch = 0
        for pack in packs {
            if batch > 0, batch + pack.entries.count > consolidatedIndexEntryCountMax {
                count += 1
                batch = 0
            }
            batch += pack.entries.count
        }
        return count + (packs.isEmpty ? 0 : 1)
    }

    /// Copies an object under `quarantine/` (create-only: an earlier copy is kept), then deletes
    /// the original.
    private func quarantine(_ key: ObjectKey) async throws {
        let bytes = try await backend.get(key, byteCountMax: ObjectSizeLimits.pack)
        let target = try ObjectKey(validating: ChunkStore.quarantinePrefix + key.rawValue)
        if !(try await backend.create(target, data: bytes)) {
            guard try await backend.get(target, byteCountMax: bytes.count) == bytes else {
                throw BlockStoreError(
                    .alreadyExists, "\(target) already holds other bytes; move it away before repairing")
            }
        }
        try await backend.delete(key)
    }
}
