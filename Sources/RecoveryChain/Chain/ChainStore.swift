import BlockStore
import Foundation
import PageRangeDiff

/// The recovery chains of a store: backup, list, restore, diff and expire points of items.
///
/// One store holds many chains, one per protected item (a VM with one or more disks). Each
/// recovery point records every selected disk's block map; a new point's maps are made from the
/// previous point's plus the changed blocks, so an incremental stores only what changed, and
/// every point restores on its own. Expiring a point (merge-on-expire) removes it from the chain
/// without changing what any other point restores; what only it held is freed by the next GC.
///
/// ```swift
/// let store = try await ChunkStore.create(on: backend, encryption: .passphrase(secret))
/// let chains = ChainStore(store: store)
/// var request = BackupRequest(item: "vm1", disks: [DiskInput(disk: 0, source: try FileDiskSource(path: "disk.img"))])
/// let result = try await chains.backup(request)
/// try await chains.restore(item: "vm1", point: result.point.id, disk: 0, to: "restored.img")
/// ```
public final class ChainStore: Sendable {
    /// The store the chains live in.
    public let store: ChunkStore
    /// Worker tasks per disk for hashing, compression and I/O.
    public let workerCount: Int
    /// Block-map nodes read recently (bounded; shared by every job of this instance).
    public let nodeCache: NodeCache
    let maps: MapAccess
    /// How jobs take their item's guard (tests shorten its intervals).
    let jobGuardOptions: ItemJobLock.Options
    /// How restores spread their work (tests vary it).
    let restoreTuning: RestoreTuning

    /// Creates a view of the chains in `store`.
    /// - Parameters:
    ///   - store: The chunk store that holds the chains.
    ///   - workerCount: Worker tasks per job (default: the number of cores).
    public convenience init(store: ChunkStore, workerCount: Int = ProcessInfo.processInfo.activeProcessorCount) {
        self.init(store: store, workerCount: workerCount, jobGuardOptions: ItemJobLock.Options())
    }

    init(
        store: ChunkStore, workerCount: Int, jobGuardOptions: ItemJobLock.Options,
        restoreTuning: RestoreTuning = RestoreTuning()
    ) {
        self.store = store
        self.workerCount = max(1, workerCount)
        self.nodeCache = NodeCache()
        self.maps = MapAccess(store: store, cache: nodeCache)
        self.jobGuardOptions = jobGuardOptions
        self.restoreTuning = restoreTuning
    }

    /// Checks an item name: letters, digits, `.`, `_`, `-`, at most 128 bytes.
    static func validateItem(_ item: ItemName) throws {
        guard item.isValid, ObjectKey.isValid(item.rawValue) else {
            throw RecoveryChainError(
                .invalidArgument,
                "item name '\(item.rawValue.prefix(60))' is not valid: use 1–128 letters, digits, '.', '_' or '-'")
        }
    }

    /// One point of an item (read on its own: other points being damaged does not matter).
    /// - Throws: `notFound` when the item has no such point; `corruptMetadata` when its metadata
    ///   or manifest is damaged or missing; `storeError` when its root cannot be read.
    public func point(item: ItemName, point id: PointID) async throws -> RecoveryPoint {
        try await pointRecord(item: item, point: id).point
    }

    func pointRecord(item: ItemName, point id: PointID) async throws -> (point: RecoveryPoint, manifest: PointManifest)
    {
        try ChainStore.validateItem(item)
        let name = PointManifest.rootName(item: item, point: id)
        guard ObjectKey.isValid("roots/\(name)") else {
            throw RecoveryChainError(.invalidArgument, "'\(id.rawValue.prefix(80))' is not a point ID")
        }
        let record: RootRecord
        do {
            record = try await store.root(name)
        } catch let error as BlockStoreError where error.code == .notFound {
            throw RecoveryChainError(.notFound, "item \(item) has no point \(id)", underlying: error)
        } catch {
            throw RecoveryChainError.wrap(error, "reading point \(id) of \(item)")
        }
        do {
            let point = try PointManifest.decodePoint(record.payload, rootName: name)
            let manifest = try PointManifest(node: try await store.node(record.id), what: "the manifest of \(name)")
            try PointManifest.check(manifest, matches: point, rootName: name)
            return (point, manifest)
        } catch let error as BlockStoreError where error.code == .notFound {
            // The root exists, so its manifest is missing: damage, not an unknown point.
            throw RecoveryChainError(
                .corruptMetadata, "the manifest of point \(id) of \(item) is not in the store; run verify",
                underlying: error)
        } catch {
            throw RecoveryChainError.wrap(error, "reading point \(id) of \(item)")
        }
    }

