import BlockStore
import PageRangeDiff

/// The one error type of the `RecoveryChain` module.
///
/// Carries a ``code`` to switch on, a ``message`` that says what happened and what to do, and the
/// ``underlying`` cause (a `BlockStoreError`, an `errno`, a participant's error).
public struct RecoveryChainError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is. Codes may be added; switch with a default.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case invalidArgument, notFound, operationInProgress, diskFailed, ioError
            case chainIntegrity, corruptMetadata, storeError, cancelled, limitExceeded
            case damaged, baseMismatch
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The caller passed something outside what the API accepts.
        public static let invalidArgument = Code(.invalidArgument)
        /// The item, point or disk does not exist.
        public static let notFound = Code(.notFound)
        /// Another backup or restore of the same item is running ("another operation is in
        /// progress").
        public static let operationInProgress = Code(.operationInProgress)
        /// Reading one of the item's disks failed, so no point was recorded.
        public static let diskFailed = Code(.diskFailed)
        /// A local file operation (restore target, disk file) failed.
        public static let ioError = Code(.ioError)
        /// The request would break the chain (e.g. expiring the latest point).
        public static let chainIntegrity = Code(.chainIntegrity)
        /// A point's stored metadata is damaged or hostile.
        public static let corruptMetadata = Code(.corruptMetadata)
        /// The store failed; see ``underlying``.
        public static let storeError = Code(.storeError)
        /// The job was cancelled; nothing partial is visible.
        public static let cancelled = Code(.cancelled)
        /// A limit (tags, metadata size, disks) would be exceeded.
        public static let limitExceeded = Code(.limitExceeded)

        /// Something the operation needs is damaged in the store (an unreadable point, a
        /// chunk no pack holds), so it stopped before changing anything; run verify or repair.
        public static let damaged = Code(.damaged)
        /// Host-tracked changed ranges are relative to a point that is not the item's latest
        /// complete point with that disk, so building on them would record wrong bytes.
        public static let baseMismatch = Code(.baseMismatch)

        /// The code's stable name, e.g. `"operationInProgress"`.
        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// What happened and what to do about it.
    public var message: String
    /// The cause, if another error led to this one.
    public var underlying: (any Error)?

    /// Creates an error.
    public init(_ code: Code, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    /// The error as one line: code, message and cause.
    public var description: String {
        if let underlying { return "\(code): \(message) (cause: \(underlying))" }
        return "\(code): \(message)"
    }

    /// Wraps any error met while running a job, keeping RecoveryChain errors as they are.
    static func wrap(_ error: any Error, _ context: String) -> RecoveryChainError {
        if let error = error as? RecoveryChainError { return error }
        if error is CancellationError {
            return RecoveryChainError(.cancelled, "\(context) was cancelled; nothing partial was recorded")
        }
        if let store = error as? BlockStoreError {
            if store.code == .cancelled {
                return RecoveryChainError(.cancelled, "\(context) was cancelled", underlying: store)
            }
            if store.code == .damaged {
                return RecoveryChainError(.damaged, "\(context) stopped: \(store.message)", underlying: store)
            }
            return RecoveryChainError(
                .storeError, "\(context) failed in the store: \(store.message)", underlying: store)
        }
        if let diff = error as? PageRangeDiffError {
            let code: Code =
                [.invalidArgument, .invalidMarker, .limitExceeded].contains(diff.code)
                ? .invalidArgument : .corruptMetadata
            return RecoveryChainError(code, "\(context): \(diff.message)", underlying: diff)
        }
        return RecoveryChainError(.storeError, "\(context) failed: \(error)", underlying: error)
    }

    static func errno(_ value: Int32, _ what: String) -> RecoveryChainError {
        RecoveryChainError(.ioError, "\(what): \(String(cString: strerror(value))) (errno \(value))")
    }
}

#if canImport(Glibc)
    import Glibc
#endif
