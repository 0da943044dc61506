import BlockStore
import Foundation

extension ChainStore {
    /// Starts a backup as a ``Job``: progress as an `AsyncSequence`, cancellable.
    public func startBackup(_ request: BackupRequest) -> Job<BackupResult> {
        Job { report in try await self.backup(request, progress: report) }
    }

    /// Backs up an item's disks as one new recovery point (all or nothing).
    ///
    /// Changed blocks are found, best first, from the host's changed ranges, from the source's
    /// holes (skipped without reading), or by reading every block and comparing its hash with
    /// the previous point's map. Only changed blocks are stored; the new maps share everything
    /// else with the previous point. Disks are processed in parallel. If any disk fails, or the
    /// task is cancelled, no point is recorded and nothing committed before is touched.
    /// - Returns: The new point, its kind, and blocks a change tracker missed (verify mode).
    /// - Throws: ``RecoveryChainError`` — `operationInProgress` when another backup or restore of
    ///   the item runs, `diskFailed`, `invalidArgument`, `cancelled`, `storeError`.
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
            request.disks.allSatisfy({ $0.disk >= 0 && $0.disk < PointManifest.diskCountMax })
        else {
            throw RecoveryChainError(.invalidArgument, "disk numbers must be distinct and within 0…\(PointManifest.diskCountMax - 1)")
        }
        for d in request.disks where d.source.sizeBytes % 512 != 0 {
            throw RecoveryChainError(.invalidArgument, "disk \(d.disk) is \(d.source.sizeBytes) bytes, not a multiple of 512")
        }
        guard request.tags.count <= RecoveryPoint.tagCountMax, request.tags.allSatisfy({ !$0.isEmpty && $0.utf8.count <= 256 }) else {
            throw RecoveryChainError(.limitExceeded, "a point carries at most \(RecoveryPoint.tagCountMax) tags of 1–256 bytes (got \(request.tags.count))")
        }
        guard BlockGeometry.isValidBlockSize(request.blockSizeBytes) else {
            throw RecoveryChainError(.invalidArgument, "block size \(request.blockSizeBytes) is not a power of two from 4 KiB to 4 MiB")
        }
        if request.secrets != nil && !store.isEncrypted {
            throw RecoveryChainError(.invalidArgument, "host secrets are kept only in encrypted stores; create the store with a passphrase")
        }
        for d in request.disks {
            for r in d.changedRanges ?? [] where r.upperBound > d.source.sizeBytes {
                throw RecoveryChainError(.invalidArgument, "changed range \(r) of disk \(d.disk) lies past its end (\(d.source.sizeBytes) bytes)")
            }
        }
    }

    private func backupLocked(_ request: BackupRequest, progress: JobProgressHandler?) async throws -> BackupResult {
        let existing = try await points(of: request.item)
        var previousRoots: [Int: (root: ChunkID, sizeBytes: UInt64)] = [:]
        var blockSize = request.blockSizeBytes
        if let latest = existing.last {
            blockSize = latest.blockSizeBytes
            let (_, manifest) = try await pointRecord(latest.id, of: request.item)
            for d in latest.disks {
                if let root = manifest.mapRoots[d.disk] { previousRoots[d.disk] = (root, d.sizeBytes) }
            }
        }
        let chainBlockSize = blockSize
        let totalBlocks = request.disks.reduce(0) { $0 + Int(BlockGeometry.blockCount(sizeBytes: $1.source.sizeBytes, blockSizeBytes: blockSize)) }
        let meter = ProgressMeter(phase: "quiescing", blocksTotal: totalBlocks, handler: progress)
        meter.update(force: true) { _ in }

        let outcome = try await QuiesceCoordinator(participants: request.participants, phaseTimeout: request.participantTimeout).run {
            try await request.takeSnapshot?()
        }
        meter.update(force: true) { $0.phase = "reading" }

        // Disks in parallel; workers split between them.
        let perDisk = max(1, workerCount / max(1, min(request.disks.count, workerCount)) + (request.disks.count > 1 ? 1 : 0))
        let results = try await withThrowingTaskGroup(of: DiskOutcome.self) { group in
            for input in request.disks {
                let previous = previousRoots[input.disk]
                group.addTask {
                    try await self.backupDisk(input, previous: previous, blockSizeBytes: chainBlockSize, workers: perDisk, verify: request.verifyChangedRanges, meter: meter)
                }
            }
            var all: [DiskOutcome] = []
            for try await r in group { all.append(r) }
            return all.sorted { $0.disk.disk < $1.disk.disk }
        }
        try Task.checkCancellation()
        meter.update(force: true) { $0.phase = "committing" }

        let time = request.time ?? Date()
        let id = ChainStore.newPointID(at: time)
        var configurationID: ChunkID? = nil
        if let configuration = request.configuration { configurationID = try await storeBlob(configuration) }
        var secretsID: ChunkID? = nil
        if let secrets = request.secrets { secretsID = try await storeBlob(secrets) }
        let manifest = PointManifest(
            mapRoots: Dictionary(uniqueKeysWithValues: results.map { ($0.disk.disk, $0.root) }),
            configuration: configurationID, secrets: secretsID)
        let manifestID = try await store.putNode(manifest.node)
        let point = RecoveryPoint(
            id: id, item: request.item, time: time, onDemand: request.onDemand,
            consistency: outcome.consistency, consistencyNote: outcome.note, blockSizeBytes: chainBlockSize,
            disks: results.map(\.disk), tags: request.tags,
            retainUntil: request.onDemand ? time.addingTimeInterval(Double(request.onDemandRetention.components.seconds)) : nil,
            hasConfiguration: configurationID != nil, hasSecrets: secretsID != nil)
        let payload = Array(try PointManifest.encoder.encode(point))
        // The commit point: everything the root reaches is flushed first, then one create-only write.
        try ItemJobLock.checkCurrentHeld()
        try await store.publishRoot(PointManifest.rootName(item: request.item, point: id), id: manifestID, payload: payload)
        meter.update(force: true) { $0.phase = "done" }
        let kind: PointKind = request.onDemand ? .onDemand : (existing.isEmpty ? .full : .incremental)
        return BackupResult(
            point: point, kind: kind,
            missedByTracker: Dictionary(uniqueKeysWithValues: results.compactMap { $0.missed.isEmpty ? nil : ($0.disk.disk, $0.missed) }))
    }

    /// Stores an opaque blob of any size as a node over 1 MiB data chunks.
    private func storeBlob(_ bytes: [UInt8]) async throws -> ChunkID {
        var entries: [StoreNode.Entry] = []
        let piece = 1 << 20
        var offset = 0
        var slot: UInt32 = 0
        while offset < bytes.count {
            let end = min(offset + piece, bytes.count)
            let id = try await store.putBlock(Array(bytes[offset..<end]))
            entries.append(.init(slot: slot, id: id.id))
            slot += 1
            offset = end
        }
        var header = Array("BSBL".utf8)
        withUnsafeBytes(of: UInt64(bytes.count).littleEndian) { header.append(contentsOf: $0) }
        return try await store.putNode(StoreNode(header: header, entries: entries))
    }

    /// Reads back a blob written by ``storeBlob(_:)``.
    func loadBlob(_ id: ChunkID) async throws -> [UInt8] {
        let node = try await store.node(id)
        guard node.header.count == 12, Array(node.header.prefix(4)) == Array("BSBL".utf8) else {
            throw RecoveryChainError(.corruptMetadata, "blob \(id.shortHex) is not a BlockSnap blob")
        }
        let size = node.header.dropFirst(4).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard size <= 64 << 20 else { throw RecoveryChainError(.corruptMetadata, "blob \(id.shortHex) declares \(size) bytes") }
        var out: [UInt8] = []
        out.reserveCapacity(Int(size))
        for e in node.entries {
            if e.id.isZero {
                out.append(contentsOf: repeatElement(0, count: min(1 << 20, Int(size) - out.count)))
            } else {
                out.append(contentsOf: try await store.chunk(e.id))
            }
        }
        guard out.count == Int(size) else { throw RecoveryChainError(.corruptMetadata, "blob \(id.shortHex) holds \(out.count) of \(size) bytes") }
        return out
    }

    struct DiskOutcome: Sendable {
        var disk: PointDisk
        var root: ChunkID
        var missed: [Range<UInt64>]
    }

    /// Backs up one disk in windows of blocks; memory stays bounded by the window.
    func backupDisk(
        _ input: DiskInput, previous: (root: ChunkID, sizeBytes: UInt64)?, blockSizeBytes: Int, workers: Int, verify: Bool,
        meter: ProgressMeter
    ) async throws -> DiskOutcome {
        let maps = self.maps
        let size = input.source.sizeBytes
        let blockCount = BlockGeometry.blockCount(sizeBytes: size, blockSizeBytes: blockSizeBytes)
        let previousBlocks = previous.map { BlockGeometry.blockCount(sizeBytes: $0.sizeBytes, blockSizeBytes: blockSizeBytes) } ?? 0
        let tracked = previous != nil ? input.changedRanges : nil
        let allocated: [Range<UInt64>]?
        do {
            allocated = tracked == nil || verify ? try input.source.allocatedRanges() : nil
        } catch {
            throw RecoveryChainError(.diskFailed, "finding the holes of disk \(input.disk) failed", underlying: error)
        }
        let allocatedBlocks = allocated.map { BlockGeometry.spans(touching: $0, blockSizeBytes: blockSizeBytes, blockCount: blockCount) }
        let trackedBlocks = tracked.map { BlockGeometry.spans(touching: $0, blockSizeBytes: blockSizeBytes, blockCount: blockCount) }
        let ingestor = BlockIngestor(store: store, source: input.source, blockSizeBytes: blockSizeBytes, workerCount: workers, meter: meter)
        let builder = try await maps.builder(base: previous?.root, sizeBytes: size, blockSizeBytes: blockSizeBytes)
        var changedBlocks = 0
        var storedBytes: UInt64 = 0
        var missed: [Range<UInt64>] = []
        let window: UInt64 = 4096
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
                before = try await maps.chunkIDs(root: previous.root, sizeBytes: previous.sizeBytes, blockSizeBytes: blockSizeBytes, blocks: start..<end)
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
            disk: PointDisk(disk: input.disk, name: input.name, sizeBytes: size, changedBlocks: changedBlocks, storedBytes: storedBytes),
            root: root, missed: missed)
    }
}
