import Testing

@testable import RecoveryChain

@Suite struct BlockSpansTests {
    @Test(arguments: [1 as UInt64, 2, 3, 4, 5])
    func spansContainExactlyTheBlocksTheRangesTouch(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        let blockSize = 4096
        let blockCount: UInt64 = 300
        let ranges: [Range<UInt64>] = (0..<Int(rng.next() % 40)).map { _ in
            let start = rng.next() % (blockCount * 4096 + 8192)
            return start..<(start + rng.next() % 30_000)
        }
        // The oracle: every block any range touches, one by one.
        var expected = Set<UInt64>()
        for r in ranges where !r.isEmpty {
            var b = r.lowerBound / 4096
            while b * 4096 < r.upperBound && b < blockCount {
                expected.insert(b)
                b += 1
            }
        }
        let spans = BlockGeometry.spans(touching: ranges, blockSizeBytes: blockSize, blockCount: blockCount)
        for b in 0..<(blockCount + 5) {
            #expect(spans.contains(b) == expected.contains(b), "seed \(seed): block \(b)")
        }
        #expect(
            zip(spans.spans, spans.spans.dropFirst()).allSatisfy { $0.upperBound < $1.lowerBound },
            "seed \(seed): spans coalesced and sorted")
    }
}
