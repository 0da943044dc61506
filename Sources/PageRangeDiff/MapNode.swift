import BlockStore

/// A decoded, self-consistent block-map node as held in the ``NodeCache``.
///
/// Header layout (little-endian), inside the ``StoreNode`` header:
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

    package init(level: Int, isRoot: Bool, rootGeometry: BlockMapGeometry?,
        entries: [StoreNode.Entry], byteCount: Int) {
        self.level = level
        self.isRoot = isRoot
        self.rootGeometry = rootGeometry
        self.entries = entries
        self.byteCount = byteCount
    }

    /// Decodes and checks the context-free properties of a stored node.
    /// - Throws: ``PageRangeDiffError`` `corruptNode` or `unsupportedFormat`.
    package convenience init(decoding node: StoreNode, id: ChunkID) throws {
        let h = node.header
        guard h.count >= 3, h[0] == MapNode.magic0, h[1] == MapNode.magic1 else {
            throw PageRangeDiffError(.corruptNode,
                "node \(id.shortHex) is not a block-map node (bad header magic)")
        }
        guard h[2] == MapNode.version else {
            throw PageRangeDiffError(.unsupportedFormat,
                "block-map node \(id.shortHex) has format version \(h[2]); this build reads 1")
        }
        guard h.count == MapNode.nonRootHeaderBytes || h.count == MapNode.rootHeaderBytes else {
            throw PageRangeDiffError(.corruptNode,
                "block-map node \(id.shortHex) has a \(h.count)-byte header (expected 5 or 16)")
        }
        let level = Int(h[3])
        guard level < BlockMapGeometry.maxHeight else {
            throw PageRangeDiffError(.corruptNode,
                "block-map node \(id.shortHex) claims level \(level), beyond the depth limit")
        }
        let isRoot: Bool
        var geometry: BlockMapGeometry? = nil
        switch (h[4], h.count) {
        case (0, MapNode.nonRootHeaderBytes):
            isRoot = false
            guard !node.entries.isEmpty else {
                throw PageRangeDiffError(.corruptNode,
                    "non-root block-map node \(id.shortHex) is empty (never written canonically)")
            }
        case (1, MapNode.rootHeaderBytes):
            isRoot = true
            guard h[5] < 64, h[6] < 64, h[7] < 64 else {
                throw PageRangeDiffError(.corruptNode,
                    "root node \(id.shortHex) declares an impossible geometry")
            }
            var size: UInt64 = 0
            for k in 0..<8 { size |= UInt64(h[8 + k]) << (8 * UInt64(k)) }
            do {
                geometry = try BlockMapGeometry(diskSizeBytes: size,
                    blockSizeBytes: 1 << UInt64(h[5]), leafFanout: 1 << Int(h[6]),
                    interiorFanout: 1 << Int(h[7]))
            } catch let error as PageRangeDiffError {
                throw PageRangeDiffError(.corruptNode,
                    "root node \(id.shortHex) declares an unacceptable geometry", underlying: error)
            }
            guard geometry!.height - 1 == level else {
                throw PageRangeDiffError(.corruptNode,
                    "root node \(id.shortHex) is at level \(level) but its disk needs "
                        + "\(geometry!.height) levels")
            }
        default:
            throw PageRangeDiffError(.corruptNode,
                "block-map node \(id.shortHex) has bad flags \(h[4]) for a \(h.count)-byte header")
        }
        for entry in node.entries where entry.id.isZero {
            throw PageRangeDiffError(.corruptNode,
                "block-map node \(id.shortHex) stores the zero ID at slot \(entry.slot)")
        }
        self.init(level: level, isRoot: isRoot, rootGeometry: geometry, entries: node.entries,
            byteCount: node.encodedByteCount)
    }

    /// Checks that this node may sit where the walk found it. O(1).
    /// - Throws: ``PageRangeDiffError`` `corruptNode`.
    package func check(level expected: Int, isRoot expectedRoot: Bool, geometry: BlockMapGeometry,
        firstBlock: UInt64, id: ChunkID) throws {
        guard level == expected, isRoot == expectedRoot else {
            throw PageRangeDiffError(.corruptNode,
                "block-map node \(id.shortHex) is a \(isRoot ? "root" : "non-root") node at "
                    + "level \(level) where a \(expectedRoot ? "root" : "non-root") node at "
                    + "level \(expected) belongs")
        }
        if expectedRoot, let rootGeometry, rootGeometry != geometry {
            throw PageRangeDiffError(.corruptNode,
                "root node \(id.shortHex) declares \(rootGeometry), not the map's \(geometry)")
        }
        guard let last = entries.last else { return }
        guard Int(last.slot) < geometry.fanout(atLevel: level) else {
            throw PageRangeDiffError(.corruptNode,
                "block-map node \(id.shortHex) has slot \(last.slot) beyond its fan-out "
                    + "\(geometry.fanout(atLevel: level))")
        }
        let childSpan = level == 0 ? 1 : geometry.blocksPerNode(atLevel: level - 1)
        guard firstBlock + UInt64(last.slot) * childSpan < geometry.blockCount else {
            throw PageRangeDiffError(.corruptNode,
                "block-map node \(id.shortHex) has an entry past the disk's last block")
        }
    }

    /// The header bytes for a node.
    static func header(level: Int, root geometry: BlockMapGeometry?) -> [UInt8] {
        guard let g = geometry else {
            return [magic0, magic1, version, UInt8(level), 0]
        }
        var h: [UInt8] = [magic0, magic1, version, UInt8(level), 1,
            UInt8(g.blockSizeBytes.trailingZeroBitCount), UInt8(g.leafFanout.trailingZeroBitCount),
            UInt8(g.interiorFanout.trailingZeroBitCount)]
        for k in 0..<8 { h.append(UInt8(truncatingIfNeeded: g.diskSizeBytes >> (8 * UInt64(k)))) }
        return h
    }
}
