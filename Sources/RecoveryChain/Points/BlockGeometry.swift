/// Block-size rules shared by backup, restore and diff.
enum BlockGeometry {
    /// The smallest block size, 4 KiB.
    static let blockSizeMin = 4096
    /// The largest block size, 4 MiB.
    static let blockSizeMax = 4 << 20

    static func isValidBlockSize(_ n: Int) -> Bool {
        n >= blockSizeMin && n <= blockSizeMax && n & (n - 1) == 0
    }

    /// Blocks needed to cover `sizeBytes`.
    static func blockCount(sizeBytes: UInt64, blockSizeBytes: Int) -> UInt64 {
        (sizeBytes + UInt64(blockSizeBytes) - 1) / UInt64(blockSizeBytes)
    }

    /// The blocks touched by byte `ranges`, as sorted, coalesced spans of block indices,
    /// clipped to `blockCount`. Memory follows the number of ranges, not the disk's size.
    static func spans(touching ranges: [Range<UInt64>], blockSizeBytes: Int, blockCount: UInt64) -> BlockSpans {
        let b = UInt64(blockSizeBytes)
        var spans: [Range<UInt64>] = ranges.compactMap { r in
            guard !r.isEmpty else { return nil }
            let lo = r.lowerBound / b
            let hi = min((r.upperBound + b - 1) / b, blockCount)
            return lo < hi ? lo..<hi : nil
        }
        spans.sort { $0.lowerBound < $1.lowerBound }
        var merged: [Range<UInt64>] = []
        for s in spans {
            if let last = merged.last, s.lowerBound <= last.upperBound {
                merged[merged.count - 1] = last.lowerBound..<max(last.upperBound, s.upperBound)
            } else {
                merged.append(s)
            }
        }
        return BlockSpans(spans: merged)
    }
}

/// Sorted, non-overlapping spans of block indices with O(log n) membership.
struct BlockSpans: Sendable {
    let spans: [Range<UInt64>]

    func contains(_ block: UInt64) -> Bool {
        var lo = 0
        var hi = spans.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if spans[mid].upperBound <= block {
                lo = mid + 1
            } else {
                hi = mid
            }
        }
        return lo < spans.count && spans[lo].contains(block)
    }
}
