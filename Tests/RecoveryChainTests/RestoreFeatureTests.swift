import BlockStore
import Foundation
import RecoveryChain
import Testing

/// S20: in-place revert, the random-access reader.
@Suite struct RestoreFeatureTests {
    static let blockSize = 4096

    /// A chain of three points over one disk with a partial last block.
    func history(seed: UInt64) async throws -> (ChainStore, [PointID], [[UInt8]]) {
        var rng = SeededGenerator(seed: seed)
        let store = try await ChunkStore.create(
            on: MemoryBackend(), encryption: .passphrase("pw"), options: testOptions())
        let chains = ChainStore(store: store, workerCount: 2)
        var disk = [UInt8](repeating: 0, count: 200 * Self.blockSize + 1536)
        _ = Churn.clustered(&disk, length: 500_000, rng: &rng)
        var ids: [PointID] = []
        var states: [[UInt8]] = []
        for step in 0..<3 {
            if step > 0 {
                _ = Churn.scattered(&disk, count: 30, rng: &rng)
                _ = Churn.clustered(&disk, length: 40_000, rng: &rng)
                _ = Churn.zeroing(&disk, length: 30_000, rng: &rng)
                // The partial last block changes too.
                disk[disk.count - 3] = UInt8(truncatingIfNeeded: rng.next()) | 1
            }
            var request = BackupRequest(item: "vm", disks: [DiskInput(disk: 0, source: MemoryDiskSource(bytes: disk))])
            request.blockSizeBytes = Self.blockSize
            request.time = Date(timeIntervalSince1970: 1_800_000_000 + Double(step) * 3600)
            ids.append(try await chains.backup(request).point.id)
            states.append(disk)
        }
        return (chains, ids, states)
    }

    /// Blocks whose bytes differ between two equal-size disks.
    func differingBlocks(_ a: [UInt8], _ b: [UInt8]) -> (changed: Int, cleared: Int) {
        var changed = 0
        var cleared = 0
        var offset = 0
        while offset < b.count {
            let end = min(offset + Self.blockSize, b.count)
            if a[offset..<end] != b[offset..<end] {
                if b[offset..<end].allSatisfy({ $0 == 0 }) { cleared += 1 } else { changed += 1 }
            }
            offset = end
        }
        return (changed, cleared)
    }

    @Test(arguments: [(2, 0), (0, 2), (2, 1)])
    func anInPlaceRevertWritesOnlyTheBlocksThatDifferAndEndsBitExact(from: Int, to: Int) async throws {
        let seed: UInt64 = 20
        let (chains, ids, states) = try await history(seed: seed)
        let scratch = ScratchDirectory()
        let path = scratch.file("target.img")
        _ = try await chains.restore(item: "vm", point: ids[from], disk: 0, to: path)

        let page = try await chains.diff(item: "vm", from: ids[from], to: ids[to], disk: 0)
        func blocks(_ kind: String) -> Int {
            page.ranges.filter { "\($0.kind)" == kind }.reduce(0) { sum, r in
                let lo = r.range.lowerBound / UInt64(Self.blockSize)
                let hi = (r.range.upperBound + UInt64(Self.blockSize) - 1) / UInt64(Self.blockSize)
                return sum + Int(hi - lo)
            }
        }
        let expected = differingBlocks(states[from], states[to])
        #expect(
            blocks("changed") == expected.changed && blocks("cleared") == expected.cleared,
            "seed \(seed): the diff disagrees with the oracle")

