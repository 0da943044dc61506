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

    /// Block indices touched by `ranges` (sorted, unique), clipped to `blockCount`.
    static func blocks(touching ranges: [Range<UInt64>], blockSizeBytes: Int, blockCount: UInt64) -> [UInt64] {
        let b = UInt64(blockSizeBytes)
        var spans: [Range<UInt64>] = ranges.compactMap { r in
            guard !r.isEmpty else { return nil }
            let lo = r.lowerBound / b
            let hi = min((r.upperBound + b - 1) / b, blockCount)
            return lo < hi ? lo..<hi : nil
        }
        spans.sort { $0.lowerBound < $1.lowerBound }
        var out: [UInt64] = []
        var next: UInt64 = 0
        for s in spans {
            var i = max(s.lowerBound, next)
            while i < s.upperBound {
                out.append(i)
                i += 1
            }
            next = max(next, s.upperBound)
        }
        return out
    }
}
