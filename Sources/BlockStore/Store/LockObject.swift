import Foundation

/// Helpers every lock object and job guard shares: bounded reads, tokens, states, durations.
package enum LockObject {
    /// Reads at most ``LockLease/objectBytesMax`` + 1 bytes of `key` (more means it is not a lock
    /// this build wrote), so a huge object under `locks/` or `jobs/` costs no memory.
    package static func read(_ key: ObjectKey, from backend: any StorageBackend) async throws -> [UInt8] {
        try await backend.get(key, range: 0..<UInt64(ObjectSizeLimits.lock + 1))
    }

    /// The random bytes of a lock object's name (`locks/<32 hex>`): 128 bits, so two holders
    /// never draw the same name.
    package static let nameByteCount = 16
    /// The random bytes of a new token: 128 bits, as many as a lock's name.
    package static let tokenByteCount = 16
    /// The most hex digits a token may have when read back (a SHA-256's worth): records of later
    /// builds may carry longer tokens than this one writes, never longer than that.
    package static let tokenDigitCountMax = 64

    /// A new random token: 32 lowercase hex digits.
    package static func newToken() -> String { Hex.random(byteCount: tokenByteCount) }

    /// Whether `text` is a token: 1 to ``tokenDigitCountMax`` lowercase hex digits.
    package static func isToken(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= tokenDigitCountMax && Hex.isLowercase(text)
    }

    /// The state observers compare for an object they cannot decode (or need not): its bytes, by
    /// hash.
    package static func state(ofBytes bytes: [UInt8]) -> String {
        "bytes-\(ChunkHasher.sha256.dataID(bytes).hex)"
    }

    /// The longest stale interval or lock timeout: a day. A holder cannot configure a longer
    /// one (``ChunkStoreOptions/lockStaleAfterRange``), and readers cap what a record claims at
    /// it, so a record cannot make itself immortal.
    package static let durationMax: Duration = .seconds(24 * 3600)

    /// A holder's recorded stale interval, capped at ``durationMax``.
    package static func recordedStaleAfter(milliseconds: Int64) -> Duration {
        .milliseconds(min(max(milliseconds, 0), Self.milliseconds(durationMax)))
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
