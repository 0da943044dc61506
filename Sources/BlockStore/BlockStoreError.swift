/// The one error type of the `BlockStore` module.
///
/// Every failure carries a ``code`` a program can switch on, a ``message`` that says what
/// happened and what to do about it, and the ``underlying`` cause when there is one
/// (an `errno`, a zstd error, a backend's own error).
///
/// Outcomes are not errors: "already stored" or "not changed" are return values.
/// Corruption found in stored objects is an error with its own code, never a trap.
public struct BlockStoreError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is. Codes may be added in later versions; switch with a default.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case notFound, alreadyExists, corruptObject, truncatedObject, unsupportedFormat
            case wrongPassphrase, authenticationFailed, invalidArgument, ioError, backendError
            case compressionError, locked, cancelled, storeClosed, limitExceeded, notEncrypted
            case damaged, lockLost, tampered
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The object or chunk does not exist.
        public static let notFound = Code(.notFound)
        /// A create-only write found the object already there.
        public static let alreadyExists = Code(.alreadyExists)
        /// A stored object failed verification (bad magic, bad hash, bad structure).
        public static let corruptObject = Code(.corruptObject)
        /// A stored object is shorter than its format requires.
        public static let truncatedObject = Code(.truncatedObject)
        /// An object uses a format version this build does not understand.
        public static let unsupportedFormat = Code(.unsupportedFormat)
        /// No key file of the store opens with the given passphrase.
        public static let wrongPassphrase = Code(.wrongPassphrase)
        /// Authenticated decryption failed: the object was tampered with or belongs elsewhere.
        public static let authenticationFailed = Code(.authenticationFailed)
        /// The caller passed a value outside what the API accepts.
        public static let invalidArgument = Code(.invalidArgument)
        /// A local file-system call failed.
        public static let ioError = Code(.ioError)
        /// A backend failed for a reason of its own (network, service error).
        public static let backendError = Code(.backendError)
        /// zstd failed to compress or decompress.
        public static let compressionError = Code(.compressionError)
        /// Another process holds a conflicting lock on the store.
        public static let locked = Code(.locked)
        /// The operation was cancelled.
        public static let cancelled = Code(.cancelled)
        /// The store or writer was closed, or failed earlier and refuses more work.
        public static let storeClosed = Code(.storeClosed)
        /// A hard limit (object size, entry count, nesting) would be exceeded.
        public static let limitExceeded = Code(.limitExceeded)
        /// An operation that needs an encrypted store was asked of an unencrypted one.
        public static let notEncrypted = Code(.notEncrypted)

        /// The store is damaged where the operation needs it to be whole (an unreadable root,
        /// index object or pack header, a chunk a root reaches that no pack holds), so the
        /// operation stopped before changing anything. ``BlockStoreError/underlying`` is a
        /// ``DamageReport`` naming what is damaged; `repair` and `verify` say what to do next.
        public static let damaged = Code(.damaged)
        /// This process lost its store lock (its refresh failed or another process removed it),
        /// so it stopped writing before a garbage collection could take the store over.
        public static let lockLost = Code(.lockLost)
        /// The store's settings or keys were altered in a way that would weaken it, so it was not
        /// opened: its config does not authenticate under the key the passphrase opens (altered,
        /// or another store's), it says "unencrypted" while a passphrase was given or key files
        /// are present, or it contradicts itself. A store never switches encryption off, or takes
        /// another store's settings, because an object said so; restore the config (and key
        /// files) from a trusted copy.
        public static let tampered = Code(.tampered)

        /// The code's stable name, e.g. `"corruptObject"`.
        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// What happened and what to do about it, for a person.
    public var message: String
    /// The cause, when another error led to this one.
    public var underlying: (any Error & Sendable)?

    /// Creates an error.
    /// - Parameters:
    ///   - code: The kind of failure.
    ///   - message: What happened and what to do about it.
    ///   - underlying: The cause, if any.
    public init(_ code: Code, _ message: String, underlying: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    /// The error as one line: code, message and cause.
    public var description: String {
        if let underlying {
            return "\(code): \(message) (cause: \(underlying))"
        }
        return "\(code): \(message)"
    }
}

extension BlockStoreError {
    /// An `ioError` built from an `errno` value and the operation that failed.
    package static func errno(_ value: Int32, _ what: String) -> BlockStoreError {
        BlockStoreError(.ioError, "\(what): \(String(cString: strerror(value))) (errno \(value))")
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
