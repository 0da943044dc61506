/// Something that can make a disk's contents consistent for a moment, as a VSS writer does.
///
/// For each backup, participants are called in phases, each with a timeout: `prepare`, then
/// `freeze` (stop writing), then the host's snapshot is taken, then `thaw` (always called for
/// every participant that was frozen or tried to freeze, even after a failure), then
/// `postSnapshot`. If any participant fails or times out, the point is still taken but recorded
/// crash-consistent (or file-system-consistent) with the reason.
public protocol QuiesceParticipant: Sendable {
    /// A name for messages and the point's consistency note.
    var name: String { get }
    /// What this participant makes consistent when it succeeds.
    var level: QuiesceLevel { get }
    /// Gets ready to freeze (flush caches, finish transactions).
    func prepare() async throws
    /// Stops writes; must return quickly.
    func freeze() async throws
    /// Resumes writes. Called even when an earlier phase failed.
    func thaw() async throws
    /// After the snapshot (e.g. truncate logs).
    func postSnapshot() async throws
}

extension QuiesceParticipant {
    /// Does nothing by default.
    public func prepare() async throws {}
    /// Does nothing by default.
    public func postSnapshot() async throws {}
}

/// What a quiesce participant makes consistent.
public enum QuiesceLevel: String, Sendable, Codable {
    /// An application (a database, a mail server).
    case application
    /// A file system (fsfreeze).
    case fileSystem
}
