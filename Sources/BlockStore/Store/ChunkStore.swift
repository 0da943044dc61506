import Crypto
import Foundation
import Synchronization

/// A content-addressed, compressed, verified and (optionally) encrypted store of chunks.
///
/// Blocks are named by their hash (``ChunkID``), compressed with zstd when that makes them
/// smaller, sealed with AES-256-GCM when the store is encrypted, and packed into pack objects
/// of about 16 MiB with index objects beside them, on any ``StorageBackend``. Every read is
/// verified: a chunk that does not hash back to its ID is an error, never wrong bytes.
/// All-zero blocks are never stored (their ID is ``ChunkID/zero``).
///
/// Writes become durable at ``flush()``; publish a root (``publishRoot(_:id:payload:)``) only
/// after it, so no root ever names a chunk that is not safely stored.
///
/// ```swift
/// let store = try await ChunkStore.create(on: MemoryBackend(), encryption: .none)
/// let stored = try await store.putBlock(Array(repeating: 7, count: 65536))
/// try await store.flush()
/// let bytes = try await store.chunk(stored.id)   // verified against its ID
/// try await store.close()
/// ```
public final class ChunkStore: NodeStore, Sendable {
    /// The backend holding the objects.
    public let backend: any StorageBackend
    /// The settings the store was created with.
    public let configuration: StoreConfiguration
    let crypto: ObjectCrypto
    let options: ChunkStoreOptions
    let zstd: ZstdContextPool
    let state: Mutex<WriterState>
    let lockHandle: StoreLockHandle?
    let masterSecret: SymmetricKey?
    /// What opening found wrong without stopping: key files that were skipped because they are
    /// damaged, of another format, beyond the key-derivation caps
    /// (``KeyDerivation/memoryBytesMax``, ``KeyDerivation/workMax``), or bound to another store.
    /// Each names its key file (`keys/<id>`); empty for a store just created and normally.
    /// Opening still succeeds when another key opens the store: show these to whoever runs it,
    /// and remove or restore the key files named (see ``keyListing()``).
    public let openWarnings: [BlockStoreError]

    struct WriterState: Sendable {
        var index = ChunkIndex()
        var pending: Set<ChunkID> = []
        var builder: PackBuilder
        var unindexed: [(packID: ChunkID, entries: [PackEntry])] = []
        var inFlight = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
        var failure: BlockStoreError? = nil
        var closed = false
        var counters = StoreCounters()
        var damagedIndexObjects: Set<ObjectKey> = []
    }

    private init(
        backend: any StorageBackend, configuration: StoreConfiguration, crypto: ObjectCrypto,
        options: ChunkStoreOptions, lock: StoreLockHandle?, masterSecret: SymmetricKey?,
        openWarnings: [BlockStoreError] = []
    ) {
        self.masterSecret = masterSecret
        self.openWarnings = openWarnings
        self.backend = backend
        self.configuration = configuration
        self.crypto = crypto
        self.options = options
        self.zstd = ZstdContextPool(level: Int32(configuration.compressionLevel))
        self.state = Mutex(
            WriterState(builder: PackBuilder(capacity: configuration.packTargetBytes + PackBuilder.capacitySlackBytes)))
        self.lockHandle = lock
    }

    /// Whether data and metadata are encrypted.
    public var isEncrypted: Bool { crypto.isEncrypted }

    /// The hasher that names this store's chunks (keyed in encrypted stores).
    public var hasher: ChunkHasher { crypto.hasher }

    static let configKey: ObjectKey = "config"

