import Foundation

/// The settings a store was created with (the `config` object).
public struct StoreConfiguration: Codable, Sendable, Equatable {
    /// Format version of the store; this build writes and reads 1.
    public var version: Int
    /// A random ID naming the store.
    public var storeID: String
    /// Whether data and metadata are encrypted.
    public var encrypted: Bool
    /// zstd level for chunks (1 is the measured default: see `Benchmarks/README.md`).
    public var compressionLevel: Int
    /// Packs are closed once they reach this many bytes.
    public var packTargetBytes: Int
    /// When the store was created.
    public var created: Date
    /// The block size new chains use unless a backup asks for another (hosts may ignore it).
    public var defaultBlockSizeBytes: Int?

    /// The random bytes of a new store's ``storeID`` (32 hex digits): 128 bits, so no two
    /// stores ever share an ID.
    static let storeIDByteCount = 16

    static let magic: [UInt8] = Array("BSCF".utf8)
    static let aad = Array("blocksnap.config.v1".utf8)

    func encoded(crypto: ObjectCrypto) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        var out = StoreConfiguration.magic
        out.append(1)
        out.append(crypto.isEncrypted ? 1 : 0)
        out.append(contentsOf: try crypto.seal(Array(try encoder.encode(self)), aad: StoreConfiguration.aad))
        return out
    }

    /// Whether the config object says the store is sealed, read before any key is known.
    static func isSealed(_ bytes: [UInt8], location: String) throws -> Bool {
        guard bytes.count >= 6, Array(bytes[0..<4]) == magic else {
            throw BlockStoreError(.corruptObject, "the config object in \(location) is not a BlockSnap store config")
        }
        guard bytes[4] == 1 else {
            throw BlockStoreError(
                .unsupportedFormat,
                "the store in \(location) has format version \(bytes[4]); this build reads version 1")
        }
        return bytes[5] == 1
    }

    static func decode(_ bytes: [UInt8], crypto: ObjectCrypto, location: String) throws -> StoreConfiguration {
        _ = try isSealed(bytes, location: location)
        let body = try bytes.withUnsafeBytes {
            try crypto.open(UnsafeRawBufferPointer(rebasing: $0[6...]), aad: aad, what: "the config of \(location)")
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let config: StoreConfiguration
        do {
            config = try decoder.decode(StoreConfiguration.self, from: Data(body))
        } catch {
            throw BlockStoreError(.corruptObject, "the config of \(location) is not valid", underlying: error)
        }
        guard config.version == 1 else {
            throw BlockStoreError(.unsupportedFormat, "the store in \(location) has format version \(config.version)")
        }
        guard ChunkStoreOptions.compressionLevelRange.contains(config.compressionLevel),
            ChunkStoreOptions.packTargetBytesRange.contains(config.packTargetBytes)
        else {
            throw BlockStoreError(.corruptObject, "the config of \(location) has out-of-range settings")
        }
        return config
    }
}
