// Backup, incremental, restore and expiry on a disk image of mixed content (a third zeros, a
// third text-like, a third random, 64 KiB blocks), beside baselines measured in the same run on
// the same bytes: SHA-256 and zstd passes over the file on all cores, and a plain file copy.
//
//   BLOCKSNAP_BENCHMARKS=1 BLOCKSNAP_BENCH_MIB=1024 \
//     swift package --allow-writing-to-package-directory benchmark --target ChainThroughput
import Benchmark
import BenchmarkSupport
import BlockSnap
import CZstd
import Crypto
import Foundation

let sizeMiB = Int(ProcessInfo.processInfo.environment["BLOCKSNAP_BENCH_MIB"] ?? "1024") ?? 1024
let blockSize = 64 * 1024
let workDir = FileManager.default.temporaryDirectory.appendingPathComponent("blocksnap-bench-chain").path
let imagePath = "\(workDir)/disk.img"
let workers = ProcessInfo.processInfo.activeProcessorCount

func makeImage() throws {
    try? FileManager.default.removeItem(atPath: workDir)
    try FileManager.default.createDirectory(atPath: workDir, withIntermediateDirectories: true)
    try MixedImage.write(to: imagePath, sizeMiB: sizeMiB, blockSize: blockSize)
}

/// 1 % of the blocks get an 8-byte write; returns the changed ranges.
func scatter(seed: UInt64) throws -> [Range<UInt64>] {
    let fd = open(imagePath, O_WRONLY)
    defer { close(fd) }
    var s = seed
    var ranges: [Range<UInt64>] = []
    let blocks = UInt64(sizeMiB * 16)
    for _ in 0..<(blocks / 100) {
        s = s &* 6364136223846793005 &+ 1442695040888963407
        let offset = (s >> 11) % (blocks * UInt64(blockSize) - 8)
        var v = s | 1
        _ = pwrite(fd, &v, 8, off_t(offset))
        ranges.append(offset..<(offset + 8))
    }
    return ranges.sorted { $0.lowerBound < $1.lowerBound }
}

func openStore(_ name: String, create: Bool) async throws -> ChunkStore {
    let backend = try LocalDirectoryBackend(root: "\(workDir)/\(name)")
    var options = ChunkStoreOptions()
    options.keyDerivation = .fastForTesting
    if create {
        try? FileManager.default.removeItem(atPath: "\(workDir)/\(name)")
        return try await ChunkStore.create(
            on: try LocalDirectoryBackend(root: "\(workDir)/\(name)"), encryption: .passphrase("bench"),
            options: options)
    }
    return try await ChunkStore.open(on: backend, passphrase: "bench", options: options)
}

/// A backup of the image; `changed` are host-tracked ranges written since point `since`.
func request(_ changed: [Range<UInt64>]? = nil, since: PointID? = nil) throws -> BackupRequest {
    BackupRequest(
        item: "vm",
        disks: [
            DiskInput(
                disk: 0, source: try FileDiskSource(path: imagePath),
                changes: changed.map { TrackedChanges(since: since, ranges: $0) })
        ])
}

/// Reads the image in 64 KiB blocks on all cores, handing each to `body`.
func passOverImage(_ body: @escaping @Sendable (UnsafeRawBufferPointer, UnsafeMutableRawBufferPointer) -> Void)
    async throws
{
    let source = try FileDiskSource(path: imagePath)
    let blocks = Int(source.sizeBytes) / blockSize
    try await withThrowingTaskGroup(of: Void.self) { group in
        for w in 0..<workers {
            group.addTask {
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 4096)
                let scratch = UnsafeMutableRawBufferPointer.allocate(
                    byteCount: ZSTD_compressBound(blockSize), alignment: 64)
                defer {
                    buffer.deallocate()
                    scratch.deallocate()
                }
                var i = w
                while i < blocks {
                    _ = try source.read(atOffset: UInt64(i * blockSize), into: buffer)
                    body(UnsafeRawBufferPointer(buffer), scratch)
                    i += workers
                }
            }
        }
        try await group.waitForAll()
    }
}

nonisolated(unsafe) let config = Benchmark.Configuration(
    metrics: [.wallClock, .peakMemoryResident], timeUnits: .milliseconds, warmupIterations: 0,
    maxDuration: .seconds(60), maxIterations: 3)

/// The store and the two points the diff benchmarks compare, made once per process.
nonisolated(unsafe) var diffPoints: (first: PointID, second: PointID)?

/// A full backup of the image, 1 % scattered 8-byte writes, an incremental (host ranges).
func prepareDiffPoints() async throws -> (first: PointID, second: PointID) {
    if let diffPoints { return diffPoints }
    let store = try await openStore("diff", create: true)
    let chains = ChainStore(store: store)
    let first = try await chains.backup(try request()).point.id
    let second = try await chains.backup(try request(try scatter(seed: 77), since: first)).point.id
    try await store.close()
    diffPoints = (first, second)
    return (first, second)
}

