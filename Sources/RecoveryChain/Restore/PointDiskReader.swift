import BlockStore
import Foundation
import Synchronization

/// Random access to one disk of a recovery point, without restoring it (file-level recovery:
/// mount-free reads of a partition table, a file system's superblock, one file's extents).
///
/// ```swift
/// let reader = try await chains.reader(item: "vm1", point: id, disk: 0)
/// let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 512, alignment: 512)
/// _ = try await reader.read(at: 0, into: buffer)   // the MBR
/// ```
public final class PointDiskReader: Sendable {
    /// The disk's size in bytes.
    public let sizeBytes: UInt64
    /// The chain's block size.
    public let blockSizeBytes: Int
    private let root: ChunkID
    private let maps: MapAccess
    private let workerCount: Int
    private let tuning: RestoreTuning
    private let cache = Mutex<(block: UInt64, bytes: [UInt8])?>(nil)

    init(
        root: ChunkID, sizeBytes: UInt64, blockSizeBytes: Int, maps: MapAccess, workerCount: Int = 1,
        tuning: RestoreTuning = RestoreTuning()
    ) {
        self.workerCount = max(1, workerCount)
        self.tuning = tuning
        self.root = root
        self.sizeBytes = sizeBytes
        self.blockSizeBytes = blockSizeBytes
        self.maps = maps
    }

