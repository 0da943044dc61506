// DiffThroughput: the headline benchmark (S14). Diffs two points of a 1 TiB virtual disk at
// 64 KiB blocks (16,777,216 blocks, every block holding data) at several churn rates, scattered
// and clustered, against a flat baseline: two 32-byte-per-block digest arrays compared entry by
// entry (what a fixed index costs). Maps live in a MemoryNodeStore; every diff iteration starts
// with a fresh (cold) 64 MiB node cache.
//
//   BLOCKSNAP_BENCHMARKS=1 swift package --allow-writing-to-package-directory benchmark \
//       --target DiffThroughput
import Benchmark
import BlockSnap
import Foundation
import Synchronization

/// A node store that also counts encoded bytes, for map-size figures.
final class SizedStore: NodeStore {
    let inner = MemoryNodeStore()
    let totals = Mutex<(nodes: Int, bytes: Int)>((0, 0))
    func putNode(_ node: StoreNode) async throws -> ChunkID {
        totals.withLock {
            $0.nodes += 1
            $0.bytes += node.encodedByteCount
        }
        return inner.putNodeSync(node)
    }
    func node(_ id: ChunkID) async throws -> StoreNode { try inner.nodeSync(id) }
}

struct Rng {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func id() -> ChunkID {
        var words = (next(), next(), next(), next() | 1)
        return withUnsafeBytes(of: &words) { ChunkID(loadingFrom: $0.baseAddress!) }
    }
}

