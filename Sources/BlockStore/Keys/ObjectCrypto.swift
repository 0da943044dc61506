import Crypto
import Foundation

/// How a store names and protects its objects: the chunk-ID hasher and, when the store is
/// encrypted, the AES-256-GCM key for data and metadata.
package struct ObjectCrypto: Sendable {
    package let hasher: ChunkHasher
    package let key: SymmetricKey?

    /// Bytes that sealing adds to a plaintext: 12-byte nonce + 16-byte tag.
    package static let sealOverhead = 28

    package static let plain = ObjectCrypto(hasher: .sha256, key: nil)

    package init(hasher: ChunkHasher, key: SymmetricKey?) {
        self.hasher = hasher
        self.key = key
    }

    /// Derives both keys from a store's 32-byte master secret.
    package init(masterSecret: SymmetricKey) {
        let enc = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: masterSecret, info: Array("blocksnap.encrypt.v1".utf8), outputByteCount: 32)
        let ids = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: masterSecret, info: Array("blocksnap.chunk-id.v1".utf8), outputByteCount: 32)
        self.init(hasher: .keyed(ids), key: enc)
    }

    package var isEncrypted: Bool { key != nil }

    /// Seals `plaintext` (nonce ‖ ciphertext ‖ tag), or returns it unchanged without a key.
    package func seal(_ plaintext: UnsafeRawBufferPointer, aad: [UInt8]) throws -> [UInt8] {
        guard let key else { return Array(plaintext) }
        do {
            let box = try AES.GCM.seal(plaintext, using: key, authenticating: aad)
            guard let combined = box.combined else {
                throw BlockStoreError(.invalidArgument, "AES-GCM produced no combined form")
            }
            return Array(combined)
        } catch let error as BlockStoreError {
            throw error
        } catch {
            throw BlockStoreError(.invalidArgument, "encryption failed", underlying: error)
        }
    }

    package func seal(_ plaintext: [UInt8], aad: [UInt8]) throws -> [UInt8] {
        try plaintext.withUnsafeBytes { try seal($0, aad: aad) }
    }

    /// Opens what ``seal(_:aad:)-(UnsafeRawBufferPointer,_)`` made.
    /// - Throws: `authenticationFailed` when the bytes were altered or sealed under another key.
    package func open(_ sealed: UnsafeRawBufferPointer, aad: [UInt8], what: @autoclosure () -> String) throws -> [UInt8]
    {
        guard let key else { return Array(sealed) }
        guard sealed.count >= ObjectCrypto.sealOverhead else {
            throw BlockStoreError(.truncatedObject, "\(what()) is \(sealed.count) bytes, too short to be sealed")
        }
        do {
            let box = try AES.GCM.SealedBox(combined: sealed)
            return Array(try AES.GCM.open(box, using: key, authenticating: aad))
        } catch {
            throw BlockStoreError(
                .authenticationFailed,
                "\(what()) failed authentication: it was altered, truncated, or belongs to another store",
                underlying: error)
        }
    }

    package func open(_ sealed: [UInt8], aad: [UInt8], what: @autoclosure () -> String) throws -> [UInt8] {
        try sealed.withUnsafeBytes { try open($0, aad: aad, what: what()) }
    }
}
