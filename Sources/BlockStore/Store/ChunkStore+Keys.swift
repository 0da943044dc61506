import Crypto
import Foundation

/// A key file of a store, as listed by ``ChunkStore/keys()``.
public struct StoreKeyInfo: Sendable, Equatable {
    /// The key file's ID (use it to remove the key).
    public var id: String
    /// A label given when the passphrase was added.
    public var label: String
    /// When the key file was made.
    public var created: Date
}

/// A key file that cannot be used: damaged, of another format, beyond the key-derivation caps,
/// or bound to another store.
public struct DamagedKey: Sendable, CustomStringConvertible {
    /// The key file's ID (its name under `keys/`).
    public var id: String
    /// Why it cannot be used.
    public var error: BlockStoreError

    /// The ID and the reason.
    public var description: String { "\(id): \(error.message)" }
}

/// The key files of a store: those that belong to it, and those that cannot be used.
public struct StoreKeyListing: Sendable {
    /// Intact key files of this store, sorted by ID.
    public var keys: [StoreKeyInfo] = []
    /// Key files that cannot be used, sorted by ID; ``ChunkStore/removeKey(id:)`` removes them.
    public var damaged: [DamagedKey] = []
}

/// What opening an encrypted store's keys yields: the authenticated settings and the keys.
struct UnlockedStore {
    var configuration: StoreConfiguration
    var crypto: ObjectCrypto
    var masterSecret: SymmetricKey?
    var warnings: [BlockStoreError]
}

extension ChunkStore {
    /// The longest label a key may carry, in UTF-8 bytes (key files stay far below the size
    /// readers accept).
    public static let keyLabelBytesMax = 1024

    /// Finds a key file that opens with `passphrase` and under whose master secret the sealed
    /// config authenticates.
    ///
    /// Each key file is read and checked (name, format, KDF caps) before scrypt runs for it; one
    /// that fails is skipped, so a damaged or hostile key file never locks out the others or
    /// costs more than the caps. A key that opens but does not authenticate the config (another
    /// store's key, or a replaced config) is skipped too; if no key authenticates it, the store
    /// is `tampered`. Once the store is open, the remaining key files are checked as well
    /// (without scrypt), so the warnings name every key file that cannot be used.
    static func unlock(config raw: [UInt8], keyFiles: [ObjectKey], passphrase: String, backend: any StorageBackend)
        async throws -> UnlockedStore
    {
        let location = backend.location
        guard !keyFiles.isEmpty else {
            throw BlockStoreError(.corruptObject, "the store in \(location) is encrypted but has no key files")
        }
        var skipped: [BlockStoreError] = []
        var refused: [BlockStoreError] = []
        var others: [(key: ObjectKey, file: KeyFile)] = []
        var opened: (file: KeyFile, secret: SymmetricKey, crypto: ObjectCrypto, config: StoreConfiguration)? = nil
        for key in keyFiles {
            try Task.checkCancellation()
            let file: KeyFile
            let secret: SymmetricKey?
            do {
                file = try KeyFile.decode(try await backend.get(key, byteCountMax: ObjectSizeLimits.keyFile), key: key)
                // Once the store is open, the rest are only checked: scrypt runs no more.
                secret = opened == nil ? try file.open(passphrase: passphrase) : nil
            } catch let error as BlockStoreError where error.code == .notFound {
                continue  // removed since the listing
            } catch let error as BlockStoreError where ChunkStore.isDamage(error) {
                skipped.append(error)
                continue
            }
            guard let secret else {
                others.append((key, file))
                continue
            }
            let crypto = ObjectCrypto(masterSecret: secret)
            let config: StoreConfiguration
            do {
                config = try StoreConfiguration.decode(raw, crypto: crypto, location: location)
            } catch let error as BlockStoreError where error.code == .tampered {
                refused.append(
                    BlockStoreError(
                        .tampered,
                        "key file \(key) opens with this passphrase, but the config of \(location) does not authenticate under its key",
                        underlying: error))
                continue
            }
            guard config.storeID == file.storeID else {
                refused.append(
                    BlockStoreError(
                        .tampered,
                        "key file \(key) belongs to store \(file.storeID), but the config of \(location) is store \(config.storeID)"
                    ))
                continue
            }
            opened = (file, secret, crypto, config)
        }
        if let opened {
            for other in others where other.file.storeID != opened.config.storeID {
                refused.append(
                    BlockStoreError(
                        .tampered,
                        "key file \(other.key) belongs to store \(other.file.storeID), not to the store in \(location) (\(opened.config.storeID))"
                    ))
            }
            return UnlockedStore(
                configuration: opened.config, crypto: opened.crypto, masterSecret: opened.secret,
                warnings: skipped + refused)
        }
        let skippedText =
            skipped.isEmpty
            ? ""
            : "; \(skipped.count) key file\(skipped.count == 1 ? " was" : "s were") skipped (\(skipped.map(\.message).joined(separator: "; ")))"
        if let first = refused.first {
            throw BlockStoreError(
                .tampered,
                "the config of the store in \(location) does not authenticate under the key this passphrase opens: it was altered or replaced (by another store's config, for one); do not use this store until its config is restored from a trusted copy (\(refused.map(\.message).joined(separator: "; "))\(skippedText))",
                underlying: first)
        }
        if let first = skipped.first {
            let code = skipped.allSatisfy { $0.code == first.code } ? first.code : .corruptObject
            throw BlockStoreError(
                code,
                "no usable key of the store in \(location) opens with this passphrase\(skippedText); restore the skipped key files from a copy or use another passphrase",
                underlying: first)
        }
        throw BlockStoreError(
            .wrongPassphrase, "no key of the store in \(location) opens with this passphrase; check it and try again")
    }