    /// Creates a new, empty store on `backend`.
    /// - Parameters:
    ///   - backend: Where the objects go; it must not already hold a store.
    ///   - encryption: `.passphrase(…)` (recommended) or `.none`.
    ///   - options: Compression, pack size, KDF, locking.
    /// - Throws: `alreadyExists` when the backend already holds a store (or key files of one);
    ///   `invalidArgument` for settings out of range (KDF parameters beyond the caps included).
    public static func create(
        on backend: any StorageBackend, encryption: StoreEncryption, options: ChunkStoreOptions = ChunkStoreOptions()
    ) async throws -> ChunkStore {
        guard ChunkStoreOptions.compressionLevelRange.contains(options.compressionLevel) else {
            throw BlockStoreError(.invalidArgument, "compression level \(options.compressionLevel) is outside 1…19")
        }
        guard ChunkStoreOptions.packTargetBytesRange.contains(options.packTargetBytes) else {
            throw BlockStoreError(
                .invalidArgument, "pack target \(options.packTargetBytes) bytes is outside 64 KiB…1 GiB")
        }
        try options.validateLocking()
        if try await backend.size(configKey) != nil {
            throw BlockStoreError(
                .alreadyExists, "\(backend.location) already holds a BlockSnap store; open it instead")
        }
        let storeID = Hex.random(byteCount: StoreConfiguration.storeIDByteCount)
        let crypto: ObjectCrypto
        var masterSecret: SymmetricKey? = nil
        switch encryption {
        case .none:
            // Key files beside an unencrypted config make a store that never opens (`tampered`).
            guard try await backend.listAll(prefix: "keys/").isEmpty else {
                throw BlockStoreError(
                    .alreadyExists,
                    "\(backend.location) holds key files of an earlier encrypted store; use an empty location")
            }
            crypto = .plain
        case .passphrase(let passphrase):
            let secret = SymmetricKey(size: .bits256)
            masterSecret = secret
            let file = try KeyFile.make(
                masterSecret: secret, storeID: storeID, passphrase: passphrase, parameters: options.keyDerivation,
                label: "initial")
            let bytes = try file.encoded()
            _ = try await backend.create(try keyObjectKey(for: bytes), data: bytes)
            crypto = ObjectCrypto(masterSecret: secret)
        }
        let config = StoreConfiguration(
            version: StoreConfiguration.formatVersion, storeID: storeID, encrypted: crypto.isEncrypted,
            compressionLevel: options.compressionLevel, packTargetBytes: options.packTargetBytes, created: Date(),
            defaultBlockSizeBytes: options.defaultBlockSizeBytes)
        guard try await backend.create(configKey, data: try config.encoded(crypto: crypto)) else {
            throw BlockStoreError(
                .alreadyExists, "another process created a store in \(backend.location) at the same time")
        }
        let lock = try await options.acquireLock(on: backend)
        return ChunkStore(
            backend: backend, configuration: config, crypto: crypto, options: options, lock: lock,
            masterSecret: masterSecret)
    }

    /// Opens an existing store.
    ///
    /// The store's settings are authenticated before anything else is read, and never weakened
    /// because an object says so:
    /// - Given a passphrase, the store must be encrypted and its config must authenticate under
    ///   the key that passphrase opens; a config that says "unencrypted", or that was sealed under
    ///   another key (another store's config), is `tampered`.
    /// - Without a passphrase, an encrypted store is `wrongPassphrase`; an unencrypted config must
    ///   pass its checksum (`corruptObject`), and key files beside it are `tampered` (a config
    ///   replaced by an unencrypted one).
    /// - Key files that are damaged, of another format, beyond the key-derivation caps or bound
    ///   to another store are skipped (scrypt never runs for them) and reported in
    ///   ``openWarnings`` when another key opens the store.
    ///
    /// - Parameters:
    ///   - backend: Where the store is.
    ///   - passphrase: Any of the store's passphrases; nil exactly for an unencrypted store.
    ///   - options: Locking and writer settings (compression and pack size come from the store).
    /// - Throws: `notFound` when there is no store; `wrongPassphrase` when no key opens with the
    ///   passphrase (or none was given for an encrypted store); `tampered` as above;
    ///   `unsupportedFormat` for a store of another format version (version 1 included);
    ///   `corruptObject` for a damaged config, or when no key opens and some were skipped (the
    ///   message names them); `locked`.
    public static func open(
        on backend: any StorageBackend, passphrase: String? = nil, options: ChunkStoreOptions = ChunkStoreOptions()
    ) async throws -> ChunkStore {
        try options.validateLocking()
        let raw: [UInt8]
        do {
            raw = try await backend.get(configKey, byteCountMax: ObjectSizeLimits.configuration)
        } catch let error as BlockStoreError where error.code == .notFound {
            throw BlockStoreError(.notFound, "there is no BlockSnap store in \(backend.location); create one first")
        }
        let location = backend.location
        let keyFiles = try await backend.listAll(prefix: "keys/").map(\.key).sorted()
        let unlocked: UnlockedStore
        if try StoreConfiguration.isSealed(raw, location: location) {
            guard let passphrase else {
                guard !keyFiles.isEmpty else {
                    throw BlockStoreError(.corruptObject, "the store in \(location) is encrypted but has no key files")
                }
                throw BlockStoreError(.wrongPassphrase, "the store in \(location) is encrypted: give its passphrase")
            }
            unlocked = try await unlock(config: raw, keyFiles: keyFiles, passphrase: passphrase, backend: backend)
        } else {
            guard passphrase == nil else {
                throw BlockStoreError(
                    .tampered,
                    "the store in \(location) says it is unencrypted, but a passphrase was given: if it was created encrypted, its config was replaced and it must not be used (nothing was written); if it really is unencrypted, open it without a passphrase"
                )
            }
            guard keyFiles.isEmpty else {
                throw BlockStoreError(
                    .tampered,
                    "the store in \(location) says it is unencrypted, but it holds \(keyFiles.count) key file\(keyFiles.count == 1 ? "" : "s"): its config was probably replaced to switch encryption off; restore the config from a trusted copy"
                )
            }
            unlocked = UnlockedStore(
                configuration: try StoreConfiguration.decode(raw, crypto: .plain, location: location),
                crypto: .plain, masterSecret: nil, warnings: [])
        }
        let lock = try await options.acquireLock(on: backend)
        let store = ChunkStore(
            backend: backend, configuration: unlocked.configuration, crypto: unlocked.crypto, options: options,
            lock: lock, masterSecret: unlocked.masterSecret, openWarnings: unlocked.warnings)
        do {
            try await store.refreshIndex()
        } catch {
            await lock?.release()
            throw error
        }
        return store
    }

