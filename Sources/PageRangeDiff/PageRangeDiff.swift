import BlockStore

/// GetPageRanges-style diffs between block maps, and the block maps themselves.
///
/// - ``BlockMap``: one disk's state, a content-addressed tree of ``StoreNode``s.
/// - ``BlockMapBuilder``: makes a map from its parent plus sorted changes.
/// - ``BlockMapReader``: lookup, iteration and ``BlockMapReader/diff(from:to:in:maxResults:marker:granularity:contents:)``.
///
/// Limits, chosen up front: disks up to ``BlockMapGeometry/maxDiskSizeBytes`` (2^50 bytes),
/// trees at most ``BlockMapGeometry/maxHeight`` levels, pages of at most
/// ``BlockMapReader/maxResultsLimit`` ranges.
public enum PageRangeDiff {
    /// The format version of block-map nodes this build writes and reads.
    public static let mapFormatVersion = 1
}