    /// Adds a passphrase that opens the store; data is not re-encrypted.
    /// - Parameters:
    ///   - passphrase: The new passphrase (not empty).
    ///   - label: A note shown by ``keys()``, such as who holds the passphrase.
    /// - Returns: The new key file's ID.
    /// - Throws: `notEncrypted` for an unencrypted store; `invalidArgument` for an empty
    ///   passphrase, a label over ``keyLabelBytesMax`` bytes, or key-derivation options beyond
    ///   the caps.
    public func addPassphrase(_ passphrase: String, label: String = "") async throws -> String {
        guard let masterSecret else {
            throw BlockStoreError(
                .notEncrypted, "the store in \(backend.location) is not encrypted, so it has no passphrases")
        }
        guard label.utf8.count <= ChunkStore.keyLabelBytesMax else {
            throw BlockStoreError(
                .invalidArgument,
                "a key label of \(label.utf8.count) bytes is longer than \(ChunkStore.keyLabelBytesMax) bytes")
        }
        let file = try KeyFile.make(
            masterSecret: masterSecret, storeID: configuration.storeID, passphrase: passphrase,
            parameters: options.keyDerivation, label: label)
        let bytes = try file.encoded()
        let key = try ChunkStore.keyObjectKey(for: bytes)
        _ = try await backend.create(key, data: bytes)
        return String(key.lastSegment)
    }

    /// The store's intact key files (see ``keyListing()`` for the ones that cannot be used).
    public func keys() async throws -> [StoreKeyInfo] {
        try await keyListing().keys
    }

    /// The store's key files: the intact ones of this store, and the ones that cannot be used
    /// (damaged, of another format, beyond the key-derivation caps, or bound to another store).
    /// Nothing here runs the key derivation.
    /// - Complexity: One listing plus one read per key file.
    public func keyListing() async throws -> StoreKeyListing {
        var listing = StoreKeyListing()
        for entry in try await backend.listAll(prefix: "keys/").sorted(by: { $0.key < $1.key }) {
            let id = String(entry.key.lastSegment)
            do {
                let file = try KeyFile.decode(
                    try await backend.get(entry.key, byteCountMax: ObjectSizeLimits.keyFile), key: entry.key)
                guard file.storeID == configuration.storeID else {
                    throw BlockStoreError(
                        .tampered,
                        "key file \(entry.key) belongs to store \(file.storeID), not to this store (\(configuration.storeID))"
                    )
                }
                listing.keys.append(StoreKeyInfo(id: id, label: file.label, created: file.created))
            } catch let error as BlockStoreError where error.code == .notFound {
                continue  // removed since the listing
            } catch let error as BlockStoreError where ChunkStore.isDamage(error) {
                listing.damaged.append(DamagedKey(id: id, error: error))
            }
        }
        return listing
    }

    /// Removes a passphrase (its key file), or a key file that cannot be used. At least one
    /// intact key of this store always remains.
    ///
    /// Two removals running at once could each leave the other's key as the last one: hosts that
    /// remove keys from several processes should open the store with
    /// ``StoreLockMode/exclusive`` for it (the `blocksnap key remove` command does).
    /// - Throws: `notFound` when `id` names no key file; `invalidArgument` when it is the last
    ///   intact key.
    public func removeKey(id: String) async throws {
        let listing = try await keyListing()
        guard listing.keys.contains(where: { $0.id == id }) || listing.damaged.contains(where: { $0.id == id }) else {
            throw BlockStoreError(.notFound, "key \(id) is not a key of this store")
        }
        guard listing.keys.contains(where: { $0.id != id }) else {
            throw BlockStoreError(
                .invalidArgument, "key \(id) is the store's last key; add another passphrase before removing it")
        }
        try await backend.delete(try ObjectKey(validating: "keys/\(id)"))
    }
}
