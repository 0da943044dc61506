import BlockStore

/// A point that is listed in the store but cannot be read: its root does not read or
/// authenticate, its metadata is not valid, or its manifest node cannot be read (a listing never
/// hides it).
public struct DamagedPoint: Sendable, Hashable, CustomStringConvertible {
    /// The item the point belongs to.
    public var item: ItemName
    /// The point's ID, as its root is named.
    public var point: PointID
    /// Why it cannot be read, for people.
    public var reason: String

    /// Creates a record of a damaged point.
    public init(item: ItemName, point: PointID, reason: String) {
        self.item = item
        self.point = point
        self.reason = reason
    }

    /// `point <id> of <item>: <reason>`.
    public var description: String { "point \(point) of \(item): \(reason)" }

    /// The name of the point's root in the store.
    var rootName: String { PointManifest.rootName(item: item, point: point) }
}

/// The points of one item: those that read, and those that are damaged.
///
/// Operations that build on the chain or delete from it (backup, expire, forget, deleteItem) need
/// a complete listing and refuse with `damaged` otherwise; restoring or diffing a readable point
/// does not need the others.
public struct PointListing: Sendable {
    /// The item.
    public var item: ItemName
    /// The points that read and check, oldest first (by time, then ID).
    public var points: [RecoveryPoint]
    /// The points that are listed but cannot be read, by ID.
    public var damaged: [DamagedPoint]
    /// Each readable point's manifest, by point ID (read with the listing).
    var manifests: [PointID: PointManifest]

    /// Whether every listed point reads.
    public var isComplete: Bool { damaged.isEmpty }

    /// The newest readable point that has `disk`: the base a backup of that disk builds on.
    /// Meaningful as a base only when the listing ``isComplete``.
    /// - Complexity: O(points).
    public func latestPoint(withDisk disk: DiskIndex) -> RecoveryPoint? {
        points.last { $0.disks.contains { $0.disk == disk } }
    }

    /// A `damaged` error saying that `operation` stopped because of the damaged points.
    func damageError(_ operation: String) -> RecoveryChainError {
        ChainStore.damageError(damaged, operation: operation)
    }
}

/// The items of a store, and the points among them that cannot be read.
public struct ItemListing: Sendable {
    /// Every item with at least one point, readable or damaged, sorted.
    public var items: [ItemName]
    /// The points of those items that are listed but cannot be read, by item and ID.
    public var damaged: [DamagedPoint]

    /// Whether every listed point reads.
    public var isComplete: Bool { damaged.isEmpty }
}

extension ChainStore {
    /// A `damaged` error naming up to three damaged points, with a `DamageReport` as cause.
    static func damageError(_ damaged: [DamagedPoint], operation: String) -> RecoveryChainError {
        let shown = damaged.prefix(3).map(\.description).joined(separator: "; ")
        let more = damaged.count > 3 ? "; and \(damaged.count - 3) more" : ""
        let report = DamageReport(
            damagedObjects: damaged.compactMap { try? ObjectKey(validating: "roots/\($0.rootName)") },
            damagedRoots: damaged.map(\.rootName))
        return RecoveryChainError(
            .damaged,
            "\(operation) stopped before changing anything: \(damaged.count) point\(damaged.count == 1 ? " is" : "s are") damaged (\(shown)\(more)); run verify, restore the point's root object from a copy of the store, or remove the point deliberately (ChainStore.removeDamagedPoint, or delete the store object roots/\(damaged.first?.rootName ?? "points/…"))",
            underlying: report)
    }
}
