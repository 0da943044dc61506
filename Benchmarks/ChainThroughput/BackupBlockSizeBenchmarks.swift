// Full backups at 16 and 64 KiB blocks beside the two-core "SHA-256 + zstd-1" baseline (one pass
// per block, hashing and compressing it, as a backup must), and the fixed costs of a tracked
// incremental listed on their own (issue 14, goals 2 and 3).
import Benchmark
import BenchmarkSupport
import BlockSnap
import CZstd
import Crypto
import Foundation

/// Reads the image in `blockBytes` blocks on all cores; each block is hashed with SHA-256 and
/// compressed with zstd level 1 (one reused context per worker, output bound-sized).
func hashAndCompressPass(blockBytes: Int) async throws {
    let source = try FileDiskSource(path: imagePath)
    let blocks = Int(source.sizeBytes) / blockBytes
    try await withThrowingTaskGroup(of: Void.self) { group in
        for w in 0..<workers {
            group.addTask {
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: blockBytes, alignment: 4096)
                let bound = ZSTD_compressBound(blockBytes)
                let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: bound, alignment: 64)
                let cctx = ZSTD_createCCtx()
                ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, 1)
                defer {
                    buffer.deallocate()
                    scratch.deallocate()
                    ZSTD_freeCCtx(cctx)
                }
                var i = w
                while i < blocks {
                    _ = try source.read(atOffset: UInt64(i * blockBytes), into: buffer)
                    var h = SHA256()
                    h.update(bufferPointer: UnsafeRawBufferPointer(buffer))
                    blackHole(h.finalize())
                    blackHole(ZSTD_compress2(cctx, scratch.baseAddress, bound, buffer.baseAddress, blockBytes))
                    i += workers
                }
            }
        }
        try await group.waitForAll()
    }
}

/// A store made with the recommended key derivation (the fixed cost a real process pays).
func openStoreDefaultKDF(_ name: String, create: Bool) async throws -> ChunkStore {
    let path = "\(workDir)/\(name)"
    if create {
        try? FileManager.default.removeItem(atPath: path)
        return try await ChunkStore.create(
            on: try LocalDirectoryBackend(root: path), encryption: .passphrase("bench"))
    }
    return try await ChunkStore.open(on: try LocalDirectoryBackend(root: path), passphrase: "bench")
}

/// The full backup the fixed-cost benchmarks build on, made once per process.
nonisolated(unsafe) var fixedBase: PointID?

let chunksMetric = BenchmarkMetric.custom("chunks", polarity: .prefersSmaller, useScalingFactor: false)

/// Registers the block-size and fixed-cost benchmarks (called from the target's main file).
func registerBackupBlockSizeBenchmarks() {
    let backupConfig = Benchmark.Configuration(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .peakMemoryResident], timeUnits: .milliseconds,
        warmupIterations: 0, maxDuration: .seconds(90), maxIterations: 5)
    for blockKiB in [64, 16] {
        Benchmark(
            "baseline SHA-256 + zstd-1, one pass per \(blockKiB) KiB block, all cores", configuration: backupConfig
        ) {
            _ in
            try await hashAndCompressPass(blockBytes: blockKiB * 1024)
        }
        Benchmark("full backup \(blockKiB) KiB", configuration: backupConfig) { _ in
            let store = try await openStore("full\(blockKiB)", create: true)
            var r = try request()
            r.blockSizeBytes = blockKiB * 1024
            _ = try await ChainStore(store: store).backup(r)
            try await store.close()
        }
    }

    // Fixed costs of a tracked incremental, each on its own, on a store holding the full backup
    // of the image at 16 KiB blocks (recommended key derivation, as a real process opens it).
    let fixedConfig = Benchmark.Configuration(
        metrics: [.wallClock, chunksMetric], timeUnits: .milliseconds, warmupIterations: 0,
        maxDuration: .seconds(60), maxIterations: 7)
    func prepareFixed() async throws -> PointID {
        if let fixedBase { return fixedBase }
        let store = try await openStoreDefaultKDF("fixed16", create: true)
        var r = try request()
        r.blockSizeBytes = 16 * 1024
        let id = try await ChainStore(store: store).backup(r).point.id
        try await store.close()
        fixedBase = id
        return id
    }
    Benchmark("fixed cost: key derivation (open an empty store, recommended scrypt)", configuration: fixedConfig) {
        benchmark in
        let store = try await openStoreDefaultKDF("fixedEmpty", create: true)
        try await store.close()
        benchmark.startMeasurement()
        let opened = try await openStoreDefaultKDF("fixedEmpty", create: false)
        benchmark.stopMeasurement()
        try await opened.close()
    }
    Benchmark("fixed cost: open with index load (1 GiB at 16 KiB in the store)", configuration: fixedConfig) {
        benchmark in
        _ = try await prepareFixed()
        benchmark.startMeasurement()
        let store = try await openStoreDefaultKDF("fixed16", create: false)
        benchmark.stopMeasurement()
        benchmark.measurement(chunksMetric, store.statistics.chunkCount)
        try await store.close()
    }
    Benchmark("fixed cost: tracked incremental with nothing changed (list, map, commit)", configuration: fixedConfig) {
        benchmark in
        _ = try await prepareFixed()
        let store = try await openStoreDefaultKDF("fixed16", create: false)
        let chains = ChainStore(store: store)
        let latest = try await chains.points(item: "vm").last!.id
        var r = try request([], since: latest)
        r.blockSizeBytes = 16 * 1024
        benchmark.startMeasurement()
        _ = try await chains.backup(r)
        try await store.flush()
        benchmark.stopMeasurement()
        try await store.close()
    }
    // How the index load grows with the store: N distinct 4 KiB chunks, then an open.
    for thousands in [64, 256] {
        Benchmark("fixed cost: index load with \(thousands)K chunks in the store", configuration: fixedConfig) {
            benchmark in
            let name = "index\(thousands)"
            if !FileManager.default.fileExists(atPath: "\(workDir)/\(name)/config") {
                let store = try await openStore(name, create: true)
                var block = [UInt8](repeating: 0, count: 4096)
                for i in 0..<(thousands * 1024) {
                    for k in 0..<8 { block[k] = UInt8(truncatingIfNeeded: (i + 1) >> (8 * k)) }
                    _ = try await store.putBlock(block)
                }
                try await store.close()
            }
            benchmark.startMeasurement()
            let store = try await openStore(name, create: false)
            benchmark.stopMeasurement()
            benchmark.measurement(chunksMetric, store.statistics.chunkCount)
            try await store.close()
        }
    }
}
