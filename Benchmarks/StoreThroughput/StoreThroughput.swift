// Chunk write and read throughput of the store on 1 GiB of mixed data (a third zeros, a third
// text-like, a third random) in 64 KiB blocks, beside baselines measured in the same run on the
// same bytes: memcpy, SHA-256, zstd compress and decompress, each on both cores.
//
//   BLOCKSNAP_BENCHMARKS=1 swift package --allow-writing-to-package-directory benchmark --target StoreThroughput
import Benchmark
import BlockSnap
import BlockStore
import BlockStoreTesting
import CZstd
import Crypto
import Foundation

let blockSize = 64 * 1024
let totalBytes = (Int(ProcessInfo.processInfo.environment["BLOCKSNAP_BENCH_MIB"] ?? "1024") ?? 1024) << 20
let blockCount = totalBytes / blockSize
let workers = ProcessInfo.processInfo.activeProcessorCount

/// The data set, made once: block i is zeros, text-like or random by i % 3.
nonisolated(unsafe) let data: UnsafeMutableRawBufferPointer = {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: totalBytes, alignment: 4096)
    var generator = SplitMix64(seed: 0x5EED)
    let words = ["disk ", "block ", "snapshot ", "page ", "range ", "chain ", "point ", "store ", "\n", "the "].map {
        Array($0.utf8)
    }
    for i in 0..<blockCount {
        let block = UnsafeMutableRawBufferPointer(rebasing: buffer[(i * blockSize)..<((i + 1) * blockSize)])
        switch i % 3 {
        case 0:
            block.initializeMemory(as: UInt8.self, repeating: 0)
        case 1:
            var o = 0
            while o < blockSize {
                let w = words[Int(generator.next() % 10)]
                for b in w where o < blockSize {
                    block[o] = b
                    o += 1
                }
            }
        default:
            let words64 = block.bindMemory(to: UInt64.self)
            for k in words64.indices { words64[k] = generator.next() }
        }
    }
    return buffer
}()

func block(_ i: Int) -> UnsafeRawBufferPointer {
    UnsafeRawBufferPointer(rebasing: data[(i * blockSize)..<((i + 1) * blockSize)])
}

/// Runs `body(i)` for every block on `workers` tasks.
func parallelBlocks(_ body: @escaping @Sendable (Int, UnsafeMutableRawBufferPointer) async throws -> Void) async throws
{
    try await withThrowingTaskGroup(of: Void.self) { group in
        for w in 0..<workers {
            group.addTask {
                let scratch = UnsafeMutableRawBufferPointer.allocate(
                    byteCount: ZSTD_compressBound(blockSize) + 64, alignment: 64)
                defer { scratch.deallocate() }
                var i = w
                while i < blockCount {
                    try await body(i, scratch)
                    i += workers
                }
            }
        }
        try await group.waitForAll()
    }
}

/// Compressed copies of every block for the decompress baseline.
nonisolated(unsafe) var compressed: [[UInt8]] = []

nonisolated(unsafe) let config = Benchmark.Configuration(
    metrics: [.wallClock, .peakMemoryResident, .mallocCountTotal],
    timeUnits: .milliseconds, warmupIterations: 1, maxDuration: .seconds(30), maxIterations: 5)

