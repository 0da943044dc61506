/// Progress of a long store operation (garbage collection, verification).
public struct StoreProgress: Sendable, Equatable {
    /// What the operation is doing now, e.g. `"scanning packs"`, `"marking"`, `"repacking"`.
    public var phase: String
    /// Units done in this phase.
    public var done: Int
    /// Units in this phase, when known.
    public var total: Int?
    /// Bytes read so far.
    public var bytesRead: UInt64

    /// Creates a progress value.
    public init(phase: String, done: Int, total: Int?, bytesRead: UInt64) {
        self.phase = phase
        self.done = done
        self.total = total
        self.bytesRead = bytesRead
    }
}

/// Receives progress reports; called from the working task, so keep it quick.
public typealias StoreProgressHandler = @Sendable (StoreProgress) -> Void
