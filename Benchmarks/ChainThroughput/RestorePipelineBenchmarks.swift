// Restore split into its two floors (issue 14, goal 1), on the image and store layout of the
// other ChainThroughput benchmarks:
// - the restore to a file on tmpfs (/dev/shm): decode + a memory copy per block, no disk
//   writes, so it measures what the pipeline decodes per second;
// - the write floor: the restore's own writes (the image's non-zero blocks, at their offsets,
//   in stretches of up to 32 blocks, into a new sparse file beside the restore's target, then
//   fsync), made from one reused buffer with no decoding;
// - the restore to that same directory, for the ratio to both in the same run.
import Benchmark
import BlockSnap
import Foundation

/// A store holding one full backup of the image, made once per process.
nonisolated(unsafe) var restoreFixture: PointID?

func prepareRestoreFixture() async throws -> PointID {
    if let restoreFixture { return restoreFixture }
    let store = try await openStore("restore-pipeline", create: true)
    let point = try await ChainStore(store: store).backup(try request()).point.id
    try await store.close()
    restoreFixture = point
    return point
}

/// Restores the fixture's point to `path` (a new file each time).
func restoreFixturePoint(to path: String, benchmark: Benchmark) async throws {
    let point = try await prepareRestoreFixture()
    try? FileManager.default.removeItem(atPath: path)
    let store = try await openStore("restore-pipeline", create: false)
    benchmark.startMeasurement()
    _ = try await ChainStore(store: store).restore(item: "vm", point: point, disk: 0, to: path)
    benchmark.stopMeasurement()
    try await store.close()
    try? FileManager.default.removeItem(atPath: path)
}

/// The stretches a restore of the image writes: runs of neighbouring non-zero blocks, cut at
/// 32 blocks (the restore's stage).
func restoreWriteStretches() throws -> [(offset: UInt64, count: Int)] {
    let source = try FileDiskSource(path: imagePath)
    let block = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 4096)
    defer { block.deallocate() }
    var stretches: [(offset: UInt64, count: Int)] = []
    for i in 0..<(Int(source.sizeBytes) / blockSize) {
        let offset = UInt64(i * blockSize)
        _ = try source.read(atOffset: offset, into: block)
        guard block.contains(where: { $0 != 0 }) else { continue }
        if let last = stretches.last, last.offset + UInt64(last.count) == offset, last.count < 32 * blockSize {
            stretches[stretches.count - 1].count += blockSize
        } else {
            stretches.append((offset, blockSize))
        }
    }
    return stretches
}

func registerRestorePipelineBenchmarks() {
    Benchmark("restore to tmpfs (/dev/shm): decode + copy, no disk writes", configuration: config) { benchmark in
        try await restoreFixturePoint(to: "/dev/shm/blocksnap-bench-restored.img", benchmark: benchmark)
    }

    Benchmark("baseline write floor: the restore's writes + fsync, no decoding", configuration: config) {
        benchmark in
        let stretches = try restoreWriteStretches()
        let path = "\(workDir)/write-floor.img"
        try? FileManager.default.removeItem(atPath: path)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 32 * blockSize, alignment: 4096)
        defer { buffer.deallocate() }
        var s: UInt64 = 0x9E37_79B9_7F4A_7C15
        for k in 0..<(buffer.count / 8) {
            s = s &* 6364136223846793005 &+ 1442695040888963407
            buffer.storeBytes(of: s, toByteOffset: k * 8, as: UInt64.self)
        }
        let size = try FileDiskSource(path: imagePath).sizeBytes
        benchmark.startMeasurement()
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        precondition(fd >= 0 && ftruncate(fd, off_t(size)) == 0)
        for (offset, count) in stretches {
            precondition(pwrite(fd, buffer.baseAddress, count, off_t(offset)) == count)
        }
        precondition(fsync(fd) == 0)
        close(fd)
        benchmark.stopMeasurement()
        try? FileManager.default.removeItem(atPath: path)
    }

    Benchmark("restore to a new sparse file beside the write floor's", configuration: config) { benchmark in
        try await restoreFixturePoint(to: "\(workDir)/restored-pipeline.img", benchmark: benchmark)
    }
}
