import BlockStore

/// The conformance suite every ``StorageBackend`` must pass (local directory, memory, S3, and
/// third-party backends alike).
///
/// ```swift
/// try await BackendConformance.run(MemoryBackend(), keyPrefix: "conformance")
/// ```
public enum BackendConformance {
    /// Runs every check against `backend`, creating objects only under `keyPrefix/`.
    /// - Throws: ``ConformanceFailure`` naming the first requirement that failed.
    public static func run(_ backend: any StorageBackend, keyPrefix: String) async throws {
        // Filled in by the backends work.
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
