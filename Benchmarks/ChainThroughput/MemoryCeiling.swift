// Memory ceiling (issue 14, goal 5): peak resident memory of backup, incremental (host-tracked
// ranges, and read-and-compare), restore and diff, on a 1 GiB image and on a 64 GiB sparse
// image (a few GiB of data, the rest holes), at 64 KiB and 16 KiB blocks. The ceiling asked
// for is 128 MiB whatever the disk's size.
//
//   BLOCKSNAP_BENCHMARKS=1 swift package --scratch-path .build-bench \
//     --allow-writing-to-package-directory benchmark --target ChainThroughput --filter "memory.*"
//
// Each benchmark runs in its own process. Three figures per benchmark:
// - `opPeakRSSMiB`: the peak resident set of the measured operation alone (the kernel's high
//   water mark, reset with /proc/self/clear_refs after the setup's memory was trimmed);
// - `peakMemoryResident`: the whole process's peak as the harness samples it (setup included);
// - `mallocCountTotal`.
// Fixtures (images, a store with a full point and a tracked incremental) are made once per
// configuration and kept in $TMPDIR/blocksnap-bench-memory; BLOCKSNAP_BENCH_SPARSE_DATA_MIB sets
// the sparse image's data (default 2048 MiB).
import Benchmark
import BenchmarkSupport
import BlockSnap
import BlockStoreTesting
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The peak resident set of one operation, from the kernel's high-water mark (Linux).
enum OperationPeak {
    /// Returns freed heap to the system and resets the process's high-water mark to what is
    /// resident now, so the next ``peakMiB()`` covers what follows only.
    static func reset() {
        // glibc's malloc_trim (not in the Glibc module map): found at run time.
        if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") {
            typealias Trim = @convention(c) (Int) -> Int32
            _ = unsafeBitCast(symbol, to: Trim.self)(0)
        }
        try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
    }

    /// The process's resident high-water mark (VmHWM) in MiB since the last reset, 0 where the
    /// system does not report it.
    static func peakMiB() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let kib = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
            return (kib + 1023) / 1024
        }
        return 0
    }
}

/// One disk and block size the memory benchmarks run on.
struct MemoryCase: Sendable {
    /// "1 GiB" or "64 GiB sparse".
    let label: String
    let sparse: Bool
    let blockKiB: Int

    static let dir = FileManager.default.temporaryDirectory.appendingPathComponent("blocksnap-bench-memory").path
    static let sparseDataMiB =
        Int(ProcessInfo.processInfo.environment["BLOCKSNAP_BENCH_SPARSE_DATA_MIB"] ?? "2048") ?? 2048
    /// The sparse image's size.
    static let sparseSizeMiB = 64 * 1024
    /// The sparse image's data lies in extents of this size, spread evenly over the disk.
    static let extentMiB = 64

    var key: String { "\(sparse ? "sparse64g" : "mixed1g")-\(blockKiB)k" }
    var imagePath: String { "\(MemoryCase.dir)/\(sparse ? "sparse64g" : "mixed1g").img" }
    var name: String { "\(label), \(blockKiB) KiB blocks" }

    /// The byte ranges of the image that hold data.
    var dataExtents: [Range<UInt64>] {
        guard sparse else { return [0..<(UInt64(sizeMiB) << 20)] }
        let count = max(1, MemoryCase.sparseDataMiB / MemoryCase.extentMiB)
        let stride = UInt64(MemoryCase.sparseSizeMiB / count) << 20
        let length = UInt64(MemoryCase.extentMiB) << 20
        return (0..<count).map { UInt64($0) * stride..<(UInt64($0) * stride + length) }
    }

