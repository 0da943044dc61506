import BlockStore
import Foundation
import PageRangeDiff

/// How a recovery point is stored: a manifest node naming each disk's block-map root (and the
/// configuration and secrets chunks), published as root `points/<item>/<point id>` whose payload
/// is the point's metadata as JSON. The store seals both in encrypted stores.
///
/// ```
/// manifest node header: "BSPT" version:u8=1
/// entries: slot d → disk d's map root; slot 2^28 → configuration chunk; slot 2^28+1 → secrets chunk
/// ```
struct PointManifest: Sendable, Equatable {
    var mapRoots: [DiskIndex: ChunkID]
    var configuration: ChunkID?
    var secrets: ChunkID?

    static let header: [UInt8] = Array("BSPT".utf8) + [1]
    static let configurationSlot: UInt32 = 1 << 28
    static let secretsSlot: UInt32 = (1 << 28) + 1
    /// The most disks one item may have.
    static let diskCountMax = DiskIndex.countMax

    var node: StoreNode {
        var entries = mapRoots.sorted { $0.key < $1.key }.map {
            StoreNode.Entry(slot: UInt32($0.key.rawValue), id: $0.value)
        }
        if let configuration { entries.append(.init(slot: PointManifest.configurationSlot, id: configuration)) }
        if let secrets { entries.append(.init(slot: PointManifest.secretsSlot, id: secrets)) }
        return StoreNode(header: PointManifest.header, entries: entries)
    }

    init(mapRoots: [DiskIndex: ChunkID], configuration: ChunkID?, secrets: ChunkID?) {
        self.mapRoots = mapRoots
        self.configuration = configuration
        self.secrets = secrets
    }

    init(node: StoreNode, what: String) throws {
        guard node.header == PointManifest.header else {
            throw RecoveryChainError(.corruptMetadata, "\(what) is not a recovery-point manifest")
        }
        var roots: [DiskIndex: ChunkID] = [:]
        var configuration: ChunkID? = nil
        var secrets: ChunkID? = nil
        var slots = Set<UInt32>()
        for e in node.entries {
            guard slots.insert(e.slot).inserted else {
                throw RecoveryChainError(.corruptMetadata, "\(what) names entry slot \(e.slot) twice")
            }
            switch e.slot {
            case PointManifest.configurationSlot: configuration = e.id
            case PointManifest.secretsSlot: secrets = e.id
            case let slot where slot < UInt32(PointManifest.diskCountMax): roots[DiskIndex(Int(slot))] = e.id
            default: throw RecoveryChainError(.corruptMetadata, "\(what) has an unknown entry slot \(e.slot)")
            }
        }
        self.init(mapRoots: roots, configuration: configuration, secrets: secrets)
    }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .iso8601withFractionalSeconds
        e.outputFormatting = [.sortedKeys]
        return e
    }()

    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601withFractionalSeconds
        return d
    }()

    static func rootName(item: ItemName, point: PointID) -> String { "points/\(item.rawValue)/\(point.rawValue)" }

    /// The largest disk a point may describe: what a block map can hold (2^50 bytes).
    static let diskSizeBytesMax: UInt64 = BlockMapGeometry.maxDiskSizeBytes

    /// The most bytes one block may add to the store: its sealed, compressed form never takes
    /// more than this (zstd's bound plus framing and sealing stay far below it).
    static func storedBytesPerBlockMax(blockSizeBytes: Int) -> UInt64 {
        2 * UInt64(blockSizeBytes) + ChainLimits.storedBytesSlackPerBlock
    }

    /// Decodes and checks a point's metadata from a root payload (hostile-input safe): every
    /// size, count and number is bounded before anything is computed from it.
    static func decodePoint(_ payload: [UInt8], rootName: String) throws -> RecoveryPoint {
        let point: RecoveryPoint
        do {
            point = try decoder.decode(RecoveryPoint.self, from: Data(payload))
        } catch {
            throw RecoveryChainError(.corruptMetadata, "the metadata of \(rootName) is not valid", underlying: error)
        }
        guard rootName == PointManifest.rootName(item: point.item, point: point.id),
            point.tags.count <= RecoveryPoint.tagCountMax,
            point.disks.count <= diskCountMax,
            BlockGeometry.isValidBlockSize(point.blockSizeBytes),
            point.disks.allSatisfy({ $0.sizeBytes % 512 == 0 && $0.disk.isValid }),
            Set(point.disks.map(\.disk)).count == point.disks.count
        else {
            throw RecoveryChainError(
                .corruptMetadata,
                "the metadata of \(rootName) is inconsistent (names, tags, disks or block size out of bounds)")
        }
        for disk in point.disks {
            guard disk.sizeBytes <= diskSizeBytesMax else {
                throw RecoveryChainError(
                    .corruptMetadata,
                    "the metadata of \(rootName) gives disk \(disk.disk) \(disk.sizeBytes) bytes, more than the 2^50 a block map holds"
                )
            }
            // Bounded sizes: the block count fits easily, and so does the product below.
            let blockCount = BlockGeometry.blockCount(sizeBytes: disk.sizeBytes, blockSizeBytes: point.blockSizeBytes)
            guard disk.changedBlocks >= 0, UInt64(disk.changedBlocks) <= blockCount else {
                throw RecoveryChainError(
                    .corruptMetadata,
                    "the metadata of \(rootName) says \(disk.changedBlocks) blocks of disk \(disk.disk) changed, but it has \(blockCount)"
                )
            }
            let (storedMax, overflow) = UInt64(disk.changedBlocks).multipliedReportingOverflow(
                by: storedBytesPerBlockMax(blockSizeBytes: point.blockSizeBytes))
            guard !overflow, disk.storedBytes <= storedMax else {
                throw RecoveryChainError(
                    .corruptMetadata,
                    "the metadata of \(rootName) says disk \(disk.disk) stored \(disk.storedBytes) bytes for \(disk.changedBlocks) changed blocks"
                )
            }
        }
        return point
    }

    /// Checks that a manifest names a map for exactly the point's disks, and the configuration
    /// and secrets the point says it has.
    static func check(_ manifest: PointManifest, matches point: RecoveryPoint, rootName: String) throws {
        guard Set(manifest.mapRoots.keys) == Set(point.disks.map(\.disk)),
            (manifest.configuration != nil) == point.hasConfiguration,
            (manifest.secrets != nil) == point.hasSecrets
        else {
            throw RecoveryChainError(
                .corruptMetadata,
                "the manifest of \(rootName) does not match its metadata (disks \(manifest.mapRoots.keys.sorted()) against \(point.disks.map(\.disk)))"
            )
        }
    }
}

extension JSONEncoder.DateEncodingStrategy {
    static let iso8601withFractionalSeconds = JSONEncoder.DateEncodingStrategy.custom { date, encoder in
        var c = encoder.singleValueContainer()
        try c.encode(
            date.formatted(
                .iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted)))
    }
}

extension JSONDecoder.DateDecodingStrategy {
    static let iso8601withFractionalSeconds = JSONDecoder.DateDecodingStrategy.custom { decoder in
        let c = try decoder.singleValueContainer()
        let text = try c.decode(String.self)
        if let date = try? Date(
            text,
            strategy: .iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted)
        ) {
            return date
        }
        if let date = try? Date(text, strategy: .iso8601) { return date }
        throw DecodingError.dataCorruptedError(in: c, debugDescription: "not an ISO 8601 time: \(text.prefix(40))")
    }
}
