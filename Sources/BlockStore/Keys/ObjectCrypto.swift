import Crypto
import Foundation

/// How a store names and protects its objects: the chunk-ID hasher and, when the store is
/// encrypted, the AES-256-GCM key for data and metadata.
///
/// Every seal names the object's `ObjectRole` (its role and name) as associated data, so a
/// sealed object opens only as what it was sealed as. Metadata (config, index objects, pack
/// headers, roots) of unencrypted stores carries a keyless checksum bound the same way, so
/// damage and misplaced objects are found there too; chunks of unencrypted stores need none, as
/// every read hashes their content back to their ID.
package struct ObjectCrypto: Sendable {
    package let hasher: ChunkHasher
    package let key: SymmetricKey?

    /// Bytes that sealing adds to a plaintext: 12-byte nonce + 16-byte tag.
    package static let sealOverhead = 28
    /// Bytes of the checksum that unencrypted stores append to metadata: the first 16 bytes of
    /// `SHA-256("blocksnap.v2.checksum" ‖ u32 length of the role's associated data ‖ that data ‖ body)`.
    package static let checksumBytes = 16

    package static let plain = ObjectCrypto(hasher: .sha256, key: nil)

    private static let checksumDomain = Array("blocksnap.v2.checksum".utf8)

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

    /// Bytes a metadata object's protection adds to its plaintext in this store.
    package var metadataOverhead: Int { isEncrypted ? ObjectCrypto.sealOverhead : ObjectCrypto.checksumBytes }

    // MARK: Metadata: config, index objects, pack headers, roots

    /// Seals a metadata object as `role`: `nonce ‖ ciphertext ‖ tag` in encrypted stores,
    /// `plaintext ‖ checksum` in unencrypted ones.
    package func seal(_ plaintext: [UInt8], as role: ObjectRole) throws -> [UInt8] {
        precondition(!role.isChunk, "chunks are sealed with withSealedChunk(_:id:kind:_:)")
        guard let key else {
            return plaintext + plaintext.withUnsafeBytes { ObjectCrypto.checksum($0, role: role) }
        }
        return try plaintext.withUnsafeBytes { try ObjectCrypto.aesSeal($0, key: key, role: role) }
    }

    /// Opens a metadata object that `seal(_:as:)` made as `role`.
    /// - Throws: `authenticationFailed` (encrypted stores) or `corruptObject` (unencrypted stores)
    ///   when the bytes were altered, sealed as another role or name, or under another key;
    ///   `truncatedObject` when they are too short to hold a seal.
    package func open(_ sealed: UnsafeRawBufferPointer, as role: ObjectRole, what: @autoclosure () -> String) throws
        -> [UInt8]
    {
        precondition(!role.isChunk, "chunks are opened with openChunk(_:id:kind:what:)")
        guard let key else {
            guard sealed.count >= ObjectCrypto.checksumBytes else {
                throw BlockStoreError(
                    .truncatedObject, "\(what()) is \(sealed.count) bytes, too short to hold its checksum")
            }
            let body = UnsafeRawBufferPointer(rebasing: sealed[..<(sealed.count - ObjectCrypto.checksumBytes)])
            let stored = sealed[(sealed.count - ObjectCrypto.checksumBytes)...]
            guard ObjectCrypto.checksum(body, role: role).elementsEqual(stored) else {
                throw BlockStoreError(
                    .corruptObject,
                    "\(what()) fails its checksum: it was altered, truncated, or belongs under another name")
            }
            return Array(body)
        }
        return try ObjectCrypto.aesOpen(sealed, key: key, role: role, what: what())
    }

    /// Opens a metadata object held in an array (see `open(_:as:what:)`).
    package func open(_ sealed: [UInt8], as role: ObjectRole, what: @autoclosure () -> String) throws -> [UInt8] {
        try sealed.withUnsafeBytes { try open($0, as: role, what: what()) }
    }

    // MARK: Chunks

    /// Seals a chunk's stored form (`flags ‖ payload`), bound to its ID and kind, and hands the
    /// sealed bytes to `body` in place (no copy into an array); `body` gets `plaintext` itself in
    /// unencrypted stores. The bytes are valid only during the call.
    package func withSealedChunk<R>(
        _ plaintext: UnsafeRawBufferPointer, id: ChunkID, kind: ChunkKind, _ body: (UnsafeRawBufferPointer) -> R
    ) throws -> R {
        guard let key else { return body(plaintext) }
        return try ObjectCrypto.aesSealData(plaintext, key: key, role: .chunk(id: id, kind: kind))
            .withUnsafeBytes { body($0) }
    }

    /// Opens a sealed chunk as the chunk `id` of `kind`; returns the bytes unchanged in
    /// unencrypted stores (their content is checked against the ID by the caller).
    /// - Throws: `authenticationFailed` when the bytes were altered or are another chunk's.
    package func openChunk(_ sealed: [UInt8], id: ChunkID, kind: ChunkKind, what: @autoclosure () -> String) throws
        -> [UInt8]
    {
        guard let key else { return sealed }
        return try sealed.withUnsafeBytes {
            try ObjectCrypto.aesOpen($0, key: key, role: .chunk(id: id, kind: kind), what: what())
        }
    }

    /// Opens a sealed chunk as `openChunk(_:id:kind:what:)` does and hands the opened bytes to
    /// `body` (valid during the call), without copying them out: unencrypted stores hand the
    /// stored bytes themselves.
    /// - Throws: `authenticationFailed` when the bytes were altered or are another chunk's.
    package func withOpenedChunk<R>(
        _ sealed: UnsafeRawBufferPointer, id: ChunkID, kind: ChunkKind, what: @autoclosure () -> String,
        _ body: (UnsafeRawBufferPointer) throws -> R
    ) throws -> R {
        guard let key else { return try body(sealed) }
        let plain = try ObjectCrypto.aesOpenData(sealed, key: key, role: .chunk(id: id, kind: kind), what: what())
        return try plain.withUnsafeBytes(body)
    }

    // MARK: Primitives

    /// The keyless checksum of `body` as `role` (unencrypted stores' metadata).
    static func checksum(_ body: UnsafeRawBufferPointer, role: ObjectRole) -> [UInt8] {
        let aad = role.associatedData
        var h = SHA256()
        h.update(data: checksumDomain)
        withUnsafeBytes(of: UInt32(aad.count).littleEndian) { h.update(bufferPointer: $0) }
        h.update(data: aad)
        h.update(bufferPointer: body)
        return Array(h.finalize().prefix(checksumBytes))
    }

    private static func aesSeal(_ plaintext: UnsafeRawBufferPointer, key: SymmetricKey, role: ObjectRole) throws
        -> [UInt8]
    {
        Array(try aesSealData(plaintext, key: key, role: role))
    }

    private static func aesSealData(_ plaintext: UnsafeRawBufferPointer, key: SymmetricKey, role: ObjectRole) throws
        -> Data
    {
        do {
            let box = try AES.GCM.seal(plaintext, using: key, authenticating: role.associatedData)
            guard let combined = box.combined else {
                throw BlockStoreError(.invalidArgument, "AES-GCM produced no combined form")
            }
            return combined
        } catch let error as BlockStoreError {
            throw error
        } catch {
            throw BlockStoreError(.invalidArgument, "encryption failed", underlying: error)
        }
    }

    private static func aesOpen(
        _ sealed: UnsafeRawBufferPointer, key: SymmetricKey, role: ObjectRole, what: @autoclosure () -> String
    ) throws -> [UInt8] {
        Array(try aesOpenData(sealed, key: key, role: role, what: what()))
    }

    private static func aesOpenData(
        _ sealed: UnsafeRawBufferPointer, key: SymmetricKey, role: ObjectRole, what: @autoclosure () -> String
    ) throws -> Data {
        guard sealed.count >= sealOverhead else {
            throw BlockStoreError(.truncatedObject, "\(what()) is \(sealed.count) bytes, too short to be sealed")
        }
        do {
            let box = try AES.GCM.SealedBox(combined: sealed)
            return try AES.GCM.open(box, using: key, authenticating: role.associatedData)
        } catch {
            throw BlockStoreError(
                .authenticationFailed,
                "\(what()) failed authentication: it was altered, truncated, moved from another name, or belongs to another store",
                underlying: error)
        }
    }
}

extension ObjectRole {
    /// Whether this is a chunk's role (sealed only in encrypted stores, never checksummed).
    var isChunk: Bool {
        if case .chunk = self { return true }
        return false
    }
}
