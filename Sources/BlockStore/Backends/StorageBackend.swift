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
/// - ``get(_:)``, ``get(_:byteCountMax:)`` and ``get(_:range:)`` throw
///   ``BlockStoreError/Code/notFound`` for a missing key; a range past the end is clamped to the
///   object's end; an empty result is valid.
/// - ``get(_:byteCountMax:)`` throws ``BlockStoreError/Code/limitExceeded`` for an object larger
///   than the cap, before allocating room for it (an object of exactly the cap is read).
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
    ///
    /// Nothing bounds what this allocates: read objects that may be large or hostile with
    /// ``get(_:byteCountMax:)``.
    func get(_ key: ObjectKey) async throws -> [UInt8]

    /// Reads a whole object if it holds at most `byteCountMax` bytes.
    ///
    /// The size is checked before a buffer is allocated for the object (a file's `fstat`, an
    /// HTTP response's `Content-Length`, or a count kept while streaming), so a huge or endless
    /// object costs neither memory nor time. Use ``BlockStoreError/objectTooLarge(_:sizeBytes:byteCountMax:location:)``
    /// for the error. A default implementation checks ``size(_:)`` and then reads; backends
    /// that can check while reading implement it themselves.
    /// - Precondition: `byteCountMax >= 0`.
    /// - Throws: ``BlockStoreError`` `notFound` when the object does not exist, `limitExceeded`
    ///   (naming the key, its size and the cap) when it is larger than `byteCountMax`.
    func get(_ key: ObjectKey, byteCountMax: Int) async throws -> [UInt8]

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
    /// Reads a whole object of at most `byteCountMax` bytes: ``size(_:)`` first, then
    /// ``get(_:)`` (whose result is checked again, as the object may have been replaced
    /// meanwhile).
    ///
    /// Right for wrappers that forward to another backend's ``get(_:byteCountMax:)`` anyway;
    /// a backend that reads from storage itself should check the size where it reads, so a
    /// replaced object cannot slip past the cap.
    public func get(_ key: ObjectKey, byteCountMax: Int) async throws -> [UInt8] {
        precondition(byteCountMax >= 0, "byteCountMax must not be negative")
        guard let sizeBytes = try await size(key) else {
            throw BlockStoreError(.notFound, "object \(key) does not exist in \(location)")
        }
        guard sizeBytes <= UInt64(byteCountMax) else {
            throw BlockStoreError.objectTooLarge(
                key, sizeBytes: sizeBytes, byteCountMax: byteCountMax, location: location)
        }
        let bytes = try await get(key)
        guard bytes.count <= byteCountMax else {
            throw BlockStoreError.objectTooLarge(
                key, sizeBytes: UInt64(bytes.count), byteCountMax: byteCountMax, location: location)
        }
        return bytes
    }

    /// Lists every key under `prefix`, following continuations.
    ///
    /// Each page must advance: its keys ascending and after the previous page's, its
    /// continuation after the one it was asked with. A backend (or a server behind it) that
    /// repeats keys or hands back a continuation that does not move on would otherwise make this
    /// loop forever.
    /// - Complexity: One backend call per `pageSize` keys.
    /// - Throws: ``BlockStoreError`` `backendError` when a page does not advance; the backend's
    ///   own errors.
    public func listAll(prefix: String, pageSize: Int = ObjectListing.defaultPageSize) async throws -> [ObjectListing
        .Entry]
    {
        var all: [ObjectListing.Entry] = []
        var after: ObjectKey? = nil
        repeat {
            try Task.checkCancellation()
            let page = try await list(prefix: prefix, after: after, limit: pageSize)
            for entry in page.entries {
                let previous = all.last?.key ?? after
                guard previous.map({ $0 < entry.key }) ?? true else {
                    throw listingDoesNotAdvance(
                        prefix: prefix, "key \(entry.key) follows \(previous!), not after it")
                }
                all.append(entry)
            }
            if let next = page.continuation, let after, !(after < next) {
                throw listingDoesNotAdvance(
                    prefix: prefix, "the continuation \(next) does not follow the previous one \(after)")
            }
            after = page.continuation
        } while after != nil
        return all
    }

    /// The error for a listing page that does not move on.
    private func listingDoesNotAdvance(prefix: String, _ detail: String) -> BlockStoreError {
        BlockStoreError(
            .backendError,
            "the listing of '\(prefix)' in \(location) does not advance (\(detail)): the backend "
                + "or the service behind it repeats itself; stopped instead of looping")
    }
}
