import BlockSnap
import BlockStoreTesting
import Foundation

/// A disk image of `sizeBytes` bytes: the first half random (from `seed`), the second zeros,
/// so a backup both stores and skips blocks.
func halfRandomDisk(seed: UInt64, sizeBytes: Int) -> [UInt8] {
    SplitMix64.bytes(count: sizeBytes / 2, seed: seed)
        + [UInt8](repeating: 0, count: sizeBytes - sizeBytes / 2)
}

/// Store options for tests on S3: cheap key derivation, 1 MiB packs, `lock`, a 5 s lock timeout.
func storeOptions(_ lock: StoreLockMode) -> ChunkStoreOptions {
    var options = ChunkStoreOptions()
    options.keyDerivation = .fastForTesting
    options.packTargetBytes = 1 << 20
    options.lock = lock
    options.lockTimeout = .seconds(5)
    return options
}

/// Restores disk 0 of `point` of `item` to a temporary file and returns its bytes.
func restoredDisk(_ chains: ChainStore, item: ItemName, point: PointID) async throws -> [UInt8] {
    let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("blocksnap-s3-\(UUID().uuidString).img").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    _ = try await chains.restore(item: item, point: point, disk: 0, to: path)
    return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
}
