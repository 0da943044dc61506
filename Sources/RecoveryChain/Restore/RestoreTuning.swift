import BlockStore

/// How a restore spreads its work over the cores and bounds its memory (tests vary it; hosts
/// take the defaults).
///
/// A restore looks up `windowBlocks` map entries at a time, plans the window's chunks into pack
/// runs (one ranged read each, at most `runBytesMax`), and hands the runs to `workerCount +
/// fetchAheadRuns` tasks: each fetches a run and decodes its chunks (open, decompress, verify)
/// into a staging buffer, which one write queue (off the cooperative pool) writes as stretches
/// of neighbouring blocks. Memory stays below about `(workerCount + fetchAheadRuns) ×
/// (runBytesMax + 2 × stageBlocks × block size)`.
struct RestoreTuning: Sendable {
    /// Blocks whose map entries one window looks up.
    var windowBlocks: UInt64 = ChainLimits.blocksPerWindow
    /// Runs in flight beyond one per worker, so reads from object storage overlap decoding.
    var fetchAheadRuns = 2
    /// Blocks one task's staging buffer gathers into one write.
    var stageBlocks = 32
    /// The most bytes one ranged read fetches.
    var runBytesMax = ChunkStore.defaultRunBytesMax
    /// Bytes of unwanted chunks one ranged read may fetch between two wanted ones.
    var gapBytesMax = ChunkStore.defaultCoalescedGapBytes
}