let benchmarks: @Sendable () -> Void = {
    _ = data.count

    Benchmark("baseline memcpy 1 GiB", configuration: config) { benchmark in
        let target = UnsafeMutableRawBufferPointer.allocate(byteCount: totalBytes, alignment: 4096)
        defer { target.deallocate() }
        benchmark.startMeasurement()
        target.copyMemory(from: UnsafeRawBufferPointer(data))
        benchmark.stopMeasurement()
        blackHole(target[totalBytes / 2])
    }

    Benchmark("baseline SHA-256 1 GiB, all cores", configuration: config) { _ in
        try await parallelBlocks { i, _ in
            var h = SHA256()
            h.update(bufferPointer: block(i))
            blackHole(h.finalize())
        }
    }

    Benchmark("baseline zstd-1 compress 1 GiB, all cores", configuration: config) { _ in
        try await parallelBlocks { i, scratch in
            let n = ZSTD_compress(scratch.baseAddress, scratch.count, block(i).baseAddress, blockSize, 1)
            blackHole(n)
        }
    }

    Benchmark(
        "baseline zstd decompress 1 GiB, all cores", configuration: config,
        closure: { _ in
            try await parallelBlocks { i, scratch in
                compressed[i].withUnsafeBytes { c in
                    blackHole(ZSTD_decompress(scratch.baseAddress, scratch.count, c.baseAddress, c.count))
                }
            }
        },
        setup: {
            compressed = (0..<blockCount).map { i in
                var out = [UInt8](repeating: 0, count: ZSTD_compressBound(blockSize))
                let n = out.withUnsafeMutableBytes {
                    ZSTD_compress($0.baseAddress, $0.count, block(i).baseAddress, blockSize, 1)
                }
                return Array(out.prefix(n))
            }
        },
        teardown: { compressed = [] })

    for encrypted in [false, true] {
        Benchmark("store write 1 GiB, 64 KiB blocks\(encrypted ? ", encrypted" : ""), all cores", configuration: config)
        { benchmark in
            var options = ChunkStoreOptions()
            options.keyDerivation = .fastForTesting
            let store = try await ChunkStore.create(
                on: MemoryBackend(), encryption: encrypted ? .passphrase("bench") : .none, options: options)
            benchmark.startMeasurement()
            try await parallelBlocks { i, _ in _ = try await store.putBlock(block(i)) }
            try await store.flush()
            benchmark.stopMeasurement()
            try await store.close()
        }

        Benchmark("store read 1 GiB, 64 KiB blocks\(encrypted ? ", encrypted" : ""), all cores", configuration: config)
        { benchmark in
            var options = ChunkStoreOptions()
            options.keyDerivation = .fastForTesting
            let store = try await ChunkStore.create(
                on: MemoryBackend(), encryption: encrypted ? .passphrase("bench") : .none, options: options)
            let ids = IDList(count: blockCount)
            try await parallelBlocks { i, _ in ids.set(i, try await store.putBlock(block(i)).id) }
            try await store.flush()
            benchmark.startMeasurement()
            try await parallelBlocks { i, scratch in
                _ = try await store.readChunk(
                    ids.get(i), into: UnsafeMutableRawBufferPointer(rebasing: scratch[0..<blockSize]))
            }
            benchmark.stopMeasurement()
            try await store.close()
        }
    }

    Benchmark(
        "dedup index, 1 M chunks",
        configuration: .init(
            metrics: [.peakMemoryResidentDelta, .wallClock], timeUnits: .milliseconds, warmupIterations: 0,
            maxIterations: 3)
    ) { _ in
        // The in-memory index alone: 1 M entries as 1,000 packs of 1,000 chunks.
        var index = ChunkIndex()
        for p in 0..<1000 {
            let entries = (0..<1000).map { k in
                PackEntry(
                    id: ChunkHasher.sha256.dataID(withUnsafeBytes(of: UInt64(p * 1000 + k)) { Array($0) }), kind: .data,
                    offset: UInt32(k * 100), length: 100, rawLength: 65536)
            }
            index.add(packID: ChunkHasher.sha256.dataID(withUnsafeBytes(of: UInt64(p)) { Array($0) }), entries: entries)
        }
        blackHole(index.chunkCount)
    }
}

/// Chunk IDs by block, written by distinct workers.
final class IDList: @unchecked Sendable {
    private let storage: UnsafeMutableBufferPointer<ChunkID>
    init(count: Int) {
        storage = .allocate(capacity: count)
        storage.initialize(repeating: .zero)
    }
    func set(_ i: Int, _ id: ChunkID) { storage[i] = id }
    func get(_ i: Int) -> ChunkID { storage[i] }
}
