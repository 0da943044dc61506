/// The shape of one disk's block map: disk size, block size and the tree's fan-outs.
///
/// Blocks are `blockSizeBytes` long; the last one is shorter when the disk size is not a
/// multiple of the block size. Leaves hold up to ``leafFanout`` block entries; interior nodes up
/// to ``interiorFanout`` children. The tree's ``height`` follows from the block count alone, so
/// two maps with the same geometry and content have the same root ID whatever their history.
///
/// ```swift
/// let g = try BlockMapGeometry(diskSizeBytes: 1 << 40, blockSizeBytes: 64 * 1024)
/// print(g.blockCount, g.height)   // 16777216 4
/// ```
public struct BlockMapGeometry: Sendable, Hashable, CustomStringConvertible {
    /// The disk's size in bytes, a multiple of 512.
    public let diskSizeBytes: UInt64
    /// The block size in bytes, a power of two from 4 KiB to 4 MiB.
    public let blockSizeBytes: UInt64
    /// Block entries per leaf node (a power of two, 4…4096).
    public let leafFanout: Int
    /// Children per interior node (a power of two, 4…4096).
    public let interiorFanout: Int

    /// The default block size: 64 KiB (see `Benchmarks/README.md` for the trade-off).
    public static let defaultBlockSizeBytes: UInt64 = 64 * 1024
    /// The default leaf fan-out: 64 entries (about 2.3 KiB of entries per full leaf), chosen so
    /// that scattered churn reads few bytes per changed block.
    public static let defaultLeafFanout = 64
    /// The default interior fan-out: 256 children.
    public static let defaultInteriorFanout = 256
    /// The largest disk accepted: 2^50 bytes (1 PiB).
    public static let maxDiskSizeBytes: UInt64 = 1 << 50
    /// The smallest block size accepted: 4 KiB.
    public static let minBlockSizeBytes: UInt64 = 4 * 1024
    /// The largest block size accepted: 4 MiB.
    public static let maxBlockSizeBytes: UInt64 = 4 * 1024 * 1024
    /// The deepest tree any accepted geometry yields (levels, leaves included).
    public static let maxHeight = 24

    /// Creates a geometry, checking every limit.
    /// - Parameters:
    ///   - diskSizeBytes: A multiple of 512, at most ``maxDiskSizeBytes`` (zero is allowed).
    ///   - blockSizeBytes: A power of two from 4 KiB to 4 MiB.
    ///   - leafFanout: A power of two from 4 to 4096.
    ///   - interiorFanout: A power of two from 4 to 4096.
    /// - Throws: ``PageRangeDiffError`` `invalidArgument` or `limitExceeded`.
    public init(
        diskSizeBytes: UInt64,
        blockSizeBytes: UInt64 = BlockMapGeometry.defaultBlockSizeBytes,
        leafFanout: Int = BlockMapGeometry.defaultLeafFanout,
        interiorFanout: Int = BlockMapGeometry.defaultInteriorFanout
    ) throws {
        guard diskSizeBytes % 512 == 0 else {
            throw PageRangeDiffError(
                .invalidArgument,
                "disk size \(diskSizeBytes) is not a multiple of 512 bytes")
        }
        guard diskSizeBytes <= BlockMapGeometry.maxDiskSizeBytes else {
            throw PageRangeDiffError(
                .limitExceeded,
                "disk size \(diskSizeBytes) exceeds the limit of 2^50 bytes")
        }
        guard blockSizeBytes >= BlockMapGeometry.minBlockSizeBytes,
            blockSizeBytes <= BlockMapGeometry.maxBlockSizeBytes,
            blockSizeBytes.nonzeroBitCount == 1
        else {
            throw PageRangeDiffError(
                .invalidArgument,
                "block size \(blockSizeBytes) is not a power of two from 4 KiB to 4 MiB")
        }
        for (name, value) in [("leaf", leafFanout), ("interior", interiorFanout)] {
            guard value >= 4, value <= 4096, value.nonzeroBitCount == 1 else {
                throw PageRangeDiffError(
                    .invalidArgument,
                    "\(name) fan-out \(value) is not a power of two from 4 to 4096")
            }
        }
        self.diskSizeBytes = diskSizeBytes
        self.blockSizeBytes = blockSizeBytes
        self.leafFanout = leafFanout
        self.interiorFanout = interiorFanout
    }

    /// The same shape for a disk of another size.
    /// - Throws: ``PageRangeDiffError`` when the new size is not acceptable.
    public func resized(to diskSizeBytes: UInt64) throws -> BlockMapGeometry {
        try BlockMapGeometry(
            diskSizeBytes: diskSizeBytes, blockSizeBytes: blockSizeBytes,
            leafFanout: leafFanout, interiorFanout: interiorFanout)
    }

    /// The number of blocks, the last one possibly partial.
    public var blockCount: UInt64 { (diskSizeBytes + blockSizeBytes - 1) / blockSizeBytes }

    /// The number of tree levels (1 when the root is itself a leaf).
    public var height: Int {
        var levels = 1
        var covered = UInt64(leafFanout)
        while covered < blockCount {
            covered *= UInt64(interiorFanout)
            levels += 1
        }
        return levels
    }

    /// Whether two maps can be diffed or built one from the other (same block size and fan-outs).
    public func isCompatible(with other: BlockMapGeometry) -> Bool {
        blockSizeBytes == other.blockSizeBytes && leafFanout == other.leafFanout
            && interiorFanout == other.interiorFanout
    }

    /// The bytes `blockIndex` covers on this disk (shorter for a partial last block).
    /// - Precondition: `blockIndex < blockCount`.
    public func byteRange(ofBlock blockIndex: UInt64) -> Range<UInt64> {
        precondition(blockIndex < blockCount, "block index past the disk's end")
        let start = blockIndex * blockSizeBytes
        return start..<min(start + blockSizeBytes, diskSizeBytes)
    }

    /// Blocks covered by one node at `level` (leaves are level 0).
    func blocksPerNode(atLevel level: Int) -> UInt64 {
        var span = UInt64(leafFanout)
        for _ in 0..<level {
            span =
                span.multipliedReportingOverflow(by: UInt64(interiorFanout)).overflow
                ? UInt64.max : span * UInt64(interiorFanout)
        }
        return span
    }

    /// Entries a node at `level` may hold.
    func fanout(atLevel level: Int) -> Int { level == 0 ? leafFanout : interiorFanout }

    /// `64 KiB blocks × 16777216, 1099511627776 bytes, fan-out 64/256`.
    public var description: String {
        "\(blockSizeBytes / 1024) KiB blocks × \(blockCount), \(diskSizeBytes) bytes, "
            + "fan-out \(leafFanout)/\(interiorFanout)"
    }
}
