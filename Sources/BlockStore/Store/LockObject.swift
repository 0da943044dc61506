import Foundation

/// Helpers every lock object and job guard shares: bounded reads, tokens, states, durations.
package enum LockObject {
    /// Reads at most ``LockLease/objectBytesMax`` + 1 bytes of `key` (more means it is not a lock
    /// this build wrote), so a huge object under `locks/` or `jobs/` costs no memory.
    package static func read(_ key: ObjectKey, from backend: any StorageBackend) async throws -> [UInt8] {
        try await backend.get(key, range: 0..<UInt64(LockLease.objectBytesMax + 1))
    }

    /// A new random token: 32 lowercase hex digits.
    package static func newToken() -> String { StoreLockHandle.randomHex(16) }

    /// Whether `text` is a token: 1 to 64 lowercase hex digits.
    package static func isToken(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 64
            && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    /// The state observers compare for an object they cannot decode (or need not): its bytes, by
    /// hash.
    package static func state(ofBytes bytes: [UInt8]) -> String {
        "bytes-\(ChunkHasher.sha256.dataID(bytes).hex)"
    }

    /// A holder's recorded stale interval, capped at a day (a record cannot make itself immortal).
    package static func recordedStaleAfter(milliseconds: Int64) -> Duration {
        .milliseconds(min(max(milliseconds, 0), 24 * 3600 * 1000))
    }

    /// `duration` in whole milliseconds.
    package static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }

    /// `duration` for messages, e.g. `"1.5 s"`.
    package static func text(_ duration: Duration) -> String {
        let ms = milliseconds(duration)
        if ms % 1000 == 0 { return "\(ms / 1000) s" }
        return String(format: "%.3g s", Double(ms) / 1000)
    }
}