/// The image's non-zero blocks as a store keeps them: zstd-1 compressed (kept raw when that does
/// not shrink them), then sealed with AES-256-GCM; made outside the measurement.
final class SealedChunks: @unchecked Sendable {
    struct Chunk {
        var sealed: [UInt8]
        var compressed: Bool
    }
    let key = SymmetricKey(size: .bits256)
    var chunks: [Chunk] = []

    init() throws {
        let source = try FileDiskSource(path: imagePath)
        let block = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 4096)
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: ZSTD_compressBound(blockSize), alignment: 64)
        defer {
            block.deallocate()
            scratch.deallocate()
        }
        for i in 0..<(Int(source.sizeBytes) / blockSize) {
            _ = try source.read(atOffset: UInt64(i * blockSize), into: block)
            if !block.contains(where: { $0 != 0 }) { continue }
            let n = ZSTD_compress(scratch.baseAddress, scratch.count, block.baseAddress, block.count, 1)
            let compressed = ZSTD_isError(n) == 0 && n < blockSize
            let plain = compressed ? UnsafeRawBufferPointer(rebasing: scratch[0..<n]) : UnsafeRawBufferPointer(block)
            let box = try AES.GCM.seal(plain, using: key)
            chunks.append(Chunk(sealed: Array(box.combined!), compressed: compressed))
        }
    }

    /// Opens, decompresses and hashes every chunk on all cores: what a restore must do per chunk.
    func decodeAll() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for w in 0..<workers {
                group.addTask {
                    let out = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 4096)
                    defer { out.deallocate() }
                    var i = w
                    while i < self.chunks.count {
                        let plain = try AES.GCM.open(
                            AES.GCM.SealedBox(combined: self.chunks[i].sealed), using: self.key)
                        plain.withUnsafeBytes { p in
                            if self.chunks[i].compressed {
                                blackHole(ZSTD_decompress(out.baseAddress, out.count, p.baseAddress, p.count))
                            } else {
                                out.copyMemory(from: p)
                            }
                        }
                        blackHole(SHA256.hash(data: UnsafeRawBufferPointer(out)))
                        i += workers
                    }
                }
            }
            try await group.waitForAll()
        }
    }
}

let rangesMetric = BenchmarkMetric.custom("ranges", polarity: .prefersLarger, useScalingFactor: false)
let storedKiB = BenchmarkMetric.custom("storedKiB", polarity: .prefersSmaller, useScalingFactor: false)

/// 1 % of the image's 4 KiB pages rewritten at random with random bytes (10 MiB of change on
/// 1 GiB); returns the changed ranges.
func scatterPages(seed: UInt64) throws -> [Range<UInt64>] {
    let fd = open(imagePath, O_WRONLY)
    defer { close(fd) }
    var s = seed
    func next() -> UInt64 {
        s = s &* 6364136223846793005 &+ 1442695040888963407
        return s ^ (s >> 29)
    }
    let pages = UInt64(sizeMiB) * 256
    var chosen = Set<UInt64>()
    while chosen.count < Int(pages / 100) { chosen.insert(next() % pages) }
    var page = [UInt64](repeating: 0, count: 512)
    for p in chosen {
        for k in page.indices { page[k] = next() }
        _ = page.withUnsafeBytes { pwrite(fd, $0.baseAddress, 4096, off_t(p * 4096)) }
    }
    return chosen.sorted().map { ($0 * 4096)..<($0 * 4096 + 4096) }
}

