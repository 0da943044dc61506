import BlockStore
import Foundation
import Synchronization

/// Reads blocks of one disk and stores them, on several worker tasks at once.
///
/// Each worker owns one block-sized buffer for the whole run (no allocation per block), takes
/// the next block from a shared cursor, reads it with the source's `pread`, and offers it to the
/// store, where hashing, compression and encryption run in the worker's task. Results land in a
/// preallocated slot per block, so the output is in block order without sorting.
struct BlockIngestor: Sendable {
    let store: ChunkStore
    let source: any DiskSource
    let blockSizeBytes: Int
    let workerCount: Int
    let meter: ProgressMeter?

    /// The outcome for one block.
    struct Stored: Sendable {
        var id: ChunkID
        var storedBytes: Int
    }

    /// Stores the blocks at `blockIndices` (ascending) and returns their IDs in the same order.
    func ingest(_ blockIndices: [UInt64]) async throws -> [Stored] {
        guard !blockIndices.isEmpty else { return [] }
        let results = ResultSlots(count: blockIndices.count)
        let cursor = WorkCursor(count: blockIndices.count)
        let sizeBytes = source.sizeBytes
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<min(workerCount, blockIndices.count) {
                group.addTask {
                    let buffer = UnsafeMutableRawBufferPointer.allocate(
                        byteCount: blockSizeBytes, alignment: ChainLimits.bufferAlignment)
                    defer { buffer.deallocate() }
                    while true {
                        try Task.checkCancellation()
                        guard let slot = cursor.next() else { return }
                        let offset = blockIndices[slot] * UInt64(blockSizeBytes)
                        let n: Int
                        do {
                            n = try source.read(atOffset: offset, into: buffer)
                        } catch {
                            throw RecoveryChainError(
                                .diskFailed, "reading block \(blockIndices[slot]) at offset \(offset) failed",
                                underlying: error)
                        }
                        let expected = Int(min(UInt64(blockSizeBytes), sizeBytes - offset))
                        guard n == expected else {
                            throw RecoveryChainError(
                                .diskFailed,
                                "the disk ended early: \(n) of \(expected) bytes at offset \(offset); was it resized during the backup?"
                            )
                        }
                        if n < blockSizeBytes {  // the disk's last, partial block: pad with zeros
                            memset(buffer.baseAddress! + n, 0, blockSizeBytes - n)
                        }
                        let stored = try await store.putBlock(UnsafeRawBufferPointer(buffer))
                        results.set(slot, Stored(id: stored.id, storedBytes: stored.storedBytes))
                        meter?.update { p in
                            p.bytesRead += UInt64(n)
                            p.bytesWritten += UInt64(stored.storedBytes)
                            p.blocksDone += 1
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        return results.values()
    }
}

/// Hands out 0, 1, 2, … to workers, once each.
final class WorkCursor: Sendable {
    private let position = Mutex(0)
    private let count: Int

    init(count: Int) { self.count = count }

    func next() -> Int? {
        position.withLock { p -> Int? in
            guard p < count else { return nil }
            defer { p += 1 }
            return p
        }
    }
}

/// Preallocated result slots, each written by exactly one worker.
final class ResultSlots: @unchecked Sendable {
    // Raw storage (not a Swift array property) so concurrent writes to distinct slots involve no
    // exclusivity check; reads happen only after every writer has joined.
    private let storage: UnsafeMutableBufferPointer<BlockIngestor.Stored>

    init(count: Int) {
        storage = .allocate(capacity: count)
        storage.initialize(repeating: BlockIngestor.Stored(id: .zero, storedBytes: 0))
    }

    deinit { storage.deallocate() }

    func set(_ slot: Int, _ value: BlockIngestor.Stored) { storage[slot] = value }

    func values() -> [BlockIngestor.Stored] { Array(storage) }
}
