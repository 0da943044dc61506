import BlockStore

/// A decoded, self-consistent block-map node as held in the ``NodeCache``.
///
/// Header layout (little-endian), inside the `StoreNode` header:
/// ```
/// non-root (5 bytes):  "BM" | version u8 = 1 | level u8 | flags u8 = 0
/// root (16 bytes):     "BM" | version u8 = 1 | level u8 | flags u8 = 1
///                      | log2(blockSizeBytes) u8 | log2(leafFanout) u8
///                      | log2(interiorFanout) u8 | diskSizeBytes u64
/// ```
/// Entries: at level 0, slot = block index within the leaf, id = the block's chunk ID (absent
/// slot = zero block); above, slot = child index, id = the child node (absent = all-zero subtree).
/// Only the root carries the disk size, so subtrees are shared across resizes.
///
/// Checks that need no context (header, no zero IDs, non-root nodes not empty) are made once,
/// here; checks that depend on where the node sits (level, fan-out, disk end) are made on every
/// use by ``MapNode/check(level:isRoot:geometry:firstBlock:id:)`` in O(1).
package final class MapNode: Sendable {
    /// Level above the leaves (leaves are 0).
    package let level: Int
    /// Whether the header is a root header.
    package let isRoot: Bool
    /// The geometry a root header declares (nil for non-root nodes).
    package let rootGeometry: BlockMapGeometry?
    /// The entries, strictly ascending by slot.
    package let entries: [StoreNode.Entry]
    /// The encoded size, for the cache's byte budget.
    package let byteCount: Int

    static let magic0 = UInt8(ascii: "B")
    static let magic1 = UInt8(ascii: "M")
    static let version: UInt8 = 1
    static let nonRootHeaderBytes = 5
    static let rootHeaderBytes = 16

    package init(
        level: Int, isRoot: Bool, rootGeometry: BlockMapGeometry?,
        entries: [StoreNode.Entry], byteCount: Int
    ) {
        self.level = level
        self.isRoot = isRoot
        self.rootGeometry = rootGeometry
        self.entries = entries
        self.byteCount = byteCount
    }

    /// Decodes and checks the context-free properties of a stored node.
    /// - Throws: ``PageRangeDiffError`` `corruptNode` or `unsupportedFormat`.
    package convenience init(decoding node: StoreNode, id: ChunkID) throws {
        let (level, isRoot, geometry) = try MapNode.decodeHeader(node, id: id)
        try node.entries.withUnsafeBufferPointer { try MapNode.checkNoZeroIDs($0, id: id) }
        self.init(
            level: level, isRoot: isRoot, rootGeometry: geometry, entries: node.entries,
            byteCount: node.encodedByteCount)
    }

    /// Checks a stored node completely for the place the walk found it, without building a
    /// ``MapNode`` (no allocation, no cache): what ``init(decoding:id:)`` followed by
    /// ``check(level:isRoot:geometry:firstBlock:id:)`` checks. Returns its entries.
    ///
    /// For nodes already in memory (a `ResidentNodeStore`), where decoding into the cache would
    /// cost more than the comparison it serves.
    /// - Throws: ``PageRangeDiffError`` `corruptNode` or `unsupportedFormat`.
    package static func checkedEntries(
        of node: StoreNode, id: ChunkID, level expected: Int,
        isRoot expectedRoot: Bool, geometry: BlockMapGeometry, firstBlock: UInt64
    ) throws
        -> [StoreNode.Entry]
    {
        let (level, isRoot, rootGeometry) = try decodeHeader(node, id: id)
        try checkPlace(
            level: level, isRoot: isRoot, rootGeometry: rootGeometry,
            lastSlot: nil, expected: expected, expectedRoot: expectedRoot, geometry: geometry,
            firstBlock: firstBlock, id: id)
        try node.entries.withUnsafeBufferPointer {
            try checkEntries(
                $0, id: id, level: expected, geometry: geometry,
                firstBlock: firstBlock)
        }
        return node.entries
    }

    /// The first (up to) 8 bytes of a header, packed little-endian: byte `k` in bits
    /// `8k..<8k+8`, zeros past the header's end.
    @inline(__always)
    package static func packedHeaderPrefix(_ header: UnsafeRawBufferPointer) -> UInt64 {
        if header.count >= 8 { return UInt64(littleEndian: header.loadUnaligned(as: UInt64.self)) }
        var v: UInt64 = 0
        for k in 0..<header.count { v |= UInt64(header[k]) << (8 * UInt64(k)) }
        return v
    }

    /// The packed prefix (``packedHeaderPrefix(_:)``) of a well-formed non-root header at
    /// `level`: all 5 bytes of it.
    @inline(__always)
    package static func nonRootHeaderPrefix(level: Int) -> UInt64 {
        UInt64(magic0) | UInt64(magic1) << 8 | UInt64(version) << 16
            | UInt64(truncatingIfNeeded: level & 0xFF) << 24
    }

    /// Whether `header` is exactly the canonical header of a non-root node at `level`: one
    /// length test and one comparison of the packed prefix, so a walk over nodes read in place
    /// recognises well-formed ones without decoding them. Anything else deserves the full
    /// decode (``checkedEntries(of:id:level:isRoot:geometry:firstBlock:)``) for its typed error.
    @inline(__always)
    package static func isCanonicalNonRootHeader(_ header: UnsafeRawBufferPointer, level: Int)
        -> Bool
    {
        guard header.count == nonRootHeaderBytes else { return false }
        let packed =
            UInt64(UInt32(littleEndian: header.loadUnaligned(as: UInt32.self)))
            | UInt64(header[4]) << 32
        return packed == nonRootHeaderPrefix(level: level)
    }

    /// The O(1) part of ``checkEntries(_:id:level:geometry:firstBlock:)``: the last slot lies
    /// within the fan-out and the disk. For walks that look at every entry anyway and check
    /// for zero IDs as they go.
    /// - Throws: ``PageRangeDiffError`` `corruptNode`.
    @inline(__always)
    package static func checkLastSlot(
        _ entries: UnsafeBufferPointer<StoreNode.Entry>, id: ChunkID,
        level: Int, geometry: BlockMapGeometry, firstBlock: UInt64
    ) throws {
        try checkPlace(
            level: level, isRoot: false, rootGeometry: nil,
            lastSlot: entries.last?.slot, expected: level, expectedRoot: false,
            geometry: geometry, firstBlock: firstBlock, id: id)
    }

    /// The entry checks of a node whose header is known good for its place: no zero IDs, last
    /// slot within the fan-out and the disk. O(entries), no allocation.
    /// - Throws: ``PageRangeDiffError`` `corruptNode`.
    @inline(__always)
    package static func checkEntries(
        _ entries: UnsafeBufferPointer<StoreNode.Entry>, id: ChunkID,
        level: Int, geometry: BlockMapGeometry, firstBlock: UInt64
    ) throws {
        try checkNoZeroIDs(entries, id: id)
        try checkPlace(
            level: level, isRoot: false, rootGeometry: nil,
            lastSlot: entries.last?.slot, expected: level, expectedRoot: false,
            geometry: geometry, firstBlock: firstBlock, id: id)
    }

    /// The header's level, kind and (for roots) geometry, with the context-free checks.
    private static func decodeHeader(_ node: StoreNode, id: ChunkID) throws
        -> (level: Int, isRoot: Bool, geometry: BlockMapGeometry?)
    {
        let h = node.header
        guard h.count >= 3, h[0] == MapNode.magic0, h[1] == MapNode.magic1 else {
            throw PageRangeDiffError(
                .corruptNode,
                "node \(id.shortHex) is not a block-map node (bad header magic)")
        }
        guard h[2] == MapNode.version else {
            throw PageRangeDiffError(
                .unsupportedFormat,
                "block-map node \(id.shortHex) has format version \(h[2]); this build reads 1")
        }
        guard h.count == MapNode.nonRootHeaderBytes || h.count == MapNode.rootHeaderBytes else {
            throw PageRangeDiffError(
                .corruptNode,
                "block-map node \(id.shortHex) has a \(h.count)-byte header (expected 5 or 16)")
        }
        let level = Int(h[3])
        guard level < BlockMapGeometry.maxHeight else {
            throw PageRangeDiffError(
                .corruptNode,
                "block-map node \(id.shortHex) claims level \(level), beyond the depth limit")
        }
        switch (h[4], h.count) {
        case (0, MapNode.nonRootHeaderBytes):
            guard !node.entries.isEmpty else {
                throw PageRangeDiffError(
                    .corruptNode,
                    "non-root block-map node \(id.shortHex) is empty (never written canonically)")
            }
            return (level, false, nil)
        case (1, MapNode.rootHeaderBytes):
            guard h[5] < 64, h[6] < 64, h[7] < 64 else {
                throw PageRangeDiffError(
                    .corruptNode,
                    "root node \(id.shortHex) declares an impossible geometry")
            }
            var size: UInt64 = 0
            for k in 0..<8 { size |= UInt64(h[8 + k]) << (8 * UInt64(k)) }
            let geometry: BlockMapGeometry
            do {
                geometry = try BlockMapGeometry(
                    diskSizeBytes: size,
                    blockSizeBytes: 1 << UInt64(h[5]), leafFanout: 1 << Int(h[6]),
                    interiorFanout: 1 << Int(h[7]))
            } catch let error as PageRangeDiffError {
                throw PageRangeDiffError(
                    .corruptNode,
                    "root node \(id.shortHex) declares an unacceptable geometry", underlying: error)
            }
            guard geometry.height - 1 == level else {
                throw PageRangeDiffError(
                    .corruptNode,
                    "root node \(id.shortHex) is at level \(level) but its disk needs "
                        + "\(geometry.height) levels")
            }
            return (level, true, geometry)
        default:
            throw PageRangeDiffError(
                .corruptNode,
                "block-map node \(id.shortHex) has bad flags \(h[4]) for a \(h.count)-byte header")
        }
    }

    /// Zero IDs are never stored (an absent slot means zeros).
    @inline(__always)
    private static func checkNoZeroIDs(_ entries: UnsafeBufferPointer<StoreNode.Entry>, id: ChunkID)
        throws
    {
        var hasZero = false
        for e in entries where e.id.isZero { hasZero = true }
        guard hasZero else { return }
        let slot = entries.first(where: { $0.id.isZero })!.slot
        throw PageRangeDiffError(
            .corruptNode,
            "block-map node \(id.shortHex) stores the zero ID at slot \(slot)")
    }

    /// Checks that this node may sit where the walk found it. O(1).
    /// - Throws: ``PageRangeDiffError`` `corruptNode`.
    package func check(
        level expected: Int, isRoot expectedRoot: Bool, geometry: BlockMapGeometry,
        firstBlock: UInt64, id: ChunkID
    ) throws {
        try MapNode.checkPlace(
            level: level, isRoot: isRoot, rootGeometry: rootGeometry,
            lastSlot: entries.last?.slot, expected: expected, expectedRoot: expectedRoot, geometry: geometry,
            firstBlock: firstBlock, id: id)
    }

    @inline(__always)
    private static func checkPlace(
        level: Int, isRoot: Bool, rootGeometry: BlockMapGeometry?,
        lastSlot: UInt32?, expected: Int, expectedRoot: Bool, geometry: BlockMapGeometry,
        firstBlock: UInt64, id: ChunkID
    ) throws {
        guard level == expected, isRoot == expectedRoot else {
            throw PageRangeDiffError(
                .corruptNode,
                "block-map node \(id.shortHex) is a \(isRoot ? "root" : "non-root") node at "
                    + "level \(level) where a \(expectedRoot ? "root" : "non-root") node at "
                    + "level \(expected) belongs")
        }
        if expectedRoot, let rootGeometry, rootGeometry != geometry {
            throw PageRangeDiffError(
                .corruptNode,
                "root node \(id.shortHex) declares \(rootGeometry), not the map's \(geometry)")
        }
        guard let lastSlot else { return }
        guard Int(lastSlot) < geometry.fanout(atLevel: level) else {
            throw PageRangeDiffError(
                .corruptNode,
                "block-map node \(id.shortHex) has slot \(lastSlot) beyond its fan-out "
                    + "\(geometry.fanout(atLevel: level))")
        }
        let childSpan = level == 0 ? 1 : geometry.blocksPerNode(atLevel: level - 1)
        guard firstBlock + UInt64(lastSlot) * childSpan < geometry.blockCount else {
            throw PageRangeDiffError(
                .corruptNode,
                "block-map node \(id.shortHex) has an entry past the disk's last block")
        }
    }

    /// The header bytes for a node.
    static func header(level: Int, root geometry: BlockMapGeometry?) -> [UInt8] {
        guard let g = geometry else {
            return [magic0, magic1, version, UInt8(level), 0]
        }
        var h: [UInt8] = [
            magic0, magic1, version, UInt8(level), 1,
            UInt8(g.blockSizeBytes.trailingZeroBitCount), UInt8(g.leafFanout.trailingZeroBitCount),
            UInt8(g.interiorFanout.trailingZeroBitCount),
        ]
        for k in 0..<8 { h.append(UInt8(truncatingIfNeeded: g.diskSizeBytes >> (8 * UInt64(k)))) }
        return h
    }
}
