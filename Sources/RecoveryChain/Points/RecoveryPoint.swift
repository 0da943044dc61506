import BlockStore
import Foundation

/// A recovery point: the state of an item's disks at one instant, and what came with it.
public struct RecoveryPoint: Codable, Sendable, Equatable, Identifiable {
    /// The point's ID, unique in its chain and sortable by time (e.g. `20261122T080102Z-3f9a1c2e`).
    public var id: PointID
    /// The protected item (VM) it belongs to.
    public var item: ItemName
    /// When the point was taken (or the time a host gave for imports and simulations).
    public var time: Date
    /// Whether it was taken on demand (scheduled points are `false`).
    public var onDemand: Bool
    /// What the data is consistent with.
    public var consistency: Consistency
    /// Why the consistency is lower than asked for (a participant that failed or timed out).
    public var consistencyNote: String?
    /// The block size of the chain, in bytes.
    public var blockSizeBytes: Int
    /// The disks the point holds.
    public var disks: [PointDisk]
    /// Host tags (at most 50).
    public var tags: [String]
    /// For on-demand points: when the point may expire.
    public var retainUntil: Date?
    /// Whether the host's item configuration is stored with the point.
    public var hasConfiguration: Bool
    /// Whether host secrets are stored (encrypted) with the point.
    public var hasSecrets: Bool

    /// The most tags a point may carry.
    public static let tagCountMax = 50
}

/// One disk of a recovery point.
public struct PointDisk: Codable, Sendable, Equatable {
    /// The disk's position in the item (stable across points: disk 0 stays disk 0).
    public var disk: DiskIndex
    /// A host-given name (e.g. `"os"`, `"data"`, a file name).
    public var name: String
    /// The disk's size at the point, in bytes.
    public var sizeBytes: UInt64
    /// Blocks this backup found changed against the previous point (all data blocks for a full).
    public var changedBlocks: Int
    /// Bytes this backup added to the store for the disk (compressed, sealed, after dedup).
    public var storedBytes: UInt64
}

/// A point as listed, with the storage it is charged for (as Azure Backup bills a chain: the
/// full point for every block it holds, each incremental for the blocks it introduced).
public struct PointSummary: Sendable, Equatable {
    /// The point.
    public var point: RecoveryPoint
    /// Full (oldest remaining), incremental, or on demand.
    public var kind: PointKind
    /// Blocks whose content this point introduced: those that differ from the previous
    /// remaining point (all data blocks for the full one). Merged blocks count for the point
    /// that now holds them.
    public var introducedBlocks: Int
    /// Stored bytes of those blocks (compressed, sealed).
    public var introducedBytes: UInt64
}
