import BlockStore
import Foundation

/// What a restore wrote.
public struct RestoreResult: Sendable, Equatable {
    /// The disk's size in bytes.
    public var sizeBytes: UInt64
    /// Blocks written from the store.
    public var blocksWritten: Int
    /// Blocks made zero (holes) without reading the store.
    public var blocksZeroed: Int
    /// Bytes written to the target.
    public var bytesWritten: UInt64
}

extension ChainStore {
    /// Starts a restore as a ``Job``.
    public func startRestore(item: ItemName, point: PointID, disk: DiskIndex, to path: String) -> Job<RestoreResult> {
        Job { report in try await self.restore(item: item, point: point, disk: disk, to: path, progress: report) }
    }

    /// Restores one disk of a point to a new file or a block device, bit-exact.
    ///
    /// A regular file is created (or truncated) and sized first, so zero blocks are left as holes
    /// and never written (sparse). A block device gets zeros written where the point has zeros.
    /// Works after the source is gone: only the store is read.
    ///
    /// When the restore fails or is cancelled part-way:
    /// - a file it created itself is removed, so a partial restore is never mistaken for a
    ///   whole one;
    /// - a file or block device that existed before is left as the failure left it (truncated
    ///   and partly written): the caller chose to overwrite it, and its old contents are gone.
    ///   Hosts that must not lose an existing file check for one first, as the `blocksnap`
    ///   command does (it asks for `--force`).
    ///
    /// - Parameters:
    ///   - item: The item.
    ///   - id: The point.
    ///   - disk: Which of the point's disks.
    ///   - path: The target: a regular file (created if missing, overwritten if present) or a
    ///     block device at least as large as the disk; a symbolic link to one is followed, a
    ///     link to nothing is refused (a new file is never created through a link).
    ///   - progress: Called with the job's progress.
    /// - Returns: What was written.
    /// - Throws: ``RecoveryChainError`` `notFound` (no such point or disk), `invalidArgument` (a
    ///   target that is neither a regular file nor a block device, or a device that is too
    ///   small), `ioError`, `damaged` or `storeError` (the store), `cancelled`.
    public func restore(
        item: ItemName, point id: PointID, disk: DiskIndex, to path: String, progress: JobProgressHandler? = nil
    ) async throws -> RestoreResult {
        try await withItemLock(item, "restore") {
            let (point, manifest) = try await pointRecord(item: item, point: id)
            guard let meta = point.disks.first(where: { $0.disk == disk }), let root = manifest.mapRoots[disk] else {
                throw RecoveryChainError(
                    .notFound, "point \(id) of \(item) has no disk \(disk) (it has \(point.disks.map(\.disk)))")
            }
            let target = try RestoreTarget(path: path, sizeBytes: meta.sizeBytes, inPlace: false)
            do {
                return try await writeBlocks(
                    root: root, sizeBytes: meta.sizeBytes, blockSizeBytes: point.blockSizeBytes, target: target,
                    onlyBlocks: nil, progress: progress)
            } catch {
                target.removeIfCreated()
                throw RecoveryChainError.wrap(error, "restoring disk \(disk) of \(id)")
            }
        }
    }

    /// Restores every disk of a point, disk `n` to `pathForDisk(n)`, one after another.
    ///
    /// Each disk is restored as ``restore(item:point:disk:to:progress:)`` does; when one fails,
    /// the disks restored before it stay restored, and the failing disk's file is removed if the
    /// restore created it.
    public func restoreAll(
        item: ItemName, point id: PointID, to pathForDisk: @Sendable (DiskIndex) -> String,
        progress: JobProgressHandler? = nil
    ) async throws -> [DiskIndex: RestoreResult] {
        let point = try await point(item: item, point: id)
        var out: [DiskIndex: RestoreResult] = [:]
        for d in point.disks {
            out[d.disk] = try await restore(
                item: item, point: id, disk: d.disk, to: pathForDisk(d.disk), progress: progress)
        }
        return out
    }

