import BlockStore
import Foundation

/// What to back up: one item's disks, with how to find their changes and what to record.
public struct BackupRequest: Sendable {
    /// The protected item (a VM): a name of letters, digits, `.`, `_` or `-`.
    public var item: String
    /// The disks to back up now, by their stable position in the item.
    public var disks: [DiskInput]
    /// Take the point on demand (with its own retention) rather than on schedule.
    public var onDemand: Bool = false
    /// For on-demand points: how long to keep it (default 30 days, seed 000).
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
    public var blockSizeBytes: Int = 64 * 1024
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

    /// Creates a request.
    public init(item: String, disks: [DiskInput]) {
        self.item = item
        self.disks = disks
    }
}

/// One disk of a backup request.
public struct DiskInput: Sendable {
    /// The disk's stable position in the item (disk 0, disk 1, …).
    public var disk: Int
    /// A host-given name.
    public var name: String
    /// Where to read it.
    public var source: any DiskSource
    /// Byte ranges changed since the item's previous point, from the host's change tracking
    /// (QEMU dirty bitmaps, VMware CBT, Hyper-V RCT). Nil: find changes by reading.
    public var changedRanges: [Range<UInt64>]?

    /// Creates a disk input.
    public init(disk: Int, name: String = "", source: any DiskSource, changedRanges: [Range<UInt64>]? = nil) {
        self.disk = disk
        self.name = name.isEmpty ? "disk\(disk)" : name
        self.source = source
        self.changedRanges = changedRanges
    }
}

/// What a backup produced.
public struct BackupResult: Sendable {
    /// The new point.
    public var point: RecoveryPoint
    /// Full, incremental or on demand, as of now.
    public var kind: PointKind
    /// Blocks the host's change tracking missed (only with ``BackupRequest/verifyChangedRanges``),
    /// per disk: byte ranges that changed but were not reported. They were backed up anyway.
    public var missedByTracker: [Int: [Range<UInt64>]]
}
