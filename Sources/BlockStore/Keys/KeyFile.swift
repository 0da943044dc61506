import Crypto
import CryptoExtras
import Foundation

/// A key file: the store's master secret sealed under a key derived from one passphrase.
///
/// A store has one key file per passphrase (`keys/<id>`); adding or removing a passphrase adds or
/// removes a key file and never re-encrypts data. The master secret is never stored in clear.
/// The file names the store it belongs to (`storeID`, bound into the seal's associated data), so a
/// key file copied from another store is told apart from this store's own.
struct KeyFile: Codable, Sendable {
    var version: Int
    var storeID: String
    var kdf: String
    var parameters: KeyDerivation
    var salt: String
    var sealedMasterSecret: String
    var created: Date
    var label: String

    /// The key file format this build writes and reads.
    static let formatVersion = 2
    /// The largest key file read: a few hundred bytes of JSON in practice, so 64 KiB leaves room
    /// for long labels and later fields while a hostile object under `keys/` costs no memory.
    static let encodedBytesMax = 64 * 1024
    /// The bytes of the key scrypt derives and of the master secret it seals: AES-256 keys.
    static let keyByteCount = 32
    /// The salt of a new key file: 256 random bits.
    static let saltByteCount = 32
    /// The salts a key file may carry: at least 128 bits (scrypt's recommended minimum), at most
    /// 512; anything else is not a key file this build wrote.
    static let saltBytesRange = 16...64

    /// The associated data of the sealed master secret: `"blocksnap.v2.keyfile:" ‖ storeID`.
    static func associatedData(storeID: String) -> [UInt8] {
        Array("blocksnap.v2.keyfile:\(storeID)".utf8)
    }

    /// Runs scrypt. The parameters must have passed ``KeyDerivation/problem()`` (checked again
    /// here, so no path runs scrypt with parameters beyond the caps).
    static func derive(_ passphrase: String, salt: [UInt8], parameters: KeyDerivation) throws -> SymmetricKey {
        if let problem = parameters.problem() { throw problem }
        do {
            return try KDF.Scrypt.deriveKey(
                from: Array(passphrase.utf8), salt: salt, outputByteCount: keyByteCount,
                rounds: parameters.n, blockSize: parameters.r, parallelism: parameters.p)
        } catch {
            throw BlockStoreError(.invalidArgument, "scrypt key derivation failed", underlying: error)
        }
    }

    /// Seals `masterSecret` under `passphrase` for the store `storeID`.
    /// - Throws: `invalidArgument` for an empty passphrase or parameters beyond the caps.
    static func make(
        masterSecret: SymmetricKey, storeID: String, passphrase: String, parameters: KeyDerivation, label: String
    ) throws -> KeyFile {
        guard !passphrase.isEmpty else {
            throw BlockStoreError(.invalidArgument, "the passphrase is empty: choose a non-empty passphrase")
        }
        try parameters.validateForNewKey()
        var salt = [UInt8](repeating: 0, count: saltByteCount)
        var rng = SystemRandomNumberGenerator()
        for i in salt.indices { salt[i] = UInt8.random(in: 0...255, using: &rng) }
        let kek = try derive(passphrase, salt: salt, parameters: parameters)
        let sealed = try masterSecret.withUnsafeBytes { secret in
            try AES.GCM.seal(secret, using: kek, authenticating: associatedData(storeID: storeID)).combined!
        }
        return KeyFile(
            version: formatVersion, storeID: storeID, kdf: "scrypt", parameters: parameters,
            salt: Data(salt).base64EncodedString(), sealedMasterSecret: sealed.base64EncodedString(), created: Date(),
            label: label)
    }

    /// Checks everything that can be checked without the passphrase: the version, the KDF and its
    /// parameters (against the caps), the salt and the sealed secret's encoding.
    /// - Throws: `unsupportedFormat`, `limitExceeded` (parameters beyond the caps) or
    ///   `corruptObject`; nothing here runs scrypt.
    func validate(key: ObjectKey) throws {
        guard version == KeyFile.formatVersion else {
            throw BlockStoreError(
                .unsupportedFormat,
                "key file \(key) has format version \(version); this build reads version \(KeyFile.formatVersion)")
        }
        guard kdf == "scrypt" else {
            throw BlockStoreError(.unsupportedFormat, "key file \(key) uses KDF \(kdf); this build knows scrypt")
        }
        if let problem = parameters.problem() {
            throw BlockStoreError(problem.code, "key file \(key): \(problem.message)")
        }
        guard let salt = Data(base64Encoded: salt), KeyFile.saltBytesRange.contains(salt.count),
            let sealed = Data(base64Encoded: sealedMasterSecret),
            sealed.count == KeyFile.keyByteCount + ObjectCrypto.sealOverhead
        else {
            throw BlockStoreError(.corruptObject, "key file \(key) has a malformed salt or sealed secret")
        }
    }

    /// Opens the master secret, or returns nil when the passphrase is not this file's.
    /// Call ``validate(key:)`` first: this runs scrypt.
    func open(passphrase: String) throws -> SymmetricKey? {
        guard let salt = Data(base64Encoded: self.salt), let sealed = Data(base64Encoded: sealedMasterSecret) else {
            throw BlockStoreError(.corruptObject, "key file has a malformed salt or sealed secret")
        }
        let kek = try KeyFile.derive(passphrase, salt: Array(salt), parameters: parameters)
        guard let box = try? AES.GCM.SealedBox(combined: sealed),
            let secret = try? AES.GCM.open(box, using: kek, authenticating: KeyFile.associatedData(storeID: storeID))
        else { return nil }
        guard secret.count == KeyFile.keyByteCount else {
            throw BlockStoreError(
                .corruptObject, "key file holds a \(secret.count)-byte secret, expected \(KeyFile.keyByteCount)")
        }
        return SymmetricKey(data: secret)
    }

    func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(self))
    }

    /// Decodes and validates a key file read from `key` (see ``validate(key:)``).
    /// - Throws: `corruptObject` when it is too large, does not hash to its name or is not valid
    ///   JSON; what ``validate(key:)`` throws.
    static func decode(_ bytes: [UInt8], key: ObjectKey) throws -> KeyFile {
        guard bytes.count <= encodedBytesMax else {
            throw BlockStoreError(.corruptObject, "key file \(key) is \(bytes.count) bytes, larger than any key file")
        }
        // A key file is named by the SHA-256 of its bytes, which makes every byte of it checked.
        guard key.rawValue.hasPrefix("keys/"), key.lastSegment == ChunkHasher.sha256.dataID(bytes).hex else {
            throw BlockStoreError(
                .corruptObject, "key file \(key) does not hash to its name: it was altered or truncated")
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        // The version first, so a key file of another format is named as such.
        struct Version: Decodable { var version: Int }
        if let probe = try? decoder.decode(Version.self, from: Data(bytes)), probe.version != formatVersion {
            throw BlockStoreError(
                .unsupportedFormat,
                "key file \(key) has format version \(probe.version); this build reads version \(formatVersion)")
        }
        let file: KeyFile
        do {
            file = try decoder.decode(KeyFile.self, from: Data(bytes))
        } catch {
            throw BlockStoreError(.corruptObject, "key file \(key) is not valid", underlying: error)
        }
        try file.validate(key: key)
        return file
    }
}