    /// Brings a target that holds point `current` to point `wanted`, writing only the blocks that
    /// differ between them (found with the block-map diff), and zeroing blocks that became zero.
    ///
    /// The target must exist (it holds `current`); it is never created. A failed or cancelled
    /// revert leaves it part-way between the two points: run it again to finish.
    /// - Throws: ``RecoveryChainError`` `notFound` for a missing target, point or disk, and the
    ///   errors of ``restore(item:point:disk:to:progress:)``.
    public func restoreInPlace(
        item: ItemName, point wanted: PointID, disk: DiskIndex, target path: String, holding current: PointID,
        progress: JobProgressHandler? = nil
    ) async throws -> RestoreResult {
        try await withItemLock(item, "restore") {
            let (from, fromManifest) = try await pointRecord(item: item, point: current)
            let (to, toManifest) = try await pointRecord(item: item, point: wanted)
            guard let fromRoot = fromManifest.mapRoots[disk],
                let fromDisk = from.disks.first(where: { $0.disk == disk }),
                let toRoot = toManifest.mapRoots[disk], let toDisk = to.disks.first(where: { $0.disk == disk })
            else {
                throw RecoveryChainError(
                    .notFound, "points \(current) and \(wanted) of \(item) do not both have disk \(disk)")
            }
            let maps = self.maps
            let changed = try await maps.changedBlocks(
                from: (fromRoot, fromDisk.sizeBytes), to: (toRoot, toDisk.sizeBytes), blockSizeBytes: to.blockSizeBytes)
            let target = try RestoreTarget(path: path, sizeBytes: toDisk.sizeBytes, inPlace: true)
            do {
                return try await writeBlocks(
                    root: toRoot, sizeBytes: toDisk.sizeBytes, blockSizeBytes: to.blockSizeBytes, target: target,
                    onlyBlocks: changed, progress: progress)
            } catch {
                throw RecoveryChainError.wrap(error, "reverting disk \(disk) to \(wanted)")
            }
        }
    }

    /// Writes blocks of a map to a target, all blocks or only `onlyBlocks` (ascending), then
    /// flushes the target to stable storage.
    ///
    /// Window by window: zero blocks are skipped on a target that starts zeroed and punched
    /// (stretches of them at once) otherwise; the other blocks' chunks are planned into pack runs
    /// and restored by ``restoreRuns(_:sizeBytes:blockSizeBytes:queue:meter:)`` on every core.
    /// Every call that may block on the target (writes, punches, the final `fsync`) runs on one
    /// ``RestoreWriteQueue``, never on a cooperative thread.
    func writeBlocks(
        root: ChunkID, sizeBytes: UInt64, blockSizeBytes: Int, target: RestoreTarget, onlyBlocks: [UInt64]?,
        progress: JobProgressHandler?
    ) async throws -> RestoreResult {
        let blockCount = BlockGeometry.blockCount(sizeBytes: sizeBytes, blockSizeBytes: blockSizeBytes)
        let meter = ProgressMeter(
            phase: .restoring, blocksTotal: onlyBlocks?.count ?? Int(blockCount), handler: progress)
        var result = RestoreResult(sizeBytes: sizeBytes, blocksWritten: 0, blocksZeroed: 0, bytesWritten: 0)
        let window = max(1, restoreTuning.windowBlocks)
        let tuning = restoreTuning
        let queue = RestoreWriteQueue(
            target: target, bufferCount: 2 * (workerCount + max(0, tuning.fetchAheadRuns)),
            bufferBytes: max(1, tuning.stageBlocks) * blockSizeBytes)
        do {
            result = try await writeWindows(
                root: root, sizeBytes: sizeBytes, blockSizeBytes: blockSizeBytes, startsZeroed: target.startsZeroed,
                onlyBlocks: onlyBlocks, window: window, queue: queue, meter: meter, result: result)
        } catch {
            // Nothing may write to the target once the caller removes it or reports the failure.
            try? await queue.finish(sync: false)
            throw error
        }
        try await queue.finish(sync: true)
        meter.update(force: true) { $0.phase = .done }
        return result
    }

