import BlockStore

/// GetPageRanges-style diffs between block maps (filled in by the block-map issue).
public enum PageRangeDiff {}