    /// Writes the image once (kept between runs).
    func makeImage() throws {
        try FileManager.default.createDirectory(atPath: MemoryCase.dir, withIntermediateDirectories: true)
        let stamp = imagePath + ".done"
        if FileManager.default.fileExists(atPath: stamp) { return }
        if !sparse {
            try MixedImage.write(to: imagePath, sizeMiB: sizeMiB, blockSize: 64 * 1024)
        } else {
            try? FileManager.default.removeItem(atPath: imagePath)
            let fd = open(imagePath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            guard fd >= 0 else { throw BenchFailure("cannot create \(imagePath)") }
            defer { close(fd) }
            guard ftruncate(fd, off_t(MemoryCase.sparseSizeMiB) << 20) == 0 else {
                throw BenchFailure("cannot size \(imagePath)")
            }
            // Text-like and random 64 KiB blocks in turn (a third would compress to nothing in
            // the 1 GiB image; here every block written holds data).
            var rng = SplitMix64(seed: 11)
            let words = ["disk ", "block ", "snapshot ", "page ", "range ", "chain ", "\n"].map { Array($0.utf8) }
            var block = [UInt8](repeating: 0, count: 64 * 1024)
            var i = 0
            for extent in dataExtents {
                var offset = extent.lowerBound
                while offset < extent.upperBound {
                    if i % 2 == 0 {
                        var o = 0
                        while o < block.count {
                            for b in words[Int(rng.next() % 7)] where o < block.count {
                                block[o] = b
                                o += 1
                            }
                        }
                    } else {
                        block.withUnsafeMutableBytes { raw in
                            let w = raw.bindMemory(to: UInt64.self)
                            for k in w.indices { w[k] = rng.next() }
                        }
                    }
                    let written = block.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(offset)) }
                    guard written == block.count else { throw BenchFailure("short write to \(imagePath)") }
                    offset += UInt64(block.count)
                    i += 1
                }
            }
            fsync(fd)
        }
        FileManager.default.createFile(atPath: stamp, contents: nil)
    }

    /// 1 % of the 4 KiB pages holding data rewritten with random bytes; returns the ranges.
    func scatterPages(seed: UInt64) throws -> [Range<UInt64>] {
        let fd = open(imagePath, O_WRONLY)
        guard fd >= 0 else { throw BenchFailure("cannot open \(imagePath)") }
        defer { close(fd) }
        var rng = SplitMix64(seed: seed)
        let extents = dataExtents
        let pagesPerExtent = (extents[0].upperBound - extents[0].lowerBound) / 4096
        let total = pagesPerExtent * UInt64(extents.count)
        var chosen = Set<UInt64>()
        while chosen.count < Int(total / 100) { chosen.insert(rng.next() % total) }
        var page = [UInt64](repeating: 0, count: 512)
        var ranges: [Range<UInt64>] = []
        for p in chosen.sorted() {
            let offset = extents[Int(p / pagesPerExtent)].lowerBound + (p % pagesPerExtent) * 4096
            for k in page.indices { page[k] = rng.next() }
            _ = page.withUnsafeBytes { pwrite(fd, $0.baseAddress, 4096, off_t(offset)) }
            ranges.append(offset..<(offset + 4096))
        }
        return ranges
    }

    func openStore(_ name: String, create: Bool) async throws -> ChunkStore {
        let path = "\(MemoryCase.dir)/\(name)-\(key)"
        var options = ChunkStoreOptions()
        options.keyDerivation = .fastForTesting
        if create {
            try? FileManager.default.removeItem(atPath: path)
            return try await ChunkStore.create(
                on: try LocalDirectoryBackend(root: path), encryption: .passphrase("bench"), options: options)
        }
        return try await ChunkStore.open(
            on: try LocalDirectoryBackend(root: path), passphrase: "bench", options: options)
    }

    func request(_ changed: [Range<UInt64>]? = nil, since: PointID? = nil) throws -> BackupRequest {
        var r = BackupRequest(
            item: "vm",
            disks: [
                DiskInput(
                    disk: 0, source: try FileDiskSource(path: imagePath),
                    changes: changed.map { TrackedChanges(since: since, ranges: $0) })
            ])
        r.blockSizeBytes = blockKiB * 1024
        return r
    }

    /// The shared store: a full point, then a tracked incremental (made once, kept); returns
    /// the first and the latest point.
    func fixture() async throws -> (store: ChunkStore, first: PointID, latest: PointID) {
        try makeImage()
        let idsPath = "\(MemoryCase.dir)/points-\(key).txt"
        if let text = try? String(contentsOfFile: idsPath, encoding: .utf8) {
            let ids = text.split(separator: "\n").map(String.init)
            if ids.count == 2 {
                let store = try await openStore("base", create: false)
                return (store, PointID(rawValue: ids[0]), PointID(rawValue: ids[1]))
            }
        }
        let store = try await openStore("base", create: true)
        let chains = ChainStore(store: store)
        let first = try await chains.backup(try request()).point.id
        let latest = try await chains.backup(try request(try scatterPages(seed: 5), since: first)).point.id
        try "\(first.rawValue)\n\(latest.rawValue)".write(toFile: idsPath, atomically: true, encoding: .utf8)
        return (store, first, latest)
    }
}

