/// One page of a diff: up to `maxResults` ranges and where the next page starts.
public struct DiffPage: Sendable, Hashable {
    /// Sorted, non-overlapping, coalesced, 512-byte-aligned ranges.
    public var ranges: [PageRange]
    /// Pass this back to get the next page; nil when this page is the last.
    public var nextMarker: DiffMarker?

    /// Creates a page.
    public init(ranges: [PageRange], nextMarker: DiffMarker?) {
        self.ranges = ranges
        self.nextMarker = nextMarker
    }
}
