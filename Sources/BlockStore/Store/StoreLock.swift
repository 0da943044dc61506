import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// How a process holds a store: writers share it, garbage collection holds it alone.
public enum StoreLockMode: String, Sendable, Codable {
    /// No lock (read-only use; a concurrent GC may move chunks, reads then retry once).
    case none
    /// Writers (backups, expiry): many at once, never beside a GC.
    case shared
    /// Garbage collection and repair: alone.
    case exclusive
}

/// A lock object under `locks/`, and the protocol that makes concurrent use safe.
///
/// Protocol (works on any backend, needs no conditional writes): a process writes a lock object
/// with a fresh random name, then lists `locks/`. A shared locker conflicts with any live
/// exclusive lock; an exclusive locker conflicts with any live lock. On conflict it deletes its
/// own lock, waits with jitter and tries again until its timeout, then fails with
/// ``BlockStoreError/Code/locked`` naming the holder. Because both sides write before they look,
/// two conflicting lockers can never both proceed. A held lock is refreshed every
/// `staleAfter / 3`; a lock not refreshed within `staleAfter`, or left by a dead process on this
/// host, is stale and ignored (and removed by the next exclusive locker).
package struct StoreLockRecord: Codable, Sendable {
    var hostname: String
    var pid: Int32
    var exclusive: Bool
    var created: Date
    var refreshed: Date

    func isStale(now: Date, staleAfter: Duration, localHost: String) -> Bool {
        if now.timeIntervalSince(refreshed) > Double(staleAfter.components.seconds) { return true }
        if hostname == localHost, kill(pid, 0) != 0, errno == ESRCH { return true }
        return false
    }

    /// This machine's host name, as lock and job-guard records name it.
    package static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count - 1)
        return String(cString: buffer)
    }

    func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        return Array((try? encoder.encode(self)) ?? Data())
    }

    static func decode(_ bytes: [UInt8]) -> StoreLockRecord? {
        guard bytes.count < 4096 else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try? decoder.decode(StoreLockRecord.self, from: Data(bytes))
    }
}

/// A held lock; ``release()`` deletes it.
package final class StoreLockHandle: Sendable {
    package let key: ObjectKey
    private let backend: any StorageBackend
    private let refresher: Task<Void, Never>

    private init(key: ObjectKey, backend: any StorageBackend, record: StoreLockRecord, staleAfter: Duration) {
        self.key = key
        self.backend = backend
        self.refresher = Task {
            var record = record
            while !Task.isCancelled {
                try? await Task.sleep(for: staleAfter / 3)
                if Task.isCancelled { break }
                record.refreshed = Date()
                try? await backend.put(key, data: record.encoded())
            }
        }
    }

    package func release() async {
        refresher.cancel()
        try? await backend.delete(key)
    }

    static func randomHex(_ bytes: Int) -> String {
        var rng = SystemRandomNumberGenerator()
        return (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &rng)) }.joined()
    }

    /// Takes a lock, waiting up to `timeout` for conflicting holders to go.
    package static func acquire(
        _ mode: StoreLockMode, backend: any StorageBackend, staleAfter: Duration, timeout: Duration
    ) async throws -> StoreLockHandle? {
        guard mode != .none else { return nil }
        let host = StoreLockRecord.hostName()
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var delay = Duration.milliseconds(50)
        while true {
            try Task.checkCancellation()
            let key = try ObjectKey(validating: "locks/\(randomHex(16))")
            let now = Date()
            let record = StoreLockRecord(
                hostname: host, pid: getpid(), exclusive: mode == .exclusive, created: now, refreshed: now)
            _ = try await backend.create(key, data: record.encoded())
            var holder: StoreLockRecord? = nil
            for entry in try await backend.listAll(prefix: "locks/") where entry.key != key {
                guard let bytes = try? await backend.get(entry.key) else { continue }
                guard let other = StoreLockRecord.decode(bytes) else { continue }
                if other.isStale(now: Date(), staleAfter: staleAfter, localHost: host) {
                    if mode == .exclusive { try? await backend.delete(entry.key) }
                    continue
                }
                if mode == .exclusive || other.exclusive {
                    holder = other
                    break
                }
            }
            guard let holder else {
                return StoreLockHandle(key: key, backend: backend, record: record, staleAfter: staleAfter)
            }
            try? await backend.delete(key)
            if clock.now >= deadline {
                let formatter = ISO8601DateFormatter()
                throw BlockStoreError(
                    .locked,
                    "the store in \(backend.location) is locked \(holder.exclusive ? "exclusively" : "by a writer") by process \(holder.pid) on \(holder.hostname) since \(formatter.string(from: holder.created)); wait for it to finish, or if that process is gone its lock goes stale after \(staleAfter.components.seconds) s"
                )
            }
            let jitter = Double.random(in: 0.5...1.5)
            try await Task.sleep(for: delay * jitter)
            delay = min(delay * 2, .seconds(1))
        }
    }
}