    /// Reads up to `buffer.count` bytes at `offset` (fewer only at the end of the disk).
    ///
    /// Whole blocks inside the range are decoded straight into `buffer`, their chunks read in
    /// pack runs (one ranged read each) on every core; only the partial blocks at its ends go
    /// through a one-block cache.
    /// - Throws: `invalidArgument` for an offset past the end.
    public func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) async throws -> Int {
        guard offset <= sizeBytes else {
            throw RecoveryChainError(.invalidArgument, "offset \(offset) is past the end of the \(sizeBytes)-byte disk")
        }
        let total = Int(min(UInt64(buffer.count), sizeBytes - offset))
        guard total > 0 else { return 0 }
        let block = UInt64(blockSizeBytes)
        let end = offset + UInt64(total)
        // Whole blocks: those of full size that lie inside [offset, end).
        let wholeFirst = (offset + block - 1) / block
        let wholeEnd = min(end / block, sizeBytes / block)
        if wholeFirst < wholeEnd {
            var b = wholeFirst
            while b < wholeEnd {
                let windowEnd = min(b + max(1, tuning.windowBlocks), wholeEnd)
                try await readWholeBlocks(
                    b..<windowEnd, into: UnsafeMutableRawBufferPointer(rebasing: buffer[Int(b * block - offset)...]))
                b = windowEnd
            }
            if offset < wholeFirst * block {
                try await copy(offset..<(wholeFirst * block), from: offset, into: buffer)
            }
            if wholeEnd * block < end {
                try await copy((wholeEnd * block)..<end, from: offset, into: buffer)
            }
        } else {
            try await copy(offset..<end, from: offset, into: buffer)
        }
        return total
    }

    /// Copies `range` of the disk, block by block through the cache, into `buffer` (which holds
    /// the disk from `base`).
    private func copy(_ range: Range<UInt64>, from base: UInt64, into buffer: UnsafeMutableRawBufferPointer)
        async throws
    {
        var position = range.lowerBound
        while position < range.upperBound {
            let block = position / UInt64(blockSizeBytes)
            let within = Int(position % UInt64(blockSizeBytes))
            let n = Int(min(range.upperBound - position, UInt64(blockSizeBytes - within)))
            let bytes = try await blockBytes(block)
            bytes.withUnsafeBytes { src in
                (buffer.baseAddress! + Int(position - base)).copyMemory(from: src.baseAddress! + within, byteCount: n)
            }
            position += UInt64(n)
        }
    }

    /// Decodes full-size `blocks` into `buffer` (which starts at the first of them): zero
    /// blocks are cleared, the others' chunks read in pack runs by up to `workerCount` tasks.
    private func readWholeBlocks(_ blocks: Range<UInt64>, into buffer: UnsafeMutableRawBufferPointer) async throws {
        let ids = try await maps.chunkIDs(
            root: root, sizeBytes: sizeBytes, blockSizeBytes: blockSizeBytes, blocks: blocks)
        let store = maps.store
        let blockSizeBytes = blockSizeBytes
        var wanted: [ChunkID] = []
        var slotOf: [Int] = []
        for (i, id) in ids.enumerated() {
            if id.isZero {
                memset(buffer.baseAddress! + i * blockSizeBytes, 0, blockSizeBytes)
                continue
            }
            if let length = store.length(of: id), length != blockSizeBytes {
                throw Self.lengthError(
                    block: blocks.lowerBound + UInt64(i), id: id, length: length, blockSizeBytes: blockSizeBytes)
            }
            wanted.append(id)
            slotOf.append(i)
        }
        guard !wanted.isEmpty else { return }
        let runs = store.planReads(wanted, gapBytesMax: tuning.gapBytesMax, readBytesMax: tuning.runBytesMax)
        let cursor = WorkCursor(count: runs.count)
        let slots = slotOf
        let output = SharedOutput(buffer: buffer)
        let first = blocks.lowerBound
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<min(workerCount + max(0, tuning.fetchAheadRuns), runs.count) {
                group.addTask {
                    while let r = cursor.next() {
                        try Task.checkCancellation()
                        let run = runs[r]
                        do {
                            try await store.read(run) { k in
                                let i = slots[run.members[k].position]
                                return UnsafeMutableRawBufferPointer(
                                    rebasing: output.buffer[(i * blockSizeBytes)..<((i + 1) * blockSizeBytes)])
                            } _: { k, length in
                                guard length == blockSizeBytes else {
                                    let i = slots[run.members[k].position]
                                    throw Self.lengthError(
                                        block: first + UInt64(i), id: run.members[k].id, length: length,
                                        blockSizeBytes: blockSizeBytes)
                                }
                            }
                        } catch let error as RecoveryChainError {
                            throw error
                        } catch {
                            throw RecoveryChainError.wrap(error, "reading blocks \(blocks) of the point")
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    /// The bytes of one block, checked against the map's geometry: a stored block is a chunk of
    /// exactly the block size (the last block may also be stored cut to the disk's end), so
    /// every copy out of it stays inside it.
    private func blockBytes(_ block: UInt64) async throws -> [UInt8] {
        if let hit = cache.withLock({ $0 }), hit.block == block { return hit.bytes }
        let id = try await maps.chunkIDs(
            root: root, sizeBytes: sizeBytes, blockSizeBytes: blockSizeBytes, blocks: block..<(block + 1))[0]
        // `block` lies before the disk's end (callers read below sizeBytes), so no underflow.
        let blockStart = block * UInt64(blockSizeBytes)
        let blockLength = Int(min(UInt64(blockSizeBytes), sizeBytes - blockStart))
        func fits(_ length: Int) -> Bool { length == blockSizeBytes || length == blockLength }
        let bytes: [UInt8]
        if id.isZero {
            bytes = [UInt8](repeating: 0, count: blockSizeBytes)
        } else {
            if let length = maps.store.length(of: id), !fits(length) {
                throw Self.lengthError(block: block, id: id, length: length, blockSizeBytes: blockSizeBytes)
            }
            do {
                bytes = try await maps.store.chunk(id)
            } catch {
                throw RecoveryChainError.wrap(error, "reading block \(block)")
            }
            guard fits(bytes.count) else {
                throw Self.lengthError(block: block, id: id, length: bytes.count, blockSizeBytes: blockSizeBytes)
            }
        }
        cache.withLock { $0 = (block, bytes) }
        return bytes
    }

    private static func lengthError(block: UInt64, id: ChunkID, length: Int, blockSizeBytes: Int) -> RecoveryChainError
    {
        RecoveryChainError(
            .corruptMetadata,
            "block \(block) maps to chunk \(id.shortHex) of \(length) bytes, but the chain's blocks are \(blockSizeBytes) bytes"
        )
    }
}

extension ChainStore {
    /// A random-access reader over one disk of a point.
    public func reader(item: ItemName, point id: PointID, disk: DiskIndex) async throws -> PointDiskReader {
        let (point, manifest) = try await pointRecord(item: item, point: id)
        guard let meta = point.disks.first(where: { $0.disk == disk }), let root = manifest.mapRoots[disk] else {
            throw RecoveryChainError(.notFound, "point \(id) of \(item) has no disk \(disk)")
        }
        return PointDiskReader(
            root: root, sizeBytes: meta.sizeBytes, blockSizeBytes: point.blockSizeBytes, maps: maps,
            workerCount: workerCount, tuning: restoreTuning)
    }
}

/// A caller's buffer that several tasks of one read fill at disjoint offsets (each task writes
/// only the blocks it decodes, and the read waits for every task before returning).
private struct SharedOutput: @unchecked Sendable {
    let buffer: UnsafeMutableRawBufferPointer
}
