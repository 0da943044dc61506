import BlockStore

/// The non-zero blocks of a map in ascending order, as an async sequence of
/// `(blockIndex, id)`, holding one leaf in memory at a time.
///
/// Made by ``BlockMapReader/entries(of:blocks:)``.
///
/// ```swift
/// for try await (blockIndex, id) in reader.entries(of: map) {
///     print(blockIndex, id.shortHex)
/// }
/// ```
public struct BlockMapEntries: AsyncSequence, Sendable {
    /// One non-zero block and its chunk.
    public typealias Element = (blockIndex: UInt64, id: ChunkID)

    let reader: BlockMapReader
    let map: BlockMap
    let blocks: Range<UInt64>

    /// Creates an iterator at the first block of the range.
    public func makeAsyncIterator() -> Iterator { Iterator(sequence: self) }

    /// Walks leaf by leaf, descending from the root for each (cached) leaf.
    public struct Iterator: AsyncIteratorProtocol {
        let sequence: BlockMapEntries
        var cursor: UInt64
        var buffer: [(blockIndex: UInt64, id: ChunkID)] = []
        var position = 0

        init(sequence: BlockMapEntries) {
            self.sequence = sequence
            cursor = sequence.blocks.lowerBound
        }

        /// The next non-zero block, or nil after the last.
        /// - Throws: ``PageRangeDiffError`` for damaged or missing nodes.
        public mutating func next() async throws -> (blockIndex: UInt64, id: ChunkID)? {
            while position == buffer.count {
                guard cursor < sequence.blocks.upperBound else { return nil }
                let g = sequence.map.geometry
                guard
                    let leaf = try await findLeaf(
                        level: g.height - 1, id: sequence.map.rootID,
                        isRoot: true, first: 0)
                else {
                    cursor = sequence.blocks.upperBound
                    return nil
                }
                buffer = []
                position = 0
                for entry in leaf.entries {
                    let block = leaf.first + UInt64(entry.slot)
                    if block >= cursor && block < sequence.blocks.upperBound {
                        buffer.append((block, entry.id))
                    }
                }
                cursor = leaf.first + UInt64(g.leafFanout)
            }
            defer { position += 1 }
            return buffer[position]
        }

        /// The first leaf holding an entry at or after `cursor`.
        private func findLeaf(level: Int, id: ChunkID, isRoot: Bool, first: UInt64) async throws
            -> (first: UInt64, entries: [StoreNode.Entry])?
        {
            let g = sequence.map.geometry
            let node = try await sequence.reader.load(id)
            try node.check(level: level, isRoot: isRoot, geometry: g, firstBlock: first, id: id)
            if level == 0 {
                guard let last = node.entries.last, first + UInt64(last.slot) >= cursor else {
                    return nil
                }
                return (first, node.entries)
            }
            let span = g.blocksPerNode(atLevel: level - 1)
            if level == 1 {
                // The leaves this walk will visit, fetched in one batch the first time (one
                // ranged read per pack stretch instead of one read per leaf: what keeps a
                // restore from object storage at a few requests per window).
                var leaves: [ChunkID] = []
                for entry in node.entries {
                    let childFirst = first + UInt64(entry.slot) * span
                    if childFirst + span > cursor && childFirst < sequence.blocks.upperBound { leaves.append(entry.id) }
                }
                if let next = leaves.first, sequence.reader.cache.node(next) == nil {
                    await sequence.reader.preload(leaves)
                }
            }
            for entry in node.entries {
                let childFirst = first + UInt64(entry.slot) * span
                if childFirst + span <= cursor { continue }
                if childFirst >= sequence.blocks.upperBound { return nil }
                if let leaf = try await findLeaf(
                    level: level - 1, id: entry.id, isRoot: false,
                    first: childFirst)
                {
                    return leaf
                }
            }
            return nil
        }
    }
}
