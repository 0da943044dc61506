import Foundation

/// How a process holds a store: writers share it, garbage collection holds it alone.
public enum StoreLockMode: String, Sendable, Codable {
    /// No lock (read-only use; a concurrent GC may move chunks, reads then retry once).
    case none
    /// Writers (backups, expiry): many at once, never beside a GC.
    case shared
    /// Garbage collection and repair: alone.
    case exclusive
}

/// The content of a lock object `locks/<32 hex>`: who holds the store, how, and a refresh counter.
///
/// The holder rewrites it with ``counter`` one higher every `staleAfter / 4` (``LockLease``);
/// other processes judge it stale only when they have seen the counter stand still for
/// `staleAfter` on their own clock (``LockObservations``), never by ``refreshed``, which is the
/// holder's wall-clock time and kept for messages only. The protocol is in ``StoreLockHandle``.
package struct StoreLockRecord: Codable, Sendable, Equatable {
    /// The holding process.
    var owner: ProcessIdentity
    /// Whether it is an exclusive (garbage collection) lock.
    var exclusive: Bool
    /// Random, names this holding (lowercase hex).
    var token: String
    /// How many refreshes the holder has written.
    var counter: UInt64
    /// The holder's stale interval; observers wait for the longer of theirs and this.
    var staleAfterMilliseconds: Int64
    /// When the lock was taken, by the holder's wall clock (information only).
    var created: Date
    /// When it was last refreshed, by the holder's wall clock (information only).
    var refreshed: Date

    /// The state observers compare: the same token and counter mean no refresh happened.
    var state: String { "\(token)-\(counter)" }

    /// The holder's stale interval, capped at a day (a record cannot make itself immortal).
    var holderStaleAfter: Duration { LockObject.recordedStaleAfter(milliseconds: staleAfterMilliseconds) }

    func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = .sortedKeys
        return Array((try? encoder.encode(self)) ?? Data())
    }

    /// The record in `bytes`, or nil when they are not one this build reads (too large, not
    /// JSON, fields missing, a token that is not hex). Such an object still counts as held.
    static func decode(_ bytes: [UInt8]) -> StoreLockRecord? {
        guard bytes.count <= LockLease.objectBytesMax else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        guard let record = try? decoder.decode(StoreLockRecord.self, from: Data(bytes)),
            LockObject.isToken(record.token)
        else { return nil }
        return record
    }
}