    /// The item's configuration stored with a point, if any.
    public func configuration(item: ItemName, point id: PointID) async throws -> [UInt8]? {
        let (_, manifest) = try await pointRecord(item: item, point: id)
        guard let blob = manifest.configuration else { return nil }
        do { return try await store.blob(blob) } catch {
            throw RecoveryChainError.wrap(error, "reading the configuration of \(id)")
        }
    }

    /// The host secrets stored (encrypted) with a point, if any.
    public func secrets(item: ItemName, point id: PointID) async throws -> [UInt8]? {
        let (_, manifest) = try await pointRecord(item: item, point: id)
        guard let blob = manifest.secrets else { return nil }
        do { return try await store.blob(blob) } catch {
            throw RecoveryChainError.wrap(error, "reading the secrets of \(id)")
        }
    }

    /// Expires one point (Azure Backup's merge-on-expire).
    ///
    /// The point leaves the chain; every other point restores exactly as before, because each
    /// point's maps are complete. When the oldest (full) point expires, the next becomes the full
    /// one; blocks that only the expired point held are freed by the next garbage collection,
    /// while blocks the next point still uses carry on. Cost: one deletion; no chunk is rewritten.
    /// - Throws: `chainIntegrity` for the latest point (it never expires while it is the latest);
    ///   `damaged` when any point of the item cannot be read (which point is the latest is then
    ///   unknown); `notFound`; `operationInProgress` while a backup or restore of the item runs.
    /// - Complexity: Lists the item's points (one read per point), then one deletion.
    public func expire(item: ItemName, point id: PointID) async throws {
        try await withItemLock(item, "expiry") { try await expireLocked(item: item, point: id) }
    }

    private func expireLocked(item: ItemName, point id: PointID) async throws {
        let listing = try await pointListing(item: item)
        guard listing.isComplete else { throw listing.damageError("expiring point \(id) of \(item)") }
        let points = listing.points
        guard let position = points.firstIndex(where: { $0.id == id }) else {
            throw RecoveryChainError(.notFound, "item \(item) has no point \(id)")
        }
        guard position != points.count - 1 else {
            throw RecoveryChainError(
                .chainIntegrity,
                "point \(id) is the latest point of \(item) and cannot expire until a newer point exists; to remove everything, delete the item's data"
            )
        }
        try ItemJobLock.checkCurrentHeld()
        do {
            try await store.deleteRoot(PointManifest.rootName(item: item, point: id))
        } catch {
            throw RecoveryChainError.wrap(error, "expiring point \(id) of \(item)")
        }
    }

    /// Deletes every point of an item ("stop protection and delete data"). Space is freed by the
    /// next garbage collection.
    /// - Throws: `damaged` (having deleted nothing) when any point of the item cannot be read:
    ///   remove those deliberately first (``removeDamagedPoint(item:point:)``); `operationInProgress`.
    /// - Complexity: Lists the item's points, then one deletion per point.
    public func deleteItem(_ item: ItemName) async throws {
        try await withItemLock(item, "deletion") {
            let listing = try await pointListing(item: item)
            guard listing.isComplete else { throw listing.damageError("deleting \(item)") }
            for point in listing.points {
                try ItemJobLock.checkCurrentHeld()
                do {
                    try await store.deleteRoot(PointManifest.rootName(item: item, point: point.id))
                } catch {
                    throw RecoveryChainError.wrap(error, "deleting point \(point.id) of \(item)")
                }
            }
        }
    }

    /// Runs `body` holding the item's job guard (one backup, restore or expiry at a time).
    ///
    /// The body is cancelled when the guard is lost, and then fails with the loss (see
    /// ``ItemJobLock``); commits inside it call ``ItemJobLock/checkCurrentHeld()`` first.
    func withItemLock<R: Sendable>(
        _ item: ItemName, _ operation: String, _ body: @Sendable () async throws -> R
    ) async throws -> R {
        try ChainStore.validateItem(item)
        let lock: ItemJobLock
        do {
            lock = try await ItemJobLock.acquire(
                item: item, operation: operation, backend: store.jobGuardObjects, options: jobGuardOptions)
        } catch let error as RecoveryChainError {
            throw error
        } catch {
            throw RecoveryChainError.wrap(error, "starting \(operation) of \(item)")
        }
        let outcome = await withoutActuallyEscaping(body) { body in await lock.run(body) }
        await lock.release()
        return try outcome.get()
    }
}
