import BlockStore

/// The ranges of a diff as an async sequence, fetched page by page with bounded memory.
///
/// Made by ``BlockMapReader/ranges(from:to:in:granularity:contents:pageSize:)``. Iterating
/// yields exactly the ranges of the unpaged diff, in order; errors are those of
/// ``BlockMapReader/diff(from:to:in:maxResults:marker:granularity:contents:)``.
///
/// ```swift
/// for try await range in reader.ranges(from: older, to: newer) {
///     try await copy(range.range)
/// }
/// ```
public struct DiffRanges: AsyncSequence, Sendable {
    /// One range.
    public typealias Element = PageRange

    let reader: BlockMapReader
    let base: BlockMap?
    let target: BlockMap
    let byteRange: Range<UInt64>?
    let granularity: DiffGranularity
    let contents: (any ChunkContentSource)?
    let pageSize: Int

    /// Creates an iterator that starts at the first range.
    public func makeAsyncIterator() -> Iterator {
        Iterator(sequence: self)
    }

    /// Fetches pages lazily and yields their ranges.
    public struct Iterator: AsyncIteratorProtocol {
        let sequence: DiffRanges
        var buffer: [PageRange] = []
        var position = 0
        var marker: DiffMarker?
        var exhausted = false

        init(sequence: DiffRanges) { self.sequence = sequence }

        /// The next range, or nil after the last.
        /// - Throws: ``PageRangeDiffError``.
        public mutating func next() async throws -> PageRange? {
            while position == buffer.count {
                if exhausted { return nil }
                let page = try await sequence.reader.diff(
                    from: sequence.base, to: sequence.target,
                    in: sequence.byteRange, maxResults: sequence.pageSize, marker: marker,
                    granularity: sequence.granularity, contents: sequence.contents)
                buffer = page.ranges
                position = 0
                marker = page.nextMarker
                exhausted = marker == nil
            }
            defer { position += 1 }
            return buffer[position]
        }
    }
}
