/// The one error type of the `PageRangeDiff` module.
///
/// Every failure carries a ``code`` a program can switch on, a ``message`` that says what
/// happened and what to do about it, and the ``underlying`` cause when there is one (for
/// example the `BlockStoreError` of a node that could not be read).
///
/// Damaged or hostile map nodes are reported with ``Code/corruptNode`` and never produce a
/// wrong diff; bad requests (unaligned ranges, foreign markers) are ``Code/invalidArgument`` or
/// ``Code/invalidMarker``.
public struct PageRangeDiffError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is. Codes may be added in later versions; switch with a default.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case invalidArgument, invalidMarker, geometryMismatch, corruptNode, nodeNotFound
            case unsupportedFormat, limitExceeded, storeError, chunkReadFailed
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The caller passed a value outside what the API accepts (unaligned or out-of-range
        /// byte range, unsorted changes, a block index past the disk's end, a bad size).
        public static let invalidArgument = Code(.invalidArgument)
        /// A continuation marker is malformed or belongs to a different diff request.
        public static let invalidMarker = Code(.invalidMarker)
        /// Two maps cannot be compared: different block sizes or tree shapes.
        public static let geometryMismatch = Code(.geometryMismatch)
        /// A map node is damaged or hostile (wrong level, slot beyond the fan-out, entry past the
        /// disk's end, bad header, undecodable bytes).
        public static let corruptNode = Code(.corruptNode)
        /// A node a map refers to is missing from the store.
        public static let nodeNotFound = Code(.nodeNotFound)
        /// A node uses a map format version this build does not understand.
        public static let unsupportedFormat = Code(.unsupportedFormat)
        /// A hard limit (disk size, tree depth, page size) would be exceeded.
        public static let limitExceeded = Code(.limitExceeded)
        /// The node store failed for a reason of its own (I/O, network).
        public static let storeError = Code(.storeError)
        /// Exact mode could not read a chunk's content.
        public static let chunkReadFailed = Code(.chunkReadFailed)

        /// The code's stable name, e.g. `"corruptNode"`.
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

    /// The code, the message and the cause, on one line.
    public var description: String {
        if let underlying {
            return "\(code): \(message) (cause: \(underlying))"
        }
        return "\(code): \(message)"
    }
}
