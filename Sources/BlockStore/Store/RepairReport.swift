/// What a repair did (or, in a dry run, would do).
public struct RepairReport: Sendable, Equatable {
    /// Whether the index was rebuilt from the pack headers (because an index object was damaged
    /// or missing, or disagreed with the headers, or packs were not indexed).
    public var rebuiltIndex: Bool = false
    /// Index objects written (or that would be) by the rebuild.
    public var indexObjects: Int = 0
    /// Old index objects removed (or that would be) after the new ones were written.
    public var removedIndexObjects: Int = 0
    /// Damaged index objects found.
    public var damagedIndexObjects: [ObjectKey] = []
    /// Packs whose header cannot be read or authenticated; their chunks cannot be located, so
    /// repair moves them under `quarantine/` (kept, not deleted) where they no longer block
    /// garbage collection.
    public var damagedPacks: [ObjectKey] = []
    /// Roots that cannot be read, or reach chunks that no readable pack holds: the points that
    /// cannot be restored whole. Repair never deletes them; forget them or restore the missing
    /// objects from a copy.
    public var damagedRoots: [String] = []
    /// Chunks that roots reach but no readable pack holds.
    public var missingChunks: [ChunkID] = []
    /// Whether nothing was changed.
    public var dryRun: Bool = false

    /// Creates an empty report.
    public init() {}
}
