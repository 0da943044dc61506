import BlockStore

/// The conformance suite every ``StorageBackend`` must pass (local directory, memory, S3, and
/// third-party backends alike).
///
/// It checks each guarantee documented on ``StorageBackend``: atomic, durable-looking round
/// trips (empty, 1 byte, 20 MiB), overwrites, create-only writes and their atomicity under
/// concurrent creators, concurrent writers, `notFound` for missing keys, ranged reads and their
/// clamping, sizes, listings (plain string prefixes, byte order, `after`, paging) and idempotent
/// deletes. It runs in a few seconds on a local disk.
///
/// Keys used by the suite never make one key both an object and a folder of other keys (`a` and
/// `a/b`), which a directory cannot represent.
///
/// ```swift
/// try await BackendConformance.run(MemoryBackend(), keyPrefix: "conformance")
/// ```
public enum BackendConformance {
    /// Runs every check against `backend`, creating objects only under `keyPrefix/`.
    ///
    /// Each run works in its own folder `keyPrefix/run-<random>/`, so runs against a shared
    /// bucket do not disturb each other, and deletes everything it wrote before returning,
    /// whether the checks passed or not.
    /// - Parameters:
    ///   - backend: The backend to check.
    ///   - keyPrefix: A valid ``ObjectKey`` under which the suite may write, e.g. `"conformance"`.
    /// - Throws: ``ConformanceFailure`` naming the first requirement that failed, or the error a
    ///   backend call threw where the requirement says it must succeed.
    public static func run(_ backend: any StorageBackend, keyPrefix: String) async throws {
        guard ObjectKey.isValid(keyPrefix) else {
            throw ConformanceFailure(
                "keyPrefix '\(keyPrefix)' is not a valid object key: use '/'-separated segments "
                    + "of A-Z a-z 0-9 . _ -")
        }
        var generator = SystemRandomNumberGenerator()
        let run = ConformanceRun(
            backend: backend,
            folder: "\(keyPrefix)/run-\(String(generator.next() as UInt64, radix: 16))/")
        var failure: (any Error)? = nil
        do {
            try await run.checkMissingObjects()
            try await run.checkRoundTrips()
            try await run.checkOverwrite()
            try await run.checkCreateOnly()
            try await run.checkConcurrentCreates()
            try await run.checkConcurrentPuts()
            try await run.checkReadersSeeWholeObjects()
            try await run.checkRangedGets()
            try await run.checkListing()
            try await run.checkDelete()
            try await run.checkNestedKeys()
        } catch {
            failure = error
        }
        do {
            try await run.removeEverything()
        } catch {
            failure = failure ?? error
        }
        if let failure { throw failure }
    }
}

/// A requirement of ``StorageBackend`` that a backend did not meet.
public struct ConformanceFailure: Error, Sendable, CustomStringConvertible {
    /// Which requirement failed and how.
    public var message: String
    /// Creates a failure.
    public init(_ message: String) { self.message = message }
    public var description: String { "backend conformance: \(message)" }
}