    /// The windows of ``writeBlocks(root:sizeBytes:blockSizeBytes:target:onlyBlocks:progress:)``;
    /// returns `result` with the blocks and bytes added (queued, not yet all written).
    private func writeWindows(
        root: ChunkID, sizeBytes: UInt64, blockSizeBytes: Int, startsZeroed: Bool, onlyBlocks: [UInt64]?,
        window: UInt64, queue: RestoreWriteQueue, meter: ProgressMeter, result: RestoreResult
    ) async throws -> RestoreResult {
        let maps = self.maps
        let blockCount = BlockGeometry.blockCount(sizeBytes: sizeBytes, blockSizeBytes: blockSizeBytes)
        var result = result
        let block = UInt64(blockSizeBytes)
        var start: UInt64 = 0
        var cursorInOnly = 0
        var jobs: [(UInt64, ChunkID)] = []
        while start < blockCount {
            try Task.checkCancellation()
            let end = min(start + window, blockCount)
            var wanted: [UInt64]
            if let onlyBlocks {
                wanted = []
                while cursorInOnly < onlyBlocks.count && onlyBlocks[cursorInOnly] < end {
                    if onlyBlocks[cursorInOnly] >= start { wanted.append(onlyBlocks[cursorInOnly]) }
                    cursorInOnly += 1
                }
                if wanted.isEmpty {
                    start = end
                    continue
                }
            } else {
                wanted = Array(start..<end)
            }
            let ids = try await maps.chunkIDs(
                root: root, sizeBytes: sizeBytes, blockSizeBytes: blockSizeBytes, blocks: start..<end)
            jobs.removeAll(keepingCapacity: true)
            // Neighbouring zero blocks are made zero together: one hole punched per stretch.
            var zeros: Range<UInt64>?
            func zeroPending() {
                if let z = zeros, !startsZeroed {
                    queue.zero((z.lowerBound * block)..<min(z.upperBound * block, sizeBytes))
                }
                zeros = nil
            }
            for b in wanted {
                let id = ids[Int(b - start)]
                if id.isZero {
                    result.blocksZeroed += 1
                    if let z = zeros, z.upperBound == b {
                        zeros = z.lowerBound..<(b + 1)
                    } else {
                        zeroPending()
                        zeros = b..<(b + 1)
                    }
                } else {
                    jobs.append((b, id))
                }
            }
            zeroPending()
            meter.update { $0.blocksDone += wanted.count - jobs.count }
            let written = try await restoreRuns(
                jobs, sizeBytes: sizeBytes, blockSizeBytes: blockSizeBytes, queue: queue, meter: meter)
            result.blocksWritten += jobs.count
            result.bytesWritten += written
            start = end
        }
        return result
    }

    /// Restores blocks from the store: their chunks are planned into pack runs (one ranged read
    /// each), which `workerCount` tasks plus a few fetching ahead take in turn; each task decodes
    /// a run's chunks (open, decompress, verify) straight into its staging buffer and hands full
    /// stages to the write queue (neighbouring blocks written with one `pwrite`).
    /// - Returns: The bytes queued for writing.
    private func restoreRuns(
        _ jobs: [(UInt64, ChunkID)], sizeBytes: UInt64, blockSizeBytes: Int, queue: RestoreWriteQueue,
        meter: ProgressMeter
    ) async throws -> UInt64 {
        guard !jobs.isEmpty else { return 0 }
        // Every stored block is a chunk of the block size (the disk's last block may be cut to the
        // disk's end); a longer one would not fit the workers' buffers, a shorter one would leave
        // stale bytes. Blocks lie below the disk's end, so the subtraction cannot underflow.
        @Sendable func fits(_ length: Int, block: UInt64) -> Bool {
            length == blockSizeBytes
                || UInt64(length) == min(UInt64(blockSizeBytes), sizeBytes - block * UInt64(blockSizeBytes))
        }
        for (block, id) in jobs {
            if let length = store.length(of: id), !fits(length, block: block) {
                throw RecoveryChainError(
                    .corruptMetadata,
                    "block \(block) maps to chunk \(id.shortHex) of \(length) bytes, but the chain's blocks are \(blockSizeBytes) bytes"
                )
            }
        }
        let tuning = restoreTuning
        let runs = store.planReads(
            jobs.map(\.1), gapBytesMax: tuning.gapBytesMax, readBytesMax: tuning.runBytesMax)
        let cursor = WorkCursor(count: runs.count)
        let tasks = min(workerCount + max(0, tuning.fetchAheadRuns), runs.count)
        return try await withThrowingTaskGroup(of: UInt64.self) { group in
            for _ in 0..<tasks {
                group.addTask {
                    let writer = BlockRunWriter(
                        queue: queue, sizeBytes: sizeBytes, blockSizeBytes: blockSizeBytes,
                        capacity: tuning.stageBlocks)
                    var written: UInt64 = 0
                    while let r = cursor.next() {
                        try Task.checkCancellation()
                        let run = runs[r]
                        var runBytes: UInt64 = 0
                        try await self.store.read(run) { k in
                            try await writer.slot(for: jobs[run.members[k].position].0)
                        } _: { k, length in
                            let block = jobs[run.members[k].position].0
                            guard fits(length, block: block) else {
                                throw RecoveryChainError(
                                    .corruptMetadata,
                                    "block \(block) maps to a \(length)-byte chunk, but the chain's blocks are \(blockSizeBytes) bytes"
                                )
                            }
                            writer.commit(block)
                            runBytes += UInt64(writer.length(of: block))
                        }
                        written += runBytes
                        meter.update {
                            $0.blocksDone += run.members.count
                            $0.bytesRead += runBytes
                            $0.bytesWritten += runBytes
                        }
                    }
                    writer.flush()
                    return written
                }
            }
            var total: UInt64 = 0
            for try await w in group { total += w }
            return total
        }
    }
}
