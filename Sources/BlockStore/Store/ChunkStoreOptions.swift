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

    /// The zstd levels a store accepts: zstd's regular levels. The ultra levels above 19 need
    /// far more memory per compression context than a backup host should spend on each worker.
    public static let compressionLevelRange = 1...19
    /// The pack targets a store accepts: at least 64 KiB, so a pack holds more than one default
    /// block and the object count stays manageable; at most 1 GiB, the largest pack the format
    /// allows (chunk offsets are 32-bit and a pack is assembled in memory).
    public static let packTargetBytesRange = (64 << 10)...PackFormat.packBytesMax
    /// The stale intervals a store accepts: at least 50 ms, so a holder can refresh several times
    /// within one interval even on a loaded host; at most a day, the longest any reader honours.
    public static let lockStaleAfterRange: ClosedRange<Duration> =
        .milliseconds(50)...LockObject.durationMax
    /// The lock timeouts a store accepts: from not waiting at all to a day.
    public static let lockTimeoutRange: ClosedRange<Duration> = .zero...LockObject.durationMax
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
        guard Self.lockStaleAfterRange.contains(lockStaleAfter) else {
            throw BlockStoreError(.invalidArgument, "lock stale interval \(lockStaleAfter) is outside 50 ms…24 h")
        }
        guard Self.lockTimeoutRange.contains(lockTimeout) else {
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