    /// Flushes pending writes and releases the store's lock. Further writes fail.
    public func close() async throws {
        defer { state.withLock { $0.closed = true } }
        let closed = state.withLock { $0.closed }
        if closed { return }
        do {
            try await flush()
        } catch {
            await lockHandle?.release()
            throw error
        }
        await lockHandle?.release()
    }

    /// Counters and sizes of what this store instance knows.
    public var statistics: StoreStatistics {
        state.withLock { s in
            StoreStatistics(
                chunkCount: s.index.chunkCount, packCount: s.index.packCount,
                storedBytes: s.index.locations.values.reduce(0) { $0 + UInt64($1.length) },
                rawBytes: s.index.locations.values.reduce(0) { $0 + UInt64($1.rawLength) },
                session: s.counters)
        }
    }

    static func keyObjectKey(for bytes: [UInt8]) throws -> ObjectKey {
        try ObjectKey(validating: "keys/\(ChunkHasher.sha256.dataID(bytes).hex)")
    }

    static func dataKey(_ packID: ChunkID) -> ObjectKey {
        let hex = packID.hex
        return ObjectKey("data/\(hex.prefix(2))/\(hex)")!
    }

    static func indexKey(_ id: ChunkID) -> ObjectKey { ObjectKey("index/\(id.hex)")! }

    func failIfUnusable() throws {
        try state.withLock { s in
            if s.closed { throw BlockStoreError(.storeClosed, "the store was closed; open it again to write") }
            if let failure = s.failure {
                throw BlockStoreError(
                    .storeClosed, "an earlier write to this store failed, so it accepts no more: \(failure.message)",
                    underlying: failure)
            }
        }
        try lockHandle?.checkHeld()
    }
}

/// Sizes of a store as this instance knows them.
public struct StoreStatistics: Sendable, Equatable {
    /// Distinct chunks stored.
    public var chunkCount: Int
    /// Pack objects.
    public var packCount: Int
    /// Bytes the chunks take in packs (compressed, sealed).
    public var storedBytes: UInt64
    /// Bytes the chunks hold decoded.
    public var rawBytes: UInt64
    /// What this instance did since it opened.
    public var session: StoreCounters
}

/// What a store instance did since it opened.
public struct StoreCounters: Sendable, Equatable {
    /// Blocks offered to ``ChunkStore/putBlock(_:)-(UnsafeRawBufferPointer)``.
    public var blocksOffered: Int = 0
    /// Of those, all-zero blocks (not stored).
    public var zeroBlocks: Int = 0
    /// Of those, already stored (deduplicated).
    public var duplicateBlocks: Int = 0
    /// New chunks written.
    public var newChunks: Int = 0
    /// Bytes of new chunks before compression.
    public var newRawBytes: UInt64 = 0
    /// Bytes of new chunks as stored.
    public var newStoredBytes: UInt64 = 0
    /// Packs uploaded.
    public var packsWritten: Int = 0
    /// Index objects written.
    public var indexObjectsWritten: Int = 0
}
