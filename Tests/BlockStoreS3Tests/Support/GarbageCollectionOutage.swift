import BlockStoreS3

/// Where in a garbage collection a fault test takes the server away, and how.
struct GarbageCollectionOutage: Sendable, CustomStringConvertible {
    /// The step of the collection whose first request starts the outage.
    enum Phase: String, Sendable, CaseIterable {
        /// Listing the packs (the collection's first request).
        case listing
        /// Reading a pack header.
        case reading
        /// Writing a repacked pack or an index object.
        case writing
        /// Deleting a dropped pack (old index objects are already gone).
        case deleting
    }

    /// How the server goes away.
    enum Kind: String, Sendable, CaseIterable {
        /// The server process is stopped (SIGSTOP) for a while and continued: requests time out,
        /// the retries outlast the pause, and the collection completes.
        case paused
        /// Every connection fails until the collection has given up (its retry budget is
        /// small): it fails with a typed error.
        case unreachable
    }

    var phase: Phase
    var kind: Kind

    var description: String { "\(kind.rawValue) while \(phase.rawValue)" }

    /// Every combination.
    static let all: [GarbageCollectionOutage] = Kind.allCases.flatMap { kind in
        Phase.allCases.map { GarbageCollectionOutage(phase: $0, kind: kind) }
    }

    /// Whether `request` is the collection's first request of ``phase``.
    func matches(_ request: S3HTTPRequest) -> Bool {
        switch phase {
        case .listing: request.operation == "ListObjectsV2"
        case .reading: request.operation == "GetObject" && request.url.contains("/data/")
        case .writing: request.operation == "PutObject"
        case .deleting: request.operation == "DeleteObject" && request.url.contains("/data/")
        }
    }
}
