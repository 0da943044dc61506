/// The stage a backup or restore job is in, as ``JobProgress/phase`` reports it.
public enum JobPhase: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    /// Asking quiesce participants to prepare and freeze, and taking the host's snapshot.
    case quiescing
    /// Reading the disks and storing changed blocks.
    case reading
    /// Writing the point's maps and manifest, and publishing it.
    case committing
    /// Reading blocks from the store and writing the target.
    case restoring
    /// Finished.
    case done

    /// The phase's name, e.g. `"reading"`.
    public var description: String { rawValue }
}
