import BlockStore
import Foundation

/// How a recovery point is stored: a manifest node naming each disk's block-map root (and the
/// configuration and secrets chunks), published as root `points/<item>/<point id>` whose payload
/// is the point's metadata as JSON. The store seals both in encrypted stores.
///
/// ```
/// manifest node header: "BSPT" version:u8=1
/// entries: slot d → disk d's map root; slot 2^28 → configuration chunk; slot 2^28+1 → secrets chunk
/// ```
struct PointManifest: Sendable, Equatable {
    var mapRoots: [Int: ChunkID]
    var configuration: ChunkID?
    var secrets: ChunkID?

    static let header: [UInt8] = Array("BSPT".utf8) + [1]
    static let configurationSlot: UInt32 = 1 << 28
    static let secretsSlot: UInt32 = (1 << 28) + 1
    /// The most disks one item may have.
    static let diskCountMax = 1024

    var node: StoreNode {
        var entries = mapRoots.sorted { $0.key < $1.key }.map { StoreNode.Entry(slot: UInt32($0.key), id: $0.value) }
        if let configuration { entries.append(.init(slot: PointManifest.configurationSlot, id: configuration)) }
        if let secrets { entries.append(.init(slot: PointManifest.secretsSlot, id: secrets)) }
        return StoreNode(header: PointManifest.header, entries: entries)
    }

    init(mapRoots: [Int: ChunkID], configuration: ChunkID?, secrets: ChunkID?) {
        self.mapRoots = mapRoots
        self.configuration = configuration
        self.secrets = secrets
    }

    init(node: StoreNode, what: String) throws {
        guard node.header == PointManifest.header else {
            throw RecoveryChainError(.corruptMetadata, "\(what) is not a recovery-point manifest")
        }
        var roots: [Int: ChunkID] = [:]
        var configuration: ChunkID? = nil
        var secrets: ChunkID? = nil
        for e in node.entries {
            switch e.slot {
            case PointManifest.configurationSlot: configuration = e.id
            case PointManifest.secretsSlot: secrets = e.id
            case let slot where slot < UInt32(PointManifest.diskCountMax): roots[Int(slot)] = e.id
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

    static func rootName(item: String, point: String) -> String { "points/\(item)/\(point)" }

    /// Decodes and checks a point's metadata from a root payload (hostile-input safe).
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
            point.disks.allSatisfy({ $0.sizeBytes % 512 == 0 && $0.disk >= 0 && $0.disk < diskCountMax })
        else {
            throw RecoveryChainError(.corruptMetadata, "the metadata of \(rootName) is inconsistent (names, tags, disks or block size out of bounds)")
        }
        return point
    }
}

extension JSONEncoder.DateEncodingStrategy {
    static let iso8601withFractionalSeconds = JSONEncoder.DateEncodingStrategy.custom { date, encoder in
        var c = encoder.singleValueContainer()
        try c.encode(date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted)))
    }
}

extension JSONDecoder.DateDecodingStrategy {
    static let iso8601withFractionalSeconds = JSONDecoder.DateDecodingStrategy.custom { decoder in
        let c = try decoder.singleValueContainer()
        let text = try c.decode(String.self)
        if let date = try? Date(text, strategy: .iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted)) {
            return date
        }
        if let date = try? Date(text, strategy: .iso8601) { return date }
        throw DecodingError.dataCorruptedError(in: c, debugDescription: "not an ISO 8601 time: \(text.prefix(40))")
    }
}
