import BlockStore
import BlockStoreTesting
import Foundation
import RecoveryChain

/// The seeded generator the tests share (SplitMix64 from BlockStoreTesting).
typealias SeededGenerator = SplitMix64

func testOptions(lock: StoreLockMode = .shared) -> ChunkStoreOptions {
    var o = ChunkStoreOptions()
    o.keyDerivation = .fastForTesting
    o.packTargetBytes = 256 << 10
    o.lock = lock
    o.lockTimeout = .milliseconds(300)
    return o
}

/// A scratch directory removed at deinit.
final class ScratchDirectory: Sendable {
    let path: String
    init() {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("blocksnap-test-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { "\(path)/\(name)" }
}

func readFile(_ path: String) throws -> [UInt8] {
    Array(try Data(contentsOf: URL(fileURLWithPath: path)))
}

/// Restores a point's disk to a file and returns its bytes.
func restoredBytes(
    _ chains: ChainStore, item: ItemName, point: PointID, disk: DiskIndex = 0, scratch: ScratchDirectory
) async throws -> [UInt8] {
    let path = scratch.file("restore-\(UUID().uuidString).img")
    defer { try? FileManager.default.removeItem(atPath: path) }
    _ = try await chains.restore(item: item, point: point, disk: disk, to: path)
    return try readFile(path)
}

/// Random block-level mutations of an in-memory disk, returning the byte ranges written.
enum Churn {
    static func scattered(_ disk: inout [UInt8], count: Int, rng: inout SeededGenerator) -> [Range<UInt64>] {
        var ranges: [Range<UInt64>] = []
        for _ in 0..<count {
            let offset = Int(rng.next() % UInt64(disk.count - 8))
            for k in 0..<8 { disk[offset + k] = UInt8(truncatingIfNeeded: rng.next()) | 1 }
            ranges.append(UInt64(offset)..<UInt64(offset + 8))
        }
        return ranges
    }

    static func clustered(_ disk: inout [UInt8], length: Int, rng: inout SeededGenerator) -> [Range<UInt64>] {
        let length = min(length, disk.count)
        let offset = Int(rng.next() % UInt64(disk.count - length + 1))
        for i in offset..<(offset + length) { disk[i] = UInt8(truncatingIfNeeded: rng.next() % 7) + 1 }
        return [UInt64(offset)..<UInt64(offset + length)]
    }

    static func zeroing(_ disk: inout [UInt8], length: Int, rng: inout SeededGenerator) -> [Range<UInt64>] {
        let length = min(length, disk.count)
        let offset = Int(rng.next() % UInt64(disk.count - length + 1))
        for i in offset..<(offset + length) { disk[i] = 0 }
        return [UInt64(offset)..<UInt64(offset + length)]
    }
}
