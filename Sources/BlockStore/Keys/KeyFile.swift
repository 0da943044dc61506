import Crypto
import CryptoExtras
import Foundation

/// A key file: the store's master secret sealed under a key derived from one passphrase.
///
/// A store has one key file per passphrase (`keys/<id>`); adding or removing a passphrase adds or
/// removes a key file and never re-encrypts data. The master secret is never stored in clear.
struct KeyFile: Codable, Sendable {
    var version: Int
    var kdf: String
    var parameters: KeyDerivation
    var salt: String
    var sealedMasterSecret: String
    var created: Date
    var label: String

    static let aad = Array("blocksnap.keyfile.v1".utf8)
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

    static func derive(_ passphrase: String, salt: [UInt8], parameters: KeyDerivation) throws -> SymmetricKey {
        try parameters.validate()
        do {
            return try KDF.Scrypt.deriveKey(
                from: Array(passphrase.utf8), salt: salt, outputByteCount: keyByteCount,
                rounds: parameters.n, blockSize: parameters.r, parallelism: parameters.p)
        } catch {
            throw BlockStoreError(.invalidArgument, "scrypt key derivation failed", underlying: error)
        }
    }

    /// Seals `masterSecret` under `passphrase`.
    static func make(masterSecret: SymmetricKey, passphrase: String, parameters: KeyDerivation, label: String) throws
        -> KeyFile
    {
        guard !passphrase.isEmpty else {
            throw BlockStoreError(.invalidArgument, "the passphrase is empty: choose a non-empty passphrase")
        }
        var salt = [UInt8](repeating: 0, count: saltByteCount)
        var rng = SystemRandomNumberGenerator()
        for i in salt.indices { salt[i] = UInt8.random(in: 0...255, using: &rng) }
        let kek = try derive(passphrase, salt: salt, parameters: parameters)
        let sealed = try masterSecret.withUnsafeBytes { secret in
            try AES.GCM.seal(secret, using: kek, authenticating: aad).combined!
        }
        return KeyFile(
            version: 1, kdf: "scrypt", parameters: parameters, salt: Data(salt).base64EncodedString(),
            sealedMasterSecret: sealed.base64EncodedString(), created: Date(), label: label)
    }

    /// Opens the master secret, or returns nil when the passphrase is not this file's.
    func open(passphrase: String) throws -> SymmetricKey? {
        guard version == 1, kdf == "scrypt" else {
            throw BlockStoreError(.unsupportedFormat, "key file version \(version) with KDF \(kdf) is not supported")
        }
        guard let salt = Data(base64Encoded: self.salt), KeyFile.saltBytesRange.contains(salt.count),
            let sealed = Data(base64Encoded: sealedMasterSecret)
        else {
            throw BlockStoreError(.corruptObject, "key file has a malformed salt or sealed secret")
        }
        let kek = try KeyFile.derive(passphrase, salt: Array(salt), parameters: parameters)
        guard let box = try? AES.GCM.SealedBox(combined: sealed),
            let secret = try? AES.GCM.open(box, using: kek, authenticating: KeyFile.aad)
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
        do {
            return try decoder.decode(KeyFile.self, from: Data(bytes))
        } catch {
            throw BlockStoreError(.corruptObject, "key file \(key) is not valid", underlying: error)
        }
    }
}
