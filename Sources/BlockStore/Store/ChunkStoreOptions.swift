import Foundation

/// Settings for creating or opening a ``ChunkStore``.
public struct ChunkStoreOptions: Sendable {
    /// zstd level for new stores (1…19). Level 1 is the measured default.
    public var compressionLevel: Int = 1
    /// Packs close once they reach this many bytes (64 KiB … 1 GiB; default 16 MiB).
    public var packTargetBytes: Int = 16 << 20
    /// The block size recorded as the default for new chains of a new store.
    public var defaultBlockSizeBytes: Int = 64 * 1024
    /// scrypt parameters for new key files.
    public var keyDerivation: KeyDerivation = .default
    /// Which lock the opened store holds until ``ChunkStore/close()``.
    public var lock: StoreLockMode = .shared
    /// How long to wait for a conflicting lock before failing with `locked` (0 … 24 h).
    public var lockTimeout: Duration = .seconds(30)
    /// The stale interval of store locks (50 ms … 24 h; default 30 minutes).
    ///
    /// A held lock is refreshed every quarter of it; a holder whose refreshes fail for half of it
    /// stops with `lockLost`. Another process judges a lock stale once *it* has seen the lock's
    /// refresh counter unchanged for this long, by its own clock, so clock skew between hosts never
    /// matters; the lock of a process that died on another host is therefore taken over only by a
    /// process that waits (or keeps retrying) at least this long. A lock left by a process that
    /// ended on this host is stale at once.
    public var lockStaleAfter: Duration = .seconds(30 * 60)
    /// The wall clock written into lock records, for messages only (tests skew it).
    package var lockWallClock: @Sendable () -> Date = { Date() }
    /// What this process remembers of other processes' locks (tests use their own).
    package var lockObservations: LockObservations = .shared
    /// Packs written before an index object is written for them (a crash loses at most these
    /// packs' worth of dedup, never committed data: roots are published only after a flush).
    public var packsPerIndexObject: Int = 16

    /// Default settings.
    public init() {}
}

/// How a new store protects its contents.
public enum StoreEncryption: Sendable {
    /// No encryption: chunk IDs are plain SHA-256, objects are readable by anyone with access.
    case none
    /// AES-256-GCM for data and metadata, HMAC-SHA256 chunk IDs, under a master key sealed by
    /// this passphrase (scrypt).
    case passphrase(String)
}

extension ChunkStoreOptions {
    /// Checks the lock settings' bounds.
    func validateLocking() throws {
        guard lockStaleAfter >= .milliseconds(50), lockStaleAfter <= .seconds(24 * 3600) else {
            throw BlockStoreError(.invalidArgument, "lock stale interval \(lockStaleAfter) is outside 50 ms…24 h")
        }
        guard lockTimeout >= .zero, lockTimeout <= .seconds(24 * 3600) else {
            throw BlockStoreError(.invalidArgument, "lock timeout \(lockTimeout) is outside 0…24 h")
        }
    }

    /// Takes the lock these options ask for on `backend` (nil for ``StoreLockMode/none``).
    func acquireLock(on backend: any StorageBackend) async throws -> StoreLockHandle? {
        try await StoreLockHandle.acquire(
            lock, backend: backend, staleAfter: lockStaleAfter, timeout: lockTimeout, wallClock: lockWallClock,
            observations: lockObservations)
    }
}
