import BlockStore
import Foundation

extension ChainStore {
    /// Starts a backup as a ``Job``: progress as an `AsyncSequence`, cancellable.
    public func startBackup(_ request: BackupRequest) -> Job<BackupResult> {
        Job { report in try await self.backup(request, progress: report) }
    }

    /// Backs up an item's disks as one new recovery point (all or nothing).
    ///
    /// Each disk builds on its *base*: the item's latest point that has that disk (a disk left
    /// out of newer points chains onto the last point that has it; a disk no point has is
    /// backed up in full). Changed blocks are found, best first, from the host's tracked
    /// changes (used only when they are relative to that base), from the source's holes
    /// (skipped without reading), or by reading every block and comparing its hash with the
    /// base's map. Only changed blocks are stored; the new maps share everything else with the
    /// bases. Disks are processed in parallel. If any disk fails, or the task is cancelled, no
    /// point is recorded and nothing committed before is touched.
    /// - Returns: The new point, its kind, blocks a change tracker missed (verify mode), and
    ///   disks read whole because their tracked changes named another base.
    /// - Throws: ``RecoveryChainError`` — `operationInProgress` when another backup or restore of
    ///   the item runs; `baseMismatch` when a disk's ``TrackedChanges/since`` is not its base and
    ///   ``BackupRequest/onBaseMismatch`` is ``BaseMismatchPolicy/fail`` (nothing was read or
    ///   stored); `damaged` when any point of the item cannot be read (the base is then
    ///   unknown); `diskFailed`, `invalidArgument`, `cancelled`, `storeError`.
    public func backup(_ request: BackupRequest, progress: JobProgressHandler? = nil) async throws -> BackupResult {
        try validate(request)
        return try await withItemLock(request.item, "backup") {
            do {
                return try await backupLocked(request, progress: progress)
            } catch {
                throw RecoveryChainError.wrap(error, "the backup of \(request.item)")
            }
        }
    }

    private func validate(_ request: BackupRequest) throws {
        try ChainStore.validateItem(request.item)
        guard !request.disks.isEmpty else {
            throw RecoveryChainError(.invalidArgument, "a backup needs at least one disk")
        }
        guard Set(request.disks.map(\.disk)).count == request.disks.count,
            request.disks.allSatisfy({ $0.disk.isValid })
        else {
            throw RecoveryChainError(
                .invalidArgument, "disk numbers must be distinct and within 0…\(PointManifest.diskCountMax - 1)")
        }
        for d in request.disks where d.source.sizeBytes % 512 != 0 {
            throw RecoveryChainError(
                .invalidArgument, "disk \(d.disk) is \(d.source.sizeBytes) bytes, not a multiple of 512")
        }
        guard request.tags.count <= RecoveryPoint.tagCountMax,
            request.tags.allSatisfy({ !$0.isEmpty && $0.utf8.count <= ChainLimits.tagByteCountMax })
        else {
            throw RecoveryChainError(
                .limitExceeded,
                "a point carries at most \(RecoveryPoint.tagCountMax) tags of 1–\(ChainLimits.tagByteCountMax) bytes (got \(request.tags.count))"
            )
        }
        guard BlockGeometry.isValidBlockSize(request.blockSizeBytes) else {
            throw RecoveryChainError(
                .invalidArgument, "block size \(request.blockSizeBytes) is not a power of two from 4 KiB to 4 MiB")
        }
        if request.secrets != nil && !store.isEncrypted {
            throw RecoveryChainError(
                .invalidArgument, "host secrets are kept only in encrypted stores; create the store with a passphrase")
        }
        for d in request.disks {
            for r in d.changes?.ranges ?? [] where r.upperBound > d.source.sizeBytes {
                throw RecoveryChainError(
                    .invalidArgument,
                    "changed range \(r) of disk \(d.disk) lies past its end (\(d.source.sizeBytes) bytes)")
            }
        }
    }

    /// The point a disk builds on: its map root and size there.
    struct DiskBase: Sendable {
        var point: PointID
        var root: ChunkID
        var sizeBytes: UInt64
    }

    /// What a disk's backup starts from: its base, and the tracked ranges it may trust.
    struct DiskPlan: Sendable {
        var base: DiskBase?
        var tracked: [Range<UInt64>]?
        var mismatch: BaseMismatch?
    }

    /// Chooses each disk's base and decides whether its tracked changes can be used: only when
    /// they are relative to that base.
    func plan(_ request: BackupRequest, listing: PointListing) throws -> [DiskIndex: DiskPlan] {
        var plans: [DiskIndex: DiskPlan] = [:]
        for input in request.disks {
            var plan = DiskPlan()
            if let latest = listing.latestPoint(withDisk: input.disk),
                let root = listing.manifests[latest.id]?.mapRoots[input.disk],
                let meta = latest.disks.first(where: { $0.disk == input.disk })
            {
                plan.base = DiskBase(point: latest.id, root: root, sizeBytes: meta.sizeBytes)
            }
            if let changes = input.changes {
                if changes.since == plan.base?.point {
                    plan.tracked = plan.base == nil ? nil : changes.ranges  // no base: a full backup
                } else if request.onBaseMismatch == .readWholeDisk {
                    plan.mismatch = BaseMismatch(disk: input.disk, named: changes.since, latest: plan.base?.point)
                } else {
                    throw baseMismatchError(
                        item: request.item, disk: input.disk, named: changes.since, base: plan.base?.point,
                        listing: listing)
                }
            }
            plans[input.disk] = plan
        }
        return plans
    }

