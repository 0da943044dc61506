/// The range algebra of a diff: clips, coalesces and pages ranges produced in ascending order.
///
/// Pure and synchronous, so it can be tested on its own. Adjacent ranges of the same kind merge;
/// once `maxResults` ranges are complete and another, separate range begins, the collector is
/// full and ``stopOffset`` is where that range begins (the next page's start). Since no range
/// straddles that offset, a diff resumed there yields exactly the rest of the unpaged list.
package struct RangeCollector {
    /// Bytes outside this range are dropped.
    package let clip: Range<UInt64>
    /// Complete ranges a page may hold.
    package let maxResults: Int
    /// The complete ranges so far.
    package private(set) var ranges: [PageRange] = []
    /// Set when the page is full: where the next page starts.
    package private(set) var stopOffset: UInt64?

    private var openStart: UInt64 = 0
    private var openEnd: UInt64 = 0
    private var openKind: PageRange.Kind = .changed
    private var isOpen = false

    /// Creates a collector.
    /// - Precondition: `maxResults >= 1`.
    package init(clip: Range<UInt64>, maxResults: Int) {
        precondition(maxResults >= 1, "a page holds at least one range")
        self.clip = clip
        self.maxResults = maxResults
        ranges.reserveCapacity(min(maxResults, 1024))
    }

    /// Whether the page is full (stop walking).
    @inline(__always) package var isFull: Bool { stopOffset != nil }

    /// Adds `[start, end)` of `kind`; calls must come in ascending, non-overlapping order.
    @inline(__always)
    package mutating func add(_ start: UInt64, _ end: UInt64, _ kind: PageRange.Kind) {
        let s = max(start, clip.lowerBound)
        let e = min(end, clip.upperBound)
        guard s < e, stopOffset == nil else { return }
        if isOpen {
            if kind == openKind && s == openEnd {
                openEnd = e
                return
            }
            precondition(s >= openEnd, "diff ranges were produced out of order")
            ranges.append(PageRange(openStart..<openEnd, kind: openKind))
            if ranges.count == maxResults {
                isOpen = false
                stopOffset = s
                return
            }
        }
        openStart = s
        openEnd = e
        openKind = kind
        isOpen = true
    }

    /// Closes the open range, if any; returns the ranges.
    package mutating func finish() -> [PageRange] {
        if isOpen {
            ranges.append(PageRange(openStart..<openEnd, kind: openKind))
            isOpen = false
        }
        return ranges
    }
}
