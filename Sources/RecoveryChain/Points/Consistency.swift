/// What a recovery point's data is consistent with (as Hyper-V's VSS writers make a point
/// application- or file-system-consistent).
public enum Consistency: String, Codable, Sendable, Hashable, Comparable {
    /// Applications flushed and froze their state (every application participant succeeded).
    case application
    /// File systems were frozen (file-system participants succeeded), applications were not.
    case fileSystem
    /// Nothing was frozen: the state a crash would leave.
    case crash

    private var rank: Int {
        switch self {
        case .application: 2
        case .fileSystem: 1
        case .crash: 0
        }
    }

    /// Orders by strength: crash < file system < application.
    public static func < (a: Consistency, b: Consistency) -> Bool { a.rank < b.rank }
}