    private func baseMismatchError(
        item: ItemName, disk: DiskIndex, named: PointID?, base: PointID?, listing: PointListing
    ) -> RecoveryChainError {
        let why: String
        if let named {
            if let point = listing.points.first(where: { $0.id == named }) {
                why =
                    point.disks.contains(where: { $0.disk == disk })
                    ? "\(named) is older than \(base ?? "the latest point")" : "\(named) has no disk \(disk)"
            } else {
                why = "\(named) is not a point of \(item) (rolled back, expired, or never committed)"
            }
        } else {
            why = "the ranges name no base point, as if no point had the disk"
        }
        let basis =
            base.map { "the latest point of \(item) with disk \(disk) is \($0)" }
            ?? "\(item) has no point with disk \(disk)"
        let fix = base.map { "pass ranges tracked since \($0), or" } ?? "back up without tracked changes, or"
        return RecoveryChainError(
            .baseMismatch,
            "the tracked changes of disk \(disk) are relative to \(named.map { "point \($0)" } ?? "no point"), but \(basis) (\(why)); building on them would record wrong bytes. Nothing was stored: \(fix) read the whole disk (onBaseMismatch = .readWholeDisk; blocksnap backup --on-base-mismatch read)"
        )
    }

    private func backupLocked(_ request: BackupRequest, progress: JobProgressHandler?) async throws -> BackupResult {
        let listing = try await pointListing(item: request.item)
        guard listing.isComplete else { throw listing.damageError("the backup of \(request.item)") }
        let existing = listing.points
        let plans = try plan(request, listing: listing)
        let chainBlockSize = existing.last?.blockSizeBytes ?? request.blockSizeBytes
        let totalBlocks = request.disks.reduce(0) {
            $0 + Int(BlockGeometry.blockCount(sizeBytes: $1.source.sizeBytes, blockSizeBytes: chainBlockSize))
        }
        let meter = ProgressMeter(phase: .quiescing, blocksTotal: totalBlocks, handler: progress)
        meter.update(force: true) { _ in }

        let outcome = try await QuiesceCoordinator(
            participants: request.participants, phaseTimeout: request.participantTimeout
        ).run {
            try await request.takeSnapshot?()
        }
        meter.update(force: true) { $0.phase = .reading }

        // Disks in parallel; workers split between them.
        let perDisk = max(
            1, workerCount / max(1, min(request.disks.count, workerCount)) + (request.disks.count > 1 ? 1 : 0))
        let results = try await withThrowingTaskGroup(of: DiskOutcome.self) { group in
            for input in request.disks {
                let plan = plans[input.disk] ?? DiskPlan()
                group.addTask {
                    try await self.backupDisk(
                        input, base: plan.base, tracked: plan.tracked, blockSizeBytes: chainBlockSize, workers: perDisk,
                        verify: request.verifyChangedRanges, meter: meter)
                }
            }
            var all: [DiskOutcome] = []
            for try await r in group { all.append(r) }
            return all.sorted { $0.summary.disk < $1.summary.disk }
        }
        try Task.checkCancellation()
        meter.update(force: true) { $0.phase = .committing }

        let time = request.time ?? Date()
        let id = PointID.new(at: time)
        var configurationID: ChunkID? = nil
        if let configuration = request.configuration { configurationID = try await store.putBlob(configuration) }
        var secretsID: ChunkID? = nil
        if let secrets = request.secrets { secretsID = try await store.putBlob(secrets) }
        let manifest = PointManifest(
            mapRoots: Dictionary(uniqueKeysWithValues: results.map { ($0.summary.disk, $0.root) }),
            configuration: configurationID, secrets: secretsID)
        let manifestID = try await store.putNode(manifest.node)
        let point = RecoveryPoint(
            id: id, item: request.item, time: time, onDemand: request.onDemand,
            consistency: outcome.consistency, consistencyNote: outcome.note, blockSizeBytes: chainBlockSize,
            disks: results.map(\.summary), tags: request.tags,
            retainUntil: request.onDemand
                ? time.addingTimeInterval(Double(request.onDemandRetention.components.seconds)) : nil,
            hasConfiguration: configurationID != nil, hasSecrets: secretsID != nil)
        let payload = Array(try PointManifest.encoder.encode(point))
        // The commit point: everything the root reaches is flushed first, then one create-only write.
        try ItemJobLock.checkCurrentHeld()
        try await store.publishRoot(
            PointManifest.rootName(item: request.item, point: id), id: manifestID, payload: payload)
        meter.update(force: true) { $0.phase = .done }
        let kind: PointKind = request.onDemand ? .onDemand : (existing.isEmpty ? .full : .incremental)
        return BackupResult(
            point: point, kind: kind,
            missedByTracker: Dictionary(
                uniqueKeysWithValues: results.compactMap { $0.missed.isEmpty ? nil : ($0.summary.disk, $0.missed) }),
            baseMismatches: plans.values.compactMap(\.mismatch).sorted { $0.disk < $1.disk })
    }

