// Backup and restore of the mixed disk image of ChainThroughput (same generator, same bytes: a
// third zero blocks, a third text-like, a third random; 64 KiB blocks) to a store on S3 — a
// moto_server on loopback that this benchmark starts on a free port and kills at the end —
// beside the same runs on the local directory store. Request counts per operation come from
// `S3Backend.statistics` and are written to $TMPDIR/blocksnap-bench-s3/requests.txt.
//
//   BLOCKSNAP_BENCHMARKS=1 BLOCKSNAP_BENCH_MIB=1024 swift package --scratch-path .build-bench \
//     --allow-writing-to-package-directory benchmark --target S3Throughput
//
// Needs python3 with moto (`pip install 'moto[server]'`, or scripts/ensure-deps).
import Benchmark
import BenchmarkSupport
import BlockSnap
import BlockStoreS3
import BlockStoreS3Testing
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

let sizeMiB = Int(ProcessInfo.processInfo.environment["BLOCKSNAP_BENCH_MIB"] ?? "1024") ?? 1024
let blockSize = 64 * 1024
let workDir = FileManager.default.temporaryDirectory.appendingPathComponent("blocksnap-bench-s3").path
let imagePath = "\(workDir)/disk-\(sizeMiB)MiB.img"
let bucket = "bench"

/// Writes the image once (ChainThroughput's generator and seed), unless it is already there.
func makeImage() throws {
    let expected = UInt64(sizeMiB) << 20
    if let size = try? FileManager.default.attributesOfItem(atPath: imagePath)[.size] as? UInt64, size == expected {
        return
    }
    try FileManager.default.createDirectory(atPath: workDir, withIntermediateDirectories: true)
    try MixedImage.write(to: imagePath, sizeMiB: sizeMiB, blockSize: blockSize)
}

func options() -> ChunkStoreOptions {
    var options = ChunkStoreOptions()
    options.keyDerivation = .fastForTesting
    return options
}

func request() throws -> BackupRequest {
    BackupRequest(item: "vm", disks: [DiskInput(disk: 0, source: try FileDiskSource(path: imagePath))])
}

func localStore(_ name: String) async throws -> ChunkStore {
    try? FileManager.default.removeItem(atPath: "\(workDir)/\(name)")
    return try await ChunkStore.create(
        on: try LocalDirectoryBackend(root: "\(workDir)/\(name)"), encryption: .passphrase("bench"), options: options())
}

/// Runs `body` with a backend on the benchmark's moto bucket, under a fresh key prefix that is
/// emptied afterwards (moto keeps objects in memory).
func withS3Backend<T>(_ body: (S3Backend) async throws -> T) async throws -> T {
    let server = try await MotoServer.processWide()
    let configuration = try server.configuration(
        bucket: bucket, keyPrefix: "store-\(UUID().uuidString.prefix(8).lowercased())",
        timeouts: S3Timeouts(connect: .seconds(5), read: .seconds(60), request: .seconds(300)),
        retryPolicy: S3RetryPolicy())
    return try await S3Backend.withBackend(configuration: configuration) { backend in
        try await backend.createBucket()
        let result = try await body(backend)
        let keys = try await backend.listAll(prefix: "").map(\.key)
        try await backend.deleteMany(keys)  // 1000 keys a request
        return result
    }
}

/// The requests of `after` not in `before`, by operation.
func requests(from before: S3Statistics, to after: S3Statistics) -> [String: Int] {
    var delta = after.requestCountByOperation
    for (operation, count) in before.requestCountByOperation { delta[operation, default: 0] -= count }
    return delta.filter { $0.value != 0 }
}

/// Appends one line of request counts (total and per GiB of image, by operation) to
/// `requests.txt` and prints it.
func report(_ name: String, _ counts: [String: Int], retries: Int) {
    let gib = Double(sizeMiB) / 1024
    let total = counts.values.reduce(0, +)
    let byOperation = counts.sorted { $0.key < $1.key }.map {
        "\($0.key) \($0.value) (\(String(format: "%.0f", Double($0.value) / gib))/GiB)"
    }.joined(separator: ", ")
    let line =
        "\(name), \(sizeMiB) MiB: \(total) requests (\(String(format: "%.0f", Double(total) / gib))/GiB), \(retries) retries: \(byOperation)\n"
    FileHandle.standardError.write(Data(line.utf8))
    if let h = FileHandle(forWritingAtPath: "\(workDir)/requests.txt") {
        h.seekToEndOfFile()
        h.write(Data(line.utf8))
        try? h.close()
    } else {
        FileManager.default.createFile(atPath: "\(workDir)/requests.txt", contents: Data(line.utf8))
    }
}

nonisolated(unsafe) let config = Benchmark.Configuration(
    metrics: [.wallClock, .peakMemoryResident], timeUnits: .milliseconds, warmupIterations: 0,
    maxDuration: .seconds(120), maxIterations: 3)

let benchmarks: @Sendable () -> Void = {
    try? makeImage()

    // Each pair measures the same steps: backup and close (the store exists); open, restore and
    // close (the point exists).
    Benchmark("backup, local directory store", configuration: config) { benchmark in
        let store = try await localStore("backup")
        benchmark.startMeasurement()
        _ = try await ChainStore(store: store).backup(try request())
        try await store.close()
        benchmark.stopMeasurement()
    }

    Benchmark("backup, S3 store (moto on loopback)", configuration: config) { benchmark in
        try await withS3Backend { backend in
            let store = try await ChunkStore.create(on: backend, encryption: .passphrase("bench"), options: options())
            let before = backend.statistics
            benchmark.startMeasurement()
            _ = try await ChainStore(store: store).backup(try request())
            try await store.close()
            benchmark.stopMeasurement()
            let after = backend.statistics
            report("backup", requests(from: before, to: after), retries: after.retryCount - before.retryCount)
        }
    }

    Benchmark("restore, local directory store", configuration: config) { benchmark in
        let store = try await localStore("restore")
        let point = try await ChainStore(store: store).backup(try request()).point.id
        try await store.close()
        benchmark.startMeasurement()
        let reader = try await ChunkStore.open(
            on: try LocalDirectoryBackend(root: "\(workDir)/restore"), passphrase: "bench", options: options())
        _ = try await ChainStore(store: reader).restore(
            item: "vm", point: point, disk: 0, to: "\(workDir)/restored.img")
        try await reader.close()
        benchmark.stopMeasurement()
    }

    Benchmark("restore, S3 store (moto on loopback)", configuration: config) { benchmark in
        try await withS3Backend { backend in
            let store = try await ChunkStore.create(on: backend, encryption: .passphrase("bench"), options: options())
            let chains = ChainStore(store: store)
            let point = try await chains.backup(try request()).point.id
            try await store.close()
            let before = backend.statistics
            benchmark.startMeasurement()
            let reader = try await ChunkStore.open(on: backend, passphrase: "bench", options: options())
            _ = try await ChainStore(store: reader).restore(
                item: "vm", point: point, disk: 0, to: "\(workDir)/restored.img")
            try await reader.close()
            benchmark.stopMeasurement()
            let after = backend.statistics
            report("restore", requests(from: before, to: after), retries: after.retryCount - before.retryCount)
        }
    }
}
