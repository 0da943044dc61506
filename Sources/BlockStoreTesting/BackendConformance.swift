import BlockStore

/// The conformance suite every `StorageBackend` must pass (local directory, memory, S3, and
/// third-party backends alike).
///
/// It checks each guarantee documented on `StorageBackend`: atomic, durable-looking round
/// trips (empty, 1 byte, 20 MiB), overwrites, create-only writes and their atomicity under
/// concurrent creators, concurrent writers, `notFound` for missing keys, ranged reads and their
/// clamping, capped reads (an object of exactly the cap is read, one byte more is refused with
/// `limitExceeded`), sizes, listings (plain string prefixes, byte order, `after`, paging) and idempotent
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
    ///   - keyPrefix: A valid `ObjectKey` under which the suite may write, e.g. `"conformance"`.
    /// - Throws: ``ConformanceFailure`` naming the first requirement that failed; an error thrown
    ///   by a call that must succeed is reported as a failure of the check that made the call.
    public static func run(_ backend: any StorageBackend, keyPrefix: String) async throws {
        guard ObjectKey.isValid(keyPrefix) else {
            throw ConformanceFailure(
                "keyPrefix '\(keyPrefix)' is not a valid object key: use '/'-separated segments "
                    + "of A-Z a-z 0-9 . _ -")
        }
        let run = ConformanceRun(
            backend: backend, folder: "\(keyPrefix)/run-\(Hex.random(byteCount: 8))/")
        let checks: [(String, @Sendable (ConformanceRun) async throws -> Void)] = [
            ("missing objects", { try await $0.checkMissingObjects() }),
            ("round trips", { try await $0.checkRoundTrips() }),
            ("overwrites", { try await $0.checkOverwrite() }),
            ("create-only writes", { try await $0.checkCreateOnly() }),
            ("concurrent creates", { try await $0.checkConcurrentCreates() }),
            ("concurrent puts", { try await $0.checkConcurrentPuts() }),
            ("whole-object reads during puts", { try await $0.checkReadersSeeWholeObjects() }),
            ("ranged gets", { try await $0.checkRangedGets() }),
            ("capped reads", { try await $0.checkCappedReads() }),
            ("listings", { try await $0.checkListing() }),
            ("deletes", { try await $0.checkDelete() }),
            ("nested keys", { try await $0.checkNestedKeys() }),
            ("cleanup", { try await $0.removeEverything() }),
        ]
        var failure: ConformanceFailure? = nil
        for (name, check) in checks where failure == nil || name == "cleanup" {
            do {
                try await check(run)
            } catch let error as ConformanceFailure {
                failure = failure ?? error
            } catch {
                failure =
                    failure
                    ?? ConformanceFailure(
                        "\(backend.location): while checking \(name), a call that must succeed "
                            + "threw \(error)")
            }
        }
        if let failure { throw failure }
    }
}

/// A requirement of `StorageBackend` that a backend did not meet.
public struct ConformanceFailure: Error, Sendable, CustomStringConvertible {
    /// Which requirement failed and how.
    public var message: String
    /// Creates a failure.
    public init(_ message: String) { self.message = message }
    /// `"backend conformance: <message>"`.
    public var description: String { "backend conformance: \(message)" }
}