    struct DiskOutcome: Sendable {
        var summary: PointDisk
        var root: ChunkID
        var missed: [Range<UInt64>]
    }

    /// Backs up one disk in windows of blocks; memory stays bounded by the window.
    /// - Parameters:
    ///   - base: The point the disk builds on (nil: a full backup of the disk).
    ///   - tracked: Changed ranges relative to `base` that may be trusted, or nil to read.
    func backupDisk(
        _ input: DiskInput, base: DiskBase?, tracked: [Range<UInt64>]?, blockSizeBytes: Int, workers: Int, verify: Bool,
        meter: ProgressMeter
    ) async throws -> DiskOutcome {
        let maps = self.maps
        let size = input.source.sizeBytes
        let blockCount = BlockGeometry.blockCount(sizeBytes: size, blockSizeBytes: blockSizeBytes)
        let previous = base.map { (root: $0.root, sizeBytes: $0.sizeBytes) }
        let previousBlocks =
            previous.map { BlockGeometry.blockCount(sizeBytes: $0.sizeBytes, blockSizeBytes: blockSizeBytes) } ?? 0
        let tracked = previous != nil ? tracked : nil
        let allocated: [Range<UInt64>]?
        do {
            allocated = tracked == nil || verify ? try input.source.allocatedRanges() : nil
        } catch {
            throw RecoveryChainError(.diskFailed, "finding the holes of disk \(input.disk) failed", underlying: error)
        }
        let allocatedBlocks = allocated.map {
            BlockGeometry.spans(touching: $0, blockSizeBytes: blockSizeBytes, blockCount: blockCount)
        }
        let trackedBlocks = tracked.map {
            BlockGeometry.spans(touching: $0, blockSizeBytes: blockSizeBytes, blockCount: blockCount)
        }
        let ingestor = BlockIngestor(
            store: store, source: input.source, blockSizeBytes: blockSizeBytes, workerCount: workers, meter: meter)
        let builder = try await maps.builder(base: previous, sizeBytes: size, blockSizeBytes: blockSizeBytes)
        var changedBlocks = 0
        var storedBytes: UInt64 = 0
        var missed: [Range<UInt64>] = []
        let window = ChainLimits.blocksPerWindow
        var start: UInt64 = 0
        while start < blockCount {
            try Task.checkCancellation()
            let end = min(start + window, blockCount)
            // Which blocks to read: tracked ranges (plus any grown part), or everything allocated.
            var toRead: [UInt64] = []
            var skipped = 0
            for b in start..<end {
                let isTracked = trackedBlocks.map { $0.contains(b) || b >= previousBlocks } ?? true
                let mayHoldData = allocatedBlocks?.contains(b) ?? true
                if (isTracked || verify) && mayHoldData { toRead.append(b) } else { skipped += 1 }
            }
            if toRead.isEmpty && allocatedBlocks == nil {
                // Nothing tracked here: unchanged by the host's account, no map read needed.
                meter.update { $0.blocksDone += skipped }
                start = end
                continue
            }
            let stored = try await ingestor.ingest(toRead)
            meter.update { $0.blocksDone += skipped }
            // Compare with the previous map over the window.
            let before: [ChunkID]
            if let previous, start < previousBlocks {
                before = try await maps.chunkIDs(
                    root: previous.root, sizeBytes: previous.sizeBytes, blockSizeBytes: blockSizeBytes,
                    blocks: start..<end)
            } else {
                before = Array(repeating: .zero, count: Int(end - start))
            }
            var changes: [(UInt64, ChunkID)] = []
            var readIndex = 0
            for b in start..<end {
                let id: ChunkID
                let storedHere: Int
                if readIndex < toRead.count && toRead[readIndex] == b {
                    id = stored[readIndex].id
                    storedHere = stored[readIndex].storedBytes
                    readIndex += 1
                } else if allocatedBlocks?.contains(b) == false {
                    id = .zero  // a hole: zeros without reading
                    storedHere = 0
                } else {
                    continue  // not tracked as changed: unchanged by the host's account
                }
                if id != before[Int(b - start)] {
                    changes.append((b, id))
                    changedBlocks += 1
                    storedBytes += UInt64(storedHere)
                    if verify, let trackedBlocks, !trackedBlocks.contains(b), b < previousBlocks {
                        let lo = b * UInt64(blockSizeBytes)
                        missed.append(lo..<min(lo + UInt64(blockSizeBytes), size))
                    }
                }
            }
            try await builder.add(changes)
            meter.update { $0.blocksChanged += changes.count }
            start = end
        }
        let root = try await builder.finish()
        return DiskOutcome(
            summary: PointDisk(
                disk: input.disk, name: input.name, sizeBytes: size, changedBlocks: changedBlocks,
                storedBytes: storedBytes),
            root: root, missed: missed)
    }
}