let benchmarks: @Sendable () -> Void = {
    try? makeImage()
    registerBackupBlockSizeBenchmarks()
    registerMemoryCeilingBenchmarks()

    Benchmark("baseline SHA-256 pass over the image, all cores", configuration: config) { _ in
        try await passOverImage { block, _ in
            var h = SHA256()
            h.update(bufferPointer: block)
            blackHole(h.finalize())
        }
    }
    Benchmark("baseline zstd-1 pass over the image, all cores", configuration: config) { _ in
        try await passOverImage { block, scratch in
            blackHole(ZSTD_compress(scratch.baseAddress, scratch.count, block.baseAddress, block.count, 1))
        }
    }
    Benchmark("baseline plain file copy", configuration: config) { _ in
        let target = "\(workDir)/copy.img"
        try? FileManager.default.removeItem(atPath: target)
        try FileManager.default.copyItem(atPath: imagePath, toPath: target)
    }

    Benchmark("baseline decrypt + zstd decompress + SHA-256 verify of the chunks, all cores", configuration: config) {
        benchmark in
        let chunks = try SealedChunks()  // made afresh each time, so later benchmarks' memory is their own
        benchmark.startMeasurement()
        try await chunks.decodeAll()
        benchmark.stopMeasurement()
    }

    Benchmark("full backup", configuration: config) { _ in
        let store = try await openStore("full", create: true)
        _ = try await ChainStore(store: store).backup(try request())
        try await store.close()
    }

    Benchmark("incremental, 1 % scattered, host changed ranges", configuration: config) { benchmark in
        let store = try await openStore("tracked", create: true)
        let chains = ChainStore(store: store)
        let full = try await chains.backup(try request()).point.id
        let changed = try scatter(seed: UInt64(benchmark.currentIteration + 1))
        benchmark.startMeasurement()
        _ = try await chains.backup(try request(changed, since: full))
        benchmark.stopMeasurement()
        try await store.close()
    }

    Benchmark("incremental, 1 % scattered, read and compare", configuration: config) { benchmark in
        let store = try await openStore("compare", create: true)
        let chains = ChainStore(store: store)
        _ = try await chains.backup(try request())
        _ = try scatter(seed: UInt64(benchmark.currentIteration + 100))
        benchmark.startMeasurement()
        _ = try await chains.backup(try request())
        benchmark.stopMeasurement()
        try await store.close()
    }

    Benchmark("restore", configuration: config) { benchmark in
        let store = try await openStore("restore", create: true)
        let chains = ChainStore(store: store)
        let point = try await chains.backup(try request()).point.id
        benchmark.startMeasurement()
        _ = try await chains.restore(item: "vm", point: point, disk: 0, to: "\(workDir)/restored.img")
        benchmark.stopMeasurement()
        try await store.close()
    }
    registerRestorePipelineBenchmarks()

    // The diff on a real store: every iteration opens the store afresh (cold node cache), then
    // diffs the two points, all pages; exact mode reads both versions of every changed block.
    for exact in [false, true] {
        let label = exact ? "exact (512-byte pages)" : "block granularity"
        Benchmark(
            "diff two points, 1 % scattered, \(label), local store, cold",
            configuration: .init(
                metrics: [.wallClock, .peakMemoryResidentDelta, rangesMetric],
                timeUnits: .microseconds, warmupIterations: 0, maxDuration: .seconds(60),
                maxIterations: 7)
        ) { benchmark in
            let (first, second) = try await prepareDiffPoints()
            let store = try await openStore("diff", create: false)
            let chains = ChainStore(store: store)
            benchmark.startMeasurement()
            var marker: DiffMarker? = nil
            var n = 0
            repeat {
                let page = try await chains.diff(item: "vm", from: first, to: second, marker: marker, exact: exact)
                n += page.ranges.count
                marker = page.nextMarker
            } while marker != nil
            benchmark.stopMeasurement()
            benchmark.measurement(rangesMetric, n)
            try await store.close()
        }
    }

    // What an incremental stores for scattered small writes, by block size (seed 002: a 1 KiB
    // change stores its whole block): 1 % of the 4 KiB pages rewritten, host changed ranges.
    for blockKiB in [4, 16, 64] {
        Benchmark(
            "stored by an incremental after 1 % of 4 KiB pages rewritten, \(blockKiB) KiB blocks",
            configuration: .init(
                metrics: [.wallClock, storedKiB], timeUnits: .milliseconds,
                warmupIterations: 0, maxDuration: .seconds(120), maxIterations: 1)
        ) { benchmark in
            try makeImage()
            let store = try await openStore("scatter\(blockKiB)", create: true)
            let chains = ChainStore(store: store)
            var full = try request()
            full.blockSizeBytes = blockKiB * 1024
            let fullPoint = try await chains.backup(full).point.id
            let before = store.statistics.storedBytes
            var incremental = try request(try scatterPages(seed: 2), since: fullPoint)
            incremental.blockSizeBytes = blockKiB * 1024
            benchmark.startMeasurement()
            _ = try await chains.backup(incremental)
            benchmark.stopMeasurement()
            benchmark.measurement(storedKiB, Int((store.statistics.storedBytes - before) / 1024))
            try await store.close()
        }
    }

    Benchmark(
        "expire a middle point of a 30-point chain",
        configuration: .init(metrics: [.wallClock], timeUnits: .microseconds, warmupIterations: 0, maxIterations: 3)
    ) { benchmark in
        let store = try await openStore("expire", create: true)
        let chains = ChainStore(store: store)
        var ids: [PointID] = []
        for i in 0..<30 {
            let changed = i == 0 ? nil : try scatter(seed: UInt64(1000 + i))
            ids.append(try await chains.backup(try request(changed, since: ids.last)).point.id)
        }
        benchmark.startMeasurement()
        try await chains.expire(item: "vm", point: ids[15])
        benchmark.stopMeasurement()
        try await store.close()
    }
}
