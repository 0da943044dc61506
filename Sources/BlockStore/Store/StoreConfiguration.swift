import Foundation

/// The settings a store was created with (the `config` object).
///
/// Every setting is authenticated (format version 2): in an encrypted store the config is sealed
/// under the store's key, so no one without a passphrase can change it, switch encryption off or
/// put another store's config in its place; in an unencrypted store it carries a checksum, so
/// damage is found. Opening refuses a config that contradicts what the opener knows (see
/// ``ChunkStore/open(on:passphrase:options:)`` and <doc:StoreFormat>).
public struct StoreConfiguration: Codable, Sendable, Equatable {
    /// Format version of the store; this build writes and reads ``formatVersion``.
    public var version: Int
    /// A random ID naming the store (32 lowercase hex digits).
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

    /// The store format version this build writes and reads. Version 1 stores (whose settings
    /// were not authenticated) are refused with `unsupportedFormat`.
    public static let formatVersion = 2

    /// The random bytes of a new store's ``storeID`` (32 hex digits): 128 bits, so no two
    /// stores ever share an ID.
    static let storeIDByteCount = 16
    /// The largest config object read: a few hundred bytes in practice.
    static let encodedBytesMax = 64 * 1024

    static let magic: [UInt8] = Array("BSCF".utf8)
    /// Magic, version and mode.
    static let headerBytes = 6

    func encoded(crypto: ObjectCrypto) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        var out = StoreConfiguration.magic
        out.append(UInt8(StoreConfiguration.formatVersion))
        out.append(crypto.isEncrypted ? 1 : 0)
        out.append(contentsOf: try crypto.seal(Array(try encoder.encode(self)), as: .config))
        return out
    }

    /// Whether the config object says the store is sealed, read before any key is known. What it
    /// says is not trusted until ``decode(_:crypto:location:)`` authenticates it.
    /// - Throws: `corruptObject` when it is not a config, `unsupportedFormat` for another format
    ///   version.
    static func isSealed(_ bytes: [UInt8], location: String) throws -> Bool {
        guard bytes.count <= encodedBytesMax, bytes.count >= headerBytes, Array(bytes[0..<4]) == magic else {
            throw BlockStoreError(.corruptObject, "the config object in \(location) is not a BlockSnap store config")
        }
        guard Int(bytes[4]) == formatVersion else {
            throw BlockStoreError(
                .unsupportedFormat,
                "the store in \(location) has format version \(bytes[4]); this build reads version \(formatVersion) only (a version 1 store's settings are not authenticated: create a new store and back up into it)"
            )
        }
        guard bytes[5] <= 1 else {
            throw BlockStoreError(.corruptObject, "the config object in \(location) has an unknown mode \(bytes[5])")
        }
        return bytes[5] == 1
    }

    /// Authenticates and decodes a config with the store's crypto (the key a passphrase opened,
    /// or ``ObjectCrypto/plain``).
    /// - Throws: `tampered` when a sealed config does not authenticate under the key, or its
    ///   settings contradict its mode; `corruptObject` when a plain config fails its checksum or
    ///   is malformed; `unsupportedFormat` for another version.
    static func decode(_ bytes: [UInt8], crypto: ObjectCrypto, location: String) throws -> StoreConfiguration {
        let sealed = try isSealed(bytes, location: location)
        guard sealed == crypto.isEncrypted else {
            throw BlockStoreError(
                .tampered,
                "the config of \(location) is \(sealed ? "sealed" : "plain") but was opened as \(crypto.isEncrypted ? "encrypted" : "unencrypted")"
            )
        }
        let body: [UInt8]
        do {
            body = try bytes.withUnsafeBytes {
                try crypto.open(
                    UnsafeRawBufferPointer(rebasing: $0[headerBytes...]), as: .config, what: "the config of \(location)"
                )
            }
        } catch let error as BlockStoreError where error.code == .authenticationFailed {
            throw BlockStoreError(
                .tampered,
                "the config of \(location) does not authenticate under the key this passphrase opens: it was altered or replaced (by another store's config, for one); do not use this store until its config is restored from a trusted copy",
                underlying: error)
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let config: StoreConfiguration
        do {
            config = try decoder.decode(StoreConfiguration.self, from: Data(body))
        } catch {
            throw BlockStoreError(.corruptObject, "the config of \(location) is not valid", underlying: error)
        }
        guard config.version == formatVersion else {
            throw BlockStoreError(
                .unsupportedFormat, "the config of \(location) says format version \(config.version)")
        }
        guard config.encrypted == sealed else {
            throw BlockStoreError(
                .tampered,
                "the config of \(location) says the store is \(config.encrypted ? "encrypted" : "unencrypted") but is \(sealed ? "sealed" : "plain")"
            )
        }
        guard config.storeID.utf8.count == 2 * storeIDByteCount, Hex.isLowercase(config.storeID) else {
            throw BlockStoreError(.corruptObject, "the config of \(location) has a malformed store ID")
        }
        guard ChunkStoreOptions.compressionLevelRange.contains(config.compressionLevel),
            ChunkStoreOptions.packTargetBytesRange.contains(config.packTargetBytes)
        else {
            throw BlockStoreError(.corruptObject, "the config of \(location) has out-of-range settings")
        }
        return config
    }
}