struct BenchFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

let opPeakRSSMiB = BenchmarkMetric.custom("opPeakRSSMiB", polarity: .prefersSmaller, useScalingFactor: false)

/// Runs `body` as the measured operation and records its own peak resident set.
func measurePeak(_ benchmark: Benchmark, _ body: () async throws -> Void) async throws {
    OperationPeak.reset()
    benchmark.startMeasurement()
    try await body()
    benchmark.stopMeasurement()
    benchmark.measurement(opPeakRSSMiB, OperationPeak.peakMiB())
}

/// Registers the memory-ceiling benchmarks (called from ChainThroughput's registration).
func registerMemoryCeilingBenchmarks() {
    let config = Benchmark.Configuration(
        metrics: [.wallClock, .peakMemoryResident, .mallocCountTotal, opPeakRSSMiB],
        timeUnits: .milliseconds, warmupIterations: 0, maxDuration: .seconds(30), maxIterations: 2)
    var cases: [MemoryCase] = []
    for blockKiB in [64, 16] {
        cases.append(MemoryCase(label: "1 GiB", sparse: false, blockKiB: blockKiB))
        cases.append(MemoryCase(label: "64 GiB sparse", sparse: true, blockKiB: blockKiB))
    }
    for c in cases {
        Benchmark("memory: full backup, \(c.name)", configuration: config) { benchmark in
            try c.makeImage()
            let store = try await c.openStore("full", create: true)
            try await measurePeak(benchmark) {
                _ = try await ChainStore(store: store).backup(try c.request())
            }
            try await store.close()
        }
        Benchmark("memory: incremental, host changed ranges, \(c.name)", configuration: config) { benchmark in
            let (store, _, _) = try await c.fixture()
            let chains = ChainStore(store: store)
            let since = try await chains.points(item: "vm").last!.id
            let changed = try c.scatterPages(seed: 100 + UInt64(benchmark.currentIteration))
            try await measurePeak(benchmark) {
                _ = try await chains.backup(try c.request(changed, since: since))
            }
            try await store.close()
        }
        Benchmark("memory: incremental, read and compare, \(c.name)", configuration: config) { benchmark in
            let (store, _, _) = try await c.fixture()
            let chains = ChainStore(store: store)
            _ = try c.scatterPages(seed: 200 + UInt64(benchmark.currentIteration))
            try await measurePeak(benchmark) {
                _ = try await chains.backup(try c.request())
            }
            try await store.close()
        }
        Benchmark("memory: restore, \(c.name)", configuration: config) { benchmark in
            let (store, _, latest) = try await c.fixture()
            let chains = ChainStore(store: store)
            let target = "\(MemoryCase.dir)/restored-\(c.key).img"
            try? FileManager.default.removeItem(atPath: target)
            try await measurePeak(benchmark) {
                _ = try await chains.restore(item: "vm", point: latest, disk: 0, to: target)
            }
            try? FileManager.default.removeItem(atPath: target)
            try await store.close()
        }
        Benchmark("memory: diff first and latest point, all pages, \(c.name)", configuration: config) { benchmark in
            let (store, first, _) = try await c.fixture()
            let chains = ChainStore(store: store)
            let latest = try await chains.points(item: "vm").last!.id
            try await measurePeak(benchmark) {
                var marker: DiffMarker? = nil
                var n = 0
                repeat {
                    let page = try await chains.diff(item: "vm", from: first, to: latest, marker: marker)
                    n += page.ranges.count
                    marker = page.nextMarker
                } while marker != nil
                blackHole(n)
            }
            try await store.close()
        }
    }
}
