/// Where a store's objects live: an object store with immutable objects.
///
/// The protocol is shaped after object storage (S3 and its kin), so the same store format runs
/// on a local directory, in memory, or in a bucket: objects are written whole and never changed;
/// there is no rename and no append. Object names are `/`-separated keys made of
/// `[A-Za-z0-9._-]` segments (see ``ObjectKey``).
///
/// Requirements every implementation meets (the conformance suite in `BlockStoreTesting`
/// checks them):
/// - ``put(_:data:)`` is atomic: a reader sees the whole object or no object, never a prefix.
/// - ``create(_:data:)`` is create-only: when the key exists it returns `false` and leaves the
///   object untouched. Backends whose service cannot guarantee this say so with
///   ``createIsAtomic``; the store never depends on it alone for safety.
/// - ``get(_:)`` and ``get(_:range:)`` throw ``BlockStoreError/Code/notFound`` for a missing
///   key; a range past the end is clamped to the object's end; an empty result is valid.
/// - ``list(prefix:after:limit:)`` returns keys in ascending byte order, at most `limit`,
///   strictly after `after`, with a continuation when more remain. `prefix` is a plain string
///   prefix, as in S3: `a/b` matches `a/b/c`, `a/b-c` and `a/bc`; end it with `/` to list one
///   folder.
/// - ``delete(_:)`` is idempotent: deleting a missing key succeeds.
public protocol StorageBackend: Sendable {
    /// A short description for messages, e.g. `"directory /var/lib/blocksnap"`.
    var location: String { get }

    /// Whether ``create(_:data:)`` is guaranteed atomic against concurrent creators.
    var createIsAtomic: Bool { get }

    /// Writes an object, replacing any object of the same key, atomically.
    func put(_ key: ObjectKey, data: [UInt8]) async throws

    /// Writes an object only if no object has the key.
    /// - Returns: `true` if this call created it, `false` if the key already existed.
    func create(_ key: ObjectKey, data: [UInt8]) async throws -> Bool

    /// Reads a whole object.
    func get(_ key: ObjectKey) async throws -> [UInt8]

    /// Reads the bytes `range` of an object (clamped to its end).
    func get(_ key: ObjectKey, range: Range<UInt64>) async throws -> [UInt8]

    /// The size of an object in bytes, or nil when it does not exist.
    func size(_ key: ObjectKey) async throws -> UInt64?

    /// Lists keys that start with `prefix`, in ascending order, strictly after `after`.
    func list(prefix: String, after: ObjectKey?, limit: Int) async throws -> ObjectListing

    /// Deletes an object; succeeds when it does not exist.
    func delete(_ key: ObjectKey) async throws
}

/// One page of a listing.
public struct ObjectListing: Sendable, Equatable {
    /// The keys of this page, ascending, each with its size in bytes.
    public var entries: [Entry]
    /// Pass as `after` to get the next page; nil when the listing is complete.
    public var continuation: ObjectKey?

    /// A listed object.
    public struct Entry: Sendable, Equatable {
        /// The object's key.
        public var key: ObjectKey
        /// The object's size in bytes.
        public var sizeBytes: UInt64
        /// Creates an entry.
        public init(key: ObjectKey, sizeBytes: UInt64) {
            self.key = key
            self.sizeBytes = sizeBytes
        }
    }

    /// The page size ``StorageBackend/listAll(prefix:pageSize:)`` asks for by default: the most
    /// keys S3's ListObjectsV2 returns per request, so one page is one request there.
    public static let defaultPageSize = 1000

    /// Creates a listing page.
    public init(entries: [Entry], continuation: ObjectKey?) {
        self.entries = entries
        self.continuation = continuation
    }
}

extension StorageBackend {
    /// Lists every key under `prefix`, following continuations.
    /// - Complexity: One backend call per `pageSize` keys.
    public func listAll(prefix: String, pageSize: Int = ObjectListing.defaultPageSize) async throws -> [ObjectListing
        .Entry]
    {
        var all: [ObjectListing.Entry] = []
        var after: ObjectKey? = nil
        repeat {
            try Task.checkCancellation()
            let page = try await list(prefix: prefix, after: after, limit: pageSize)
            all.append(contentsOf: page.entries)
            after = page.continuation
        } while after != nil
        return all
    }
}
