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

extension ChunkStore {
    static func openMasterSecret(backend: any StorageBackend, passphrase: String) async throws -> SymmetricKey {
        let listed = try await backend.listAll(prefix: "keys/")
        guard !listed.isEmpty else {
            throw BlockStoreError(.corruptObject, "the store in \(backend.location) is encrypted but has no key files")
        }
        var damaged: [BlockStoreError] = []
        for entry in listed {
            // One damaged key file must not lock out the others: try them all.
            do {
                let file = try KeyFile.decode(
                    try await backend.get(entry.key, byteCountMax: ObjectSizeLimits.keyFile), key: entry.key)
                if let secret = try file.open(passphrase: passphrase) { return secret }
            } catch let error as BlockStoreError where ChunkStore.isDamage(error) {
                damaged.append(error)
            }
        }
        if let first = damaged.first {
            throw BlockStoreError(
                .corruptObject,
                "no intact key of the store in \(backend.location) opens with this passphrase, and \(damaged.count) key file\(damaged.count == 1 ? " is" : "s are") damaged (\(first.message)); restore the key file from a copy or use another passphrase",
                underlying: first)
        }
        throw BlockStoreError(
            .wrongPassphrase,
            "no key of the store in \(backend.location) opens with this passphrase; check it and try again")
    }

    /// Adds a passphrase that opens the store; data is not re-encrypted.
    /// - Returns: The new key file's ID.
    public func addPassphrase(_ passphrase: String, label: String = "") async throws -> String {
        guard let masterSecret else {
            throw BlockStoreError(
                .notEncrypted, "the store in \(backend.location) is not encrypted, so it has no passphrases")
        }
        let file = try KeyFile.make(
            masterSecret: masterSecret, passphrase: passphrase, parameters: options.keyDerivation, label: label)
        let bytes = try file.encoded()
        let key = try ChunkStore.keyObjectKey(for: bytes)
        _ = try await backend.create(key, data: bytes)
        return String(key.lastSegment)
    }

    /// The store's key files.
    public func keys() async throws -> [StoreKeyInfo] {
        var out: [StoreKeyInfo] = []
        for entry in try await backend.listAll(prefix: "keys/") {
            let file = try KeyFile.decode(
                try await backend.get(entry.key, byteCountMax: ObjectSizeLimits.keyFile), key: entry.key)
            out.append(StoreKeyInfo(id: String(entry.key.lastSegment), label: file.label, created: file.created))
        }
        return out
    }

    /// Removes a passphrase (key file). The last key cannot be removed.
    public func removeKey(id: String) async throws {
        let all = try await keys()
        guard all.contains(where: { $0.id == id }) else {
            throw BlockStoreError(.notFound, "key \(id) is not a key of this store")
        }
        guard all.count > 1 else {
            throw BlockStoreError(
                .invalidArgument, "key \(id) is the store's last key; add another passphrase before removing it")
        }
        try await backend.delete(try ObjectKey(validating: "keys/\(id)"))
    }
}
