/// How a recovery point came to be, as listed.
public enum PointKind: String, Codable, Sendable, Hashable {
    /// The oldest point of its chain: it restores without any other (after merge-on-expire the
    /// next point becomes the full one).
    case full
    /// A scheduled point after the first: it stored only what changed.
    case incremental
    /// A point taken on demand, with its own retention.
    case onDemand
}
