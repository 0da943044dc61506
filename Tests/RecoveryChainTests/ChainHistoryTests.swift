import BlockStore
import Foundation
import RecoveryChain
import Testing

/// Seeded random histories: every point restores bit-exact against a plain copy of the disk
/// taken at that point, before and after random expiries in any order; diffs equal a
/// brute-force block comparison of the copies.
@Suite struct ChainHistoryTests {
    static let blockSize = 4096

    @Test(arguments: [1 as UInt64, 2, 3, 4])
    func randomHistoriesRestoreBitExactThroughRandomExpiries(seed: UInt64) async throws {
        var rng = SeededGenerator(seed: seed)
        let scratch = ScratchDirectory()
        let backend = MemoryBackend()
        let store = try await ChunkStore.create(
            on: backend, encryption: seed % 2 == 0 ? .passphrase("pw") : .none, options: testOptions())
        let chains = ChainStore(store: store, workerCount: 3)
        // Two disks; sizes multiples of 512 but not of the block size (partial last block).
        var disks: [[UInt8]] = [
            [UInt8](repeating: 0, count: 300 * Self.blockSize + 1536),
            [UInt8](repeating: 0, count: 64 * Self.blockSize + 512),
        ]
        _ = Churn.clustered(&disks[0], length: 200_000, rng: &rng)
        var oracles: [PointID: [[UInt8]]] = [:]
        var order: [PointID] = []
        for step in 0..<8 {
            var tracked: [[Range<UInt64>]] = [[], []]
            for d in 0..<2 {
                switch rng.next() % 5 {
                case 0: tracked[d] = Churn.scattered(&disks[d], count: 1 + Int(rng.next() % 40), rng: &rng)
                case 1: tracked[d] = Churn.clustered(&disks[d], length: 1 + Int(rng.next() % 60_000), rng: &rng)
                case 2: tracked[d] = Churn.zeroing(&disks[d], length: 1 + Int(rng.next() % 80_000), rng: &rng)
                case 3:  // grow or shrink by whole pages
                    let newSize = max(8 * 512, disks[d].count + (Int(rng.next() % 64) - 32) * 512)
                    if newSize > disks[d].count {
                        tracked[d] = [UInt64(disks[d].count)..<UInt64(newSize)]
                        disks[d] += [UInt8](repeating: 0, count: newSize - disks[d].count)
                        tracked[d] += Churn.scattered(&disks[d], count: 3, rng: &rng)
                    } else {
                        disks[d].removeLast(disks[d].count - newSize)
                        tracked[d] = Churn.scattered(&disks[d], count: 2, rng: &rng)
                    }
                default: tracked[d] = []
                }
            }
            // Alternate: host change tracking, or read-and-compare.
            let useTracking = step > 0 && rng.next() % 2 == 0
            let since = order.last
            var request = BackupRequest(
                item: "vm",
                disks: (0..<2).map {
                    DiskInput(
                        disk: DiskIndex($0), source: MemoryDiskSource(bytes: disks[$0]),
                        changes: useTracking ? TrackedChanges(since: since, ranges: tracked[$0]) : nil)
                })
            request.blockSizeBytes = Self.blockSize
            request.time = Date(timeIntervalSince1970: 1_800_000_000 + Double(step) * 3600)
            let result = try await chains.backup(request)
            oracles[result.point.id] = disks
            order.append(result.point.id)
        }

        func checkAll(_ context: String) async throws {
            for point in try await chains.points(item: "vm") {
                for d in 0..<2 {
                    let bytes = try await restoredBytes(
                        chains, item: "vm", point: point.id, disk: DiskIndex(d), scratch: scratch)
                    #expect(
                        bytes == oracles[point.id]![d], "seed \(seed) \(context): point \(point.id) disk \(d) differs")
                }
            }
        }
        try await checkAll("before expiry")

        // Diffs between random pairs (same sizes) against a brute-force block comparison.
        for _ in 0..<6 {
            let a = order[Int(rng.next() % UInt64(order.count))]
            let b = order[Int(rng.next() % UInt64(order.count))]
            for d in 0..<2 where oracles[a]![d].count == oracles[b]![d].count {
                let page = try await chains.diff(item: "vm", from: a, to: b, disk: DiskIndex(d), maxResults: 10_000)
                let expected = bruteForce(from: oracles[a]![d], to: oracles[b]![d])
                #expect(
                    page.ranges.map { "\($0.kind)@\($0.range)" } == expected, "seed \(seed): diff \(a)→\(b) disk \(d)")
            }
        }

        // Random expiries in any order (never the latest), checking everything after each.
        var remaining = order
        while remaining.count > 1 {
            let victim = remaining[Int(rng.next() % UInt64(remaining.count - 1))]
            try await chains.expire(item: "vm", point: victim)
            remaining.removeAll { $0 == victim }
            try await checkAll("after expiring \(victim)")
        }
        try await store.close()
        let gc = try await ChunkStore.open(
            on: backend, passphrase: seed % 2 == 0 ? "pw" : nil, options: testOptions(lock: .exclusive))
        _ = try await gc.collectGarbage()
        let verify = try await gc.verify()
        #expect(verify.isClean, "seed \(seed): \(verify)")
        let after = ChainStore(store: gc)
        for d in 0..<2 {
            #expect(
                try await restoredBytes(after, item: "vm", point: remaining[0], disk: DiskIndex(d), scratch: scratch)
                    == oracles[remaining[0]]![d], "seed \(seed) after GC")
        }
        try await gc.close()
    }

    /// Coalesced block-level ranges between two equal-size disks: changed where the target block
    /// differs and holds data, cleared where it differs and is all zeros.
    func bruteForce(from a: [UInt8], to b: [UInt8]) -> [String] {
        var out: [(String, Range<UInt64>)] = []
        var offset = 0
        while offset < b.count {
            let end = min(offset + Self.blockSize, b.count)
            if a[offset..<end] != b[offset..<end] {
                let kind = b[offset..<end].allSatisfy({ $0 == 0 }) ? "cleared" : "changed"
                let r = UInt64(offset)..<UInt64(end)
                if let last = out.last, last.0 == kind, last.1.upperBound == r.lowerBound {
                    out[out.count - 1].1 = last.1.lowerBound..<r.upperBound
                } else {
                    out.append((kind, r))
                }
            }
            offset = end
        }
        return out.map { "\($0.0)@\($0.1)" }
    }
}
