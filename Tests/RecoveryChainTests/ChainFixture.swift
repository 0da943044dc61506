import BlockStore
import BlockStoreTesting
import Foundation
import RecoveryChain
import Testing

/// Where a test store lives and whether it is encrypted, with the seed of its disk contents.
struct StoreSetup: Sendable, CustomTestStringConvertible {
    var seed: UInt64
    var local: Bool
    var encrypted: Bool

    var testDescription: String {
        "seed \(seed), \(local ? "local directory" : "memory"), \(encrypted ? "encrypted" : "plain")"
    }

    /// Memory and local directory, plain and encrypted.
    static let all: [StoreSetup] = [
        StoreSetup(seed: 1, local: false, encrypted: false),
        StoreSetup(seed: 2, local: true, encrypted: true),
        StoreSetup(seed: 3, local: false, encrypted: true),
        StoreSetup(seed: 4, local: true, encrypted: false),
    ]
}

/// A store behind a fault-injecting backend, its chains, and byte copies of a disk at each point
/// (the oracle every restore is checked against).
final class ChainFixture: @unchecked Sendable {
    static let blockSize = 4096
    let setup: StoreSetup
    let scratch = ScratchDirectory()
    let backend: FaultInjectingBackend
    let store: ChunkStore
    let chains: ChainStore
    let item: ItemName = "vm"
    /// The disk's current bytes (not yet backed up after ``advance(_:)``).
    var disk: [UInt8]
    /// Byte copies of the disk at each committed point.
    var oracles: [PointID: [UInt8]] = [:]
    var rng: SeededGenerator
    /// The time of the next point (an hour apart, so the order never depends on the clock).
    var nextTime = Date(timeIntervalSince1970: 1_800_000_000)

    init(_ setup: StoreSetup) async throws {
        self.setup = setup
        rng = SeededGenerator(seed: setup.seed)
        let inner: any StorageBackend =
            setup.local ? try LocalDirectoryBackend(root: scratch.file("store")) : MemoryBackend()
        backend = FaultInjectingBackend(wrapping: inner, seed: setup.seed)
        store = try await ChunkStore.create(
            on: backend, encryption: setup.encrypted ? .passphrase("pw") : .none, options: testOptions())
        chains = ChainStore(store: store, workerCount: 2)
        // 48 blocks and a partial last one; data with zero stretches.
        disk = [UInt8](repeating: 0, count: 48 * Self.blockSize + 1536)
        _ = Churn.clustered(&disk, length: 20 * Self.blockSize, rng: &rng)
        _ = Churn.scattered(&disk, count: 30, rng: &rng)
    }

    func close() async throws { try await store.close() }

    /// Changes the disk at random (scattered writes, a run, sometimes zeros) and returns the byte
    /// ranges written: what a host's change tracker reports.
    func advance() -> [Range<UInt64>] {
        var ranges = Churn.scattered(&disk, count: 4 + Int(rng.next() % 6), rng: &rng)
        ranges += Churn.clustered(&disk, length: 1 + Int(rng.next() % 9000), rng: &rng)
        if rng.next() % 2 == 0 { ranges += Churn.zeroing(&disk, length: 1 + Int(rng.next() % 5000), rng: &rng) }
        return ranges
    }

    func request(_ changes: TrackedChanges?, onMismatch: BaseMismatchPolicy = .fail) -> BackupRequest {
        var request = BackupRequest(
            item: item, disks: [DiskInput(disk: 0, source: MemoryDiskSource(bytes: disk), changes: changes)])
        request.blockSizeBytes = Self.blockSize
        request.onBaseMismatch = onMismatch
        request.time = nextTime
        return request
    }

    /// Backs up the disk as it is now and records its copy.
    @discardableResult
    func backup(_ changes: TrackedChanges?, onMismatch: BaseMismatchPolicy = .fail) async throws -> BackupResult {
        let result = try await chains.backup(request(changes, onMismatch: onMismatch))
        nextTime += 3600
        oracles[result.point.id] = disk
        return result
    }

    /// The backend key of a point's root.
    func rootKey(_ point: PointID) -> ObjectKey { ObjectKey("roots/points/\(item)/\(point)")! }

    /// Restores every readable point and checks it against its copy.
    func expectEveryReadablePointRestoresBitExact(_ context: String, sourceLocation: SourceLocation = #_sourceLocation)
        async throws
    {
        for point in try await chains.pointListing(item: item).points {
            guard let oracle = oracles[point.id] else {
                Issue.record(
                    "\(setup.testDescription) \(context): point \(point.id) was never committed by the test",
                    sourceLocation: sourceLocation)
                continue
            }
            let bytes = try await restoredBytes(chains, item: item, point: point.id, scratch: scratch)
            #expect(
                bytes == oracle, "\(setup.testDescription) \(context): point \(point.id) restores wrong bytes",
                sourceLocation: sourceLocation)
        }
    }
}

/// The code of the RecoveryChainError `body` throws, or nil when it succeeds.
func errorCode<R>(_ body: () async throws -> R) async -> (code: RecoveryChainError.Code?, error: (any Error)?) {
    do {
        _ = try await body()
        return (nil, nil)
    } catch let error as RecoveryChainError {
        return (error.code, error)
    } catch {
        return (nil, error)
    }
}