/// Progress notes on standard error (not part of the results).
func note(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

enum Pattern: String { case scattered, clustered }

/// Sorted block indices changed by a churn rate and pattern.
func changedBlocks(count: Int, churn: Double, pattern: Pattern, seed: UInt64) -> [Int] {
    var rng = Rng(state: seed)
    let k = Int(Double(count) * churn)
    if k == 0 { return [] }
    if k >= count { return Array(0..<count) }
    switch pattern {
    case .scattered:
        if churn >= 0.05 {
            let threshold = UInt64(churn * Double(UInt64.max))
            return (0..<count).filter { _ in rng.next() < threshold }
        }
        var set = Set<Int>(minimumCapacity: k)
        while set.count < k { set.insert(Int(rng.next() % UInt64(count))) }
        return set.sorted()
    case .clustered:
        // Runs of 256 blocks (16 MiB at 64 KiB blocks), like a file rewritten in place.
        let run = 256
        var starts = Set<Int>()
        while starts.count * run < k { starts.insert(Int(rng.next() % UInt64(count / run)) * run) }
        return starts.sorted().flatMap { $0..<($0 + run) }
    }
}

/// The shared 1 TiB base point and its flat twin.
final class Fixture: @unchecked Sendable {
    static let diskSizeBytes: UInt64 = 1 << 40
    static let blockSizeBytes: UInt64 = 64 << 10
    let store = SizedStore()
    let base: BlockMap
    let baseFlat: [ChunkID]
    var target: BlockMap
    var targetFlat: [ChunkID]
    /// Median of three runs of the flat baseline on the current target, in microseconds.
    var flatBaselineMicros = 0

    nonisolated(unsafe) static var shared: [Int: Fixture] = [:]

    init(leafFanout: Int) async throws {
        let clock = ContinuousClock()
        let t0 = clock.now
        let count = Int(Fixture.diskSizeBytes / Fixture.blockSizeBytes)
        var rng = Rng(state: 42)
        var flat = [ChunkID]()
        flat.reserveCapacity(count)
        for _ in 0..<count { flat.append(rng.id()) }
        baseFlat = flat
        let geometry = try BlockMapGeometry(
            diskSizeBytes: Fixture.diskSizeBytes,
            blockSizeBytes: Fixture.blockSizeBytes, leafFanout: leafFanout)
        var builder = try await BlockMapBuilder(
            base: nil, geometry: geometry,
            reader: BlockMapReader(store: store))
        for (i, id) in flat.enumerated() { try await builder.set(blockIndex: UInt64(i), to: id) }
        base = try await builder.finish()
        note("fixture: flat + full 1 TiB map (\(builder.nodesWritten) nodes) in \(clock.now - t0)")
        target = base
        targetFlat = baseFlat
    }

    /// The fixture of this process (each benchmark runs in its own process).
    static func get(leafFanout: Int = BlockMapGeometry.defaultLeafFanout) async throws -> Fixture {
        if let f = shared[leafFanout] { return f }
        let f = try await Fixture(leafFanout: leafFanout)
        shared[leafFanout] = f
        return f
    }

    /// Makes the target point for one case (tree built incrementally, flat twin mutated).
    func prepare(churn: Double, pattern: Pattern) async throws {
        let clock = ContinuousClock()
        let t0 = clock.now
        let blocks = changedBlocks(count: baseFlat.count, churn: churn, pattern: pattern, seed: 7)
        var rng = Rng(state: 99)
        var flat = baseFlat
        for b in blocks { flat[b] = rng.id() }
        targetFlat = flat
        target = try await BlockMap.build(
            base: base,
            changes: blocks.lazy.map { (blockIndex: UInt64($0), id: flat[$0]) }, in: store)
        note("fixture: target with \(blocks.count) changed blocks in \(clock.now - t0)")
        var times: [Int] = []
        for _ in 0..<3 {
            let t = clock.now
            blackHole(flatDiff(baseFlat, targetFlat, blockSizeBytes: Fixture.blockSizeBytes))
            let e = clock.now - t
            times.append(Int(e.components.seconds * 1_000_000 + e.components.attoseconds / 1_000_000_000_000))
        }
        flatBaselineMicros = times.sorted()[1]
        note("fixture: flat baseline \(times) µs")
        if ProcessInfo.processInfo.environment["DIFF_DIAG"] != nil {
            let cache = NodeCache(capacityBytes: 1 << 30)
            let reader = BlockMapReader(store: store, cache: cache)
            for label in ["cold", "warm", "warm"] {
                let t = clock.now
                let page = try await reader.diff(from: base, to: target, maxResults: 100_000)
                note("diag: \(label) diff \(page.ranges.count) ranges in \(clock.now - t) \(cache.statistics)")
            }
            var t = clock.now
            var n = 0
            for b in blocks { n &+= (try? store.inner.nodeSync(base.rootID))?.entries.count ?? 0; _ = b }
            note("diag: \(blocks.count) store lookups in \(clock.now - t)")
            t = clock.now
            let r = flatDiff(baseFlat, targetFlat, blockSizeBytes: Fixture.blockSizeBytes)
            note("diag: flat \(r.count) in \(clock.now - t)")
        }
    }
}

/// The tree diff, all pages, through a cold cache. Returns the range count.
func treeDiff(_ f: Fixture) async throws -> Int {
    // Read through the MemoryNodeStore itself, so the synchronous in-memory walk applies.
    let reader = BlockMapReader(store: f.store.inner, cache: NodeCache())
    var marker: DiffMarker? = nil
    var n = 0
    repeat {
        let page = try await reader.diff(from: f.base, to: f.target, marker: marker)
        n += page.ranges.count
        marker = page.nextMarker
    } while marker != nil
    return n
}

/// The flat baseline: compare two digest arrays entry by entry, coalescing into ranges.
func flatDiff(_ a: [ChunkID], _ b: [ChunkID], blockSizeBytes: UInt64) -> [PageRange] {
    var out: [PageRange] = []
    var runStart = -1
    a.withUnsafeBufferPointer { pa in
        b.withUnsafeBufferPointer { pb in
            for i in 0..<pa.count {
                if pa[i] != pb[i] {
                    if runStart < 0 { runStart = i }
                } else if runStart >= 0 {
                    out.append(
                        PageRange(
                            UInt64(runStart) * blockSizeBytes..<UInt64(i) * blockSizeBytes,
                            kind: .changed))
                    runStart = -1
                }
            }
        }
    }
    if runStart >= 0 {
        out.append(
            PageRange(
                UInt64(runStart) * blockSizeBytes..<UInt64(a.count) * blockSizeBytes,
                kind: .changed))
    }
    return out
}

let ranges = BenchmarkMetric.custom("ranges", polarity: .prefersLarger, useScalingFactor: false)
let flatMicros = BenchmarkMetric.custom("flatBaselineMicros", useScalingFactor: false)
let nodesWritten = BenchmarkMetric.custom("nodesWritten", useScalingFactor: false)

let benchmarks: @Sendable () -> Void = {
    let config = Benchmark.Configuration(
        metrics: [.wallClock, .peakMemoryResident, .peakMemoryResidentDelta, ranges, flatMicros],
        timeUnits: .microseconds, warmupIterations: 1, maxDuration: .seconds(4), maxIterations: 15)

    let cases: [(Double, Pattern)] = [
        (0, .scattered), (0.0001, .scattered), (0.001, .scattered), (0.01, .scattered),
        (0.1, .scattered), (1, .scattered), (0.001, .clustered), (0.01, .clustered),
        (0.1, .clustered),
    ]
    /// One tree-diff case: the fixture with `leaf`-entry leaves, its target at `churn`.
    func treeDiffBenchmark(_ name: String, leaf: Int, churn: Double, pattern: Pattern) {
        Benchmark(name, configuration: config) { benchmark in
            let f = try await Fixture.get(leafFanout: leaf)
            for _ in benchmark.scaledIterations {
                let n = try await treeDiff(f)
                benchmark.measurement(ranges, n)
                benchmark.measurement(flatMicros, f.flatBaselineMicros)
                blackHole(n)
            }
        } setup: {
            try await Fixture.get(leafFanout: leaf).prepare(churn: churn, pattern: pattern)
        }
    }

    for (churn, pattern) in cases {
        treeDiffBenchmark(
            "Tree diff 1 TiB/64 KiB \(churn * 100)% \(pattern.rawValue)",
            leaf: BlockMapGeometry.defaultLeafFanout, churn: churn, pattern: pattern)
    }

    // Leaf fan-out by measurement: the same diffs with 16- and 256-entry leaves.
    for leaf in [16, 256] {
        for (churn, pattern) in [(0.001, Pattern.scattered), (1.0, Pattern.scattered)] {
            treeDiffBenchmark(
                "Tree diff 1 TiB/64 KiB \(churn * 100)% \(pattern.rawValue), leaf fan-out \(leaf)",
                leaf: leaf, churn: churn, pattern: pattern)
        }
    }

    Benchmark(
        "Incremental build 1 TiB/64 KiB 1% scattered",
        configuration: .init(
            metrics: [.wallClock, .peakMemoryResidentDelta, nodesWritten],
            timeUnits: .milliseconds, maxDuration: .seconds(5), maxIterations: 5)
    ) { benchmark in
        let f = try await Fixture.get()
        let blocks = changedBlocks(count: f.baseFlat.count, churn: 0.01, pattern: .scattered, seed: 3)
        var rng = Rng(state: 5)
        let ids = blocks.map { _ in rng.id() }
        for _ in benchmark.scaledIterations {
            benchmark.startMeasurement()
            let store = f.store
            var builder = try await BlockMapBuilder(
                base: f.base, geometry: f.base.geometry,
                reader: BlockMapReader(store: store, cache: NodeCache()))
            for (k, b) in blocks.enumerated() { try await builder.set(blockIndex: UInt64(b), to: ids[k]) }
            let map = try await builder.finish()
            benchmark.stopMeasurement()
            benchmark.measurement(nodesWritten, builder.nodesWritten)
            blackHole(map)
        }
    } setup: {
        _ = try await Fixture.get()
    }

    // Block-size trade-off: a fully written 16 GiB disk at 4, 16 and 64 KiB blocks, then 1 %
    // of its blocks rewritten at random. Figures scale linearly to 1 TiB (× 64).
    for kib in [4, 16, 64] {
        let mapBytes = BenchmarkMetric.custom("mapKiBPer16GiB", useScalingFactor: false)
        let perChange = BenchmarkMetric.custom("nodesWrittenPer100Changes", useScalingFactor: false)
        let bytesPerChange = BenchmarkMetric.custom("nodeBytesWrittenPerChange", useScalingFactor: false)
        Benchmark(
            "Block size trade-off \(kib) KiB (16 GiB disk, 1% churn)",
            configuration: .init(
                metrics: [.wallClock, mapBytes, perChange, bytesPerChange],
                timeUnits: .milliseconds, maxDuration: .seconds(1), maxIterations: 1)
        ) { benchmark in
            let size: UInt64 = 16 << 30
            let bs = UInt64(kib) << 10
            let count = Int(size / bs)
            let store = SizedStore()
            var rng = Rng(state: 11)
            let full = try await BlockMap.build(
                base: nil,
                changes: (0..<count).lazy.map { (blockIndex: UInt64($0), id: rng.id()) },
                newDiskSizeBytes: size, blockSizeBytes: bs, in: store)
            let fullBytes = store.totals.withLock { $0.bytes }
            benchmark.measurement(mapBytes, fullBytes / 1024)
            let blocks = changedBlocks(count: count, churn: 0.01, pattern: .scattered, seed: 2)
            let before = store.totals.withLock { $0 }
            var builder = try await BlockMapBuilder(
                base: full, geometry: full.geometry,
                reader: BlockMapReader(store: store))
            for b in blocks { try await builder.set(blockIndex: UInt64(b), to: rng.id()) }
            _ = try await builder.finish()
            let after = store.totals.withLock { $0 }
            benchmark.measurement(perChange, (after.nodes - before.nodes) * 100 / blocks.count)
            benchmark.measurement(bytesPerChange, (after.bytes - before.bytes) / blocks.count)
        }
    }
}
