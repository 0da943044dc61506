import BlockStore

/// One recovery point, named by its item and ID.
public struct PointReference: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The item.
    public var item: ItemName
    /// The point's ID.
    public var point: PointID

    /// Creates a reference.
    public init(item: ItemName, point: PointID) {
        self.item = item
        self.point = point
    }

    /// The point a store root name `points/<item>/<point>` stands for, or nil for other roots.
    init?(rootName: String) {
        let parts = rootName.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "points", !parts[1].isEmpty, !parts[2].isEmpty else { return nil }
        self.init(item: ItemName(String(parts[1])), point: PointID(String(parts[2])))
    }

    /// `item/point`.
    public var description: String { "\(item)/\(point)" }
}

/// What repairing a store of chains did.
public struct ChainRepairReport: Sendable, Equatable {
    /// The store-level report (index rebuild, damaged packs, damaged roots).
    public var store: RepairReport
    /// Points that cannot be restored whole (unreadable, or reaching chunks no pack holds).
    public var damagedPoints: [PointReference]
}

extension ChainStore {
    /// Repairs the store (see `BlockStore.ChunkStore.repair(dryRun:progress:)`) and names the
    /// recovery points that cannot be restored whole.
    ///
    /// Never deletes a point or a readable pack. After a repair of a store whose only damage was
    /// its index, every point restores bit-exact and verify is clean.
    /// - Parameters:
    ///   - dryRun: Report without changing anything.
    ///   - progress: Receives the store's phase reports.
    /// - Complexity: As the store's repair: every pack header, index object and root, and every
    ///   node the points reach.
    public func repair(dryRun: Bool = false, progress: StoreProgressHandler? = nil) async throws -> ChainRepairReport {
        let report: RepairReport
        do {
            report = try await store.repair(dryRun: dryRun, progress: progress)
        } catch {
            throw RecoveryChainError.wrap(error, "repairing the store")
        }
        nodeCache.removeAll()
        return ChainRepairReport(
            store: report, damagedPoints: report.damagedRoots.compactMap(PointReference.init(rootName:)))
    }
}