        let result = try await chains.restoreInPlace(
            item: "vm", point: ids[to], disk: 0, target: path, holding: ids[from])
        #expect(
            result.blocksWritten == blocks("changed"),
            "seed \(seed) \(from)→\(to): wrote \(result.blocksWritten) blocks")
        #expect(
            result.blocksZeroed == blocks("cleared"), "seed \(seed) \(from)→\(to): zeroed \(result.blocksZeroed) blocks"
        )
        #expect(try readFile(path) == states[to], "seed \(seed) \(from)→\(to): the reverted file differs")
    }

    @Test func anInPlaceRevertAcrossADiskResizeEndsBitExact() async throws {
        let seed: UInt64 = 22
        var rng = SeededGenerator(seed: seed)
        let store = try await ChunkStore.create(on: MemoryBackend(), encryption: .none, options: testOptions())
        let chains = ChainStore(store: store, workerCount: 2)
        var disk = [UInt8](repeating: 0, count: 40 * Self.blockSize + 512)
        _ = Churn.clustered(&disk, length: disk.count, rng: &rng)
        var states: [[UInt8]] = []
        var ids: [PointID] = []
        for grow in [0, 9 * Self.blockSize + 1024, -(20 * Self.blockSize)] {
            if grow > 0 {
                disk += [UInt8](repeating: 0, count: grow)
                for i in (disk.count - grow)..<(disk.count - 700) {
                    disk[i] = UInt8(truncatingIfNeeded: rng.next()) | 1
                }
            } else if grow < 0 {
                disk.removeLast(-grow)
            }
            _ = Churn.scattered(&disk, count: 4, rng: &rng)
            var request = BackupRequest(item: "vm", disks: [DiskInput(disk: 0, source: MemoryDiskSource(bytes: disk))])
            request.blockSizeBytes = Self.blockSize
            ids.append(try await chains.backup(request).point.id)
            states.append(disk)
        }
        let scratch = ScratchDirectory()
        for (from, to) in [(0, 1), (1, 0), (1, 2), (2, 1), (2, 0)] {
            let path = scratch.file("t\(from)\(to).img")
            _ = try await chains.restore(item: "vm", point: ids[from], disk: 0, to: path)
            _ = try await chains.restoreInPlace(item: "vm", point: ids[to], disk: 0, target: path, holding: ids[from])
            #expect(
                try readFile(path) == states[to],
                "seed \(seed): \(from)→\(to) (\(states[from].count) → \(states[to].count) bytes)")
        }
    }

    @Test func theRandomAccessReaderMatchesTheOracleAnywhere() async throws {
        let seed: UInt64 = 21
        var rng = SeededGenerator(seed: seed + 1000)
        let (chains, ids, states) = try await history(seed: seed)
        for (index, id) in ids.enumerated() {
            let reader = try await chains.reader(item: "vm", point: id, disk: 0)
            let oracle = states[index]
            #expect(reader.sizeBytes == UInt64(oracle.count))
            var cases: [(offset: Int, length: Int)] = [
                (0, 512),
                (Self.blockSize - 100, 300),  // across a block boundary
                (5 * Self.blockSize - 1, 2 * Self.blockSize + 2),  // across three blocks
                (oracle.count - 1536, 1536),  // the partial last block
                (oracle.count - 2000, 4096),  // past the end: a short read
                (oracle.count, 10),  // at the end: nothing
            ]
            for _ in 0..<40 {
                let offset = Int(rng.next() % UInt64(oracle.count))
                cases.append((offset, 1 + Int(rng.next() % UInt64(3 * Self.blockSize))))
            }
            for (offset, length) in cases {
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: length, alignment: 8)
                defer { buffer.deallocate() }
                let n = try await reader.read(at: UInt64(offset), into: buffer)
                let expected = Array(oracle[offset..<min(offset + length, oracle.count)])
                #expect(n == expected.count, "seed \(seed) point \(index): read \(n) of \(length) at \(offset)")
                #expect(
                    Array(buffer.prefix(n)) == expected,
                    "seed \(seed) point \(index): bytes at \(offset)+\(length) differ")
            }
            let one = UnsafeMutableRawBufferPointer.allocate(byteCount: 1, alignment: 1)
            defer { one.deallocate() }
            await #expect(throws: RecoveryChainError.self, "an offset past the end is refused") {
                _ = try await reader.read(at: UInt64(oracle.count + 1), into: one)
            }
        }
    }
}
