import BlockStore
import Foundation

/// What to back up: one item's disks, with how to find their changes and what to record.
public struct BackupRequest: Sendable {
    /// The protected item (a VM): a name of letters, digits, `.`, `_` or `-`.
    public var item: ItemName
    /// The disks to back up now, by their stable position in the item.
    public var disks: [DiskInput]
    /// Take the point on demand (with its own retention) rather than on schedule.
    public var onDemand: Bool = false
    /// For on-demand points: how long to keep it (default 30 days, as Azure Backup keeps on-demand points).
    public var onDemandRetention: Duration = .seconds(30 * 86_400)
    /// Host tags (at most 50).
    public var tags: [String] = []
    /// Opaque item configuration to keep with the point (e.g. the VM's definition).
    public var configuration: [UInt8]? = nil
    /// Host secrets to keep with the point (e.g. disk-encryption keys); needs an encrypted store.
    public var secrets: [UInt8]? = nil
    /// Record the point at this time instead of now (imports, simulations).
    public var time: Date? = nil
    /// The chain's block size for a new chain (a power of two, 4 KiB … 4 MiB). An existing chain
    /// keeps its own.
    public var blockSizeBytes: Int = ChainLimits.defaultBlockSizeBytes
    /// Quiesce participants, called prepare → freeze → snapshot → thaw → post.
    public var participants: [any QuiesceParticipant] = []
    /// How long each participant phase may take.
    public var participantTimeout: Duration = .seconds(60)
    /// Called between freeze and thaw: the host takes its snapshot here (after it returns, the
    /// disk sources must read the snapshot's state).
    public var takeSnapshot: (@Sendable () async throws -> Void)? = nil
    /// Read every block even when changed ranges are given, and report blocks the host's
    /// tracker missed (guards against change-tracking bugs).
    public var verifyChangedRanges: Bool = false
    /// What to do when a disk's ``TrackedChanges/since`` is not the item's latest point with
    /// that disk (default ``BaseMismatchPolicy/fail``).
    public var onBaseMismatch: BaseMismatchPolicy = .fail

    /// Creates a request.
    public init(item: ItemName, disks: [DiskInput]) {
        self.item = item
        self.disks = disks
    }
}

/// One disk of a backup request.
public struct DiskInput: Sendable {
    /// The disk's stable position in the item (disk 0, disk 1, …).
    public var disk: DiskIndex
    /// A host-given name.
    public var name: String
    /// Where to read it.
    public var source: any DiskSource
    /// The byte ranges the host's change tracking (QEMU dirty bitmaps, VMware CBT, Hyper-V RCT)
    /// saw written since a named point. Nil: find changes by reading.
    public var changes: TrackedChanges?

    /// Creates a disk input.
    /// - Parameters:
    ///   - disk: The disk's stable position in the item.
    ///   - name: A host-given name (default `disk<N>`).
    ///   - source: Where to read the disk.
    ///   - changes: Host-tracked changes and the point they are relative to, or nil to find
    ///     changes by reading.
    public init(disk: DiskIndex, name: String = "", source: any DiskSource, changes: TrackedChanges? = nil) {
        self.disk = disk
        self.name = name.isEmpty ? "disk\(disk)" : name
        self.source = source
        self.changes = changes
    }
}

/// Byte ranges of a disk that a host's change tracker saw written, and the point they are
/// relative to — as VMware names a `changeId`, Hyper-V a reference point and Azure a
/// `prevsnapshot`.
///
/// A backup uses the ranges only when ``since`` is the item's latest point that has the disk;
/// otherwise the ranges describe changes against some other state (a point that was rolled
/// back, expired or never committed), and building on them would record wrong bytes. Then the
/// backup fails with `baseMismatch`, or reads the whole disk when
/// ``BackupRequest/onBaseMismatch`` says so.
///
/// ```swift
/// // The tracker was reset when point `previous.point.id` was taken.
/// let changes = TrackedChanges(since: previous.point.id, ranges: dirtyRanges)
/// let input = DiskInput(disk: 0, source: source, changes: changes)
/// ```
public struct TrackedChanges: Sendable, Hashable {
    /// The point the ranges are relative to: the point whose snapshot reset the host's tracker.
    /// Nil when tracking started with the disk itself, before any point has it (the backup is
    /// then a full one, and a mismatch if the item already has a point with the disk).
    public var since: PointID?
    /// Byte ranges written since ``since`` (any order, may overlap; must lie within the disk).
    public var ranges: [Range<UInt64>]

    /// Creates tracked changes.
    /// - Parameters:
    ///   - since: The point the ranges are relative to, or nil before the disk's first point.
    ///   - ranges: The byte ranges written since then.
    public init(since: PointID?, ranges: [Range<UInt64>]) {
        self.since = since
        self.ranges = ranges
    }
}

/// What a backup does when a disk's tracked changes are relative to a point other than the
/// item's latest point with that disk.
public enum BaseMismatchPolicy: String, Sendable, Hashable, CaseIterable {
    /// Fail with `baseMismatch` before anything is read or stored (the default).
    case fail
    /// Ignore the ranges and read the whole disk, comparing every block with the latest point
    /// that has the disk (as a backup without tracked changes does).
    case readWholeDisk
}

/// A disk whose tracked changes named another base, so the backup read it whole
/// (``BaseMismatchPolicy/readWholeDisk``).
public struct BaseMismatch: Sendable, Hashable {
    /// The disk.
    public var disk: DiskIndex
    /// The point the host's ranges were relative to (``TrackedChanges/since``).
    public var named: PointID?
    /// The item's latest point with the disk, which the backup compared against instead (nil:
    /// no point has the disk, so the disk was backed up in full).
    public var latest: PointID?
}

/// What a backup produced.
public struct BackupResult: Sendable {
    /// The new point.
    public var point: RecoveryPoint
    /// Full, incremental or on demand, as of now.
    public var kind: PointKind
    /// Blocks the host's change tracking missed (only with ``BackupRequest/verifyChangedRanges``),
    /// per disk: byte ranges that changed but were not reported. They were backed up anyway.
    public var missedByTracker: [DiskIndex: [Range<UInt64>]]
    /// Disks whose tracked changes were relative to another point and that were read whole
    /// instead (only with ``BaseMismatchPolicy/readWholeDisk``), by disk.
    public var baseMismatches: [BaseMismatch]
}
