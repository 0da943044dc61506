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
    /// How long to wait for a conflicting lock before failing with `locked`.
    public var lockTimeout: Duration = .seconds(30)
    /// A lock not refreshed for this long is stale.
    public var lockStaleAfter: Duration = .seconds(30 * 60)
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
