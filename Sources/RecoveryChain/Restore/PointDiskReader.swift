import BlockStore
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
    private let cache = Mutex<(block: UInt64, bytes: [UInt8])?>(nil)

    init(root: ChunkID, sizeBytes: UInt64, blockSizeBytes: Int, maps: MapAccess) {
        self.root = root
        self.sizeBytes = sizeBytes
        self.blockSizeBytes = blockSizeBytes
        self.maps = maps
    }

    /// Reads up to `buffer.count` bytes at `offset` (fewer only at the end of the disk).
    /// - Throws: `invalidArgument` for an offset past the end.
    public func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) async throws -> Int {
        guard offset <= sizeBytes else {
            throw RecoveryChainError(.invalidArgument, "offset \(offset) is past the end of the \(sizeBytes)-byte disk")
        }
        let total = Int(min(UInt64(buffer.count), sizeBytes - offset))
        var done = 0
        while done < total {
            let position = offset + UInt64(done)
            let block = position / UInt64(blockSizeBytes)
            let within = Int(position % UInt64(blockSizeBytes))
            let n = min(total - done, blockSizeBytes - within)
            let bytes = try await blockBytes(block)
            bytes.withUnsafeBytes { src in
                (buffer.baseAddress! + done).copyMemory(from: src.baseAddress! + within, byteCount: n)
            }
            done += n
        }
        return total
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
        return PointDiskReader(root: root, sizeBytes: meta.sizeBytes, blockSizeBytes: point.blockSizeBytes, maps: maps)
    }
}
