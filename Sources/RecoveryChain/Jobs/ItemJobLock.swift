import BlockStore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The one-job-per-item guard (seed 001: "another operation is in progress"), across processes.
///
/// A job creates `jobs/<item>` with a create-only write; a second job finds it and fails with
/// ``RecoveryChainError/Code/operationInProgress``. The holder refreshes it while it works; a
/// guard not refreshed within `staleAfter`, or left by a dead process on this host, is taken over.
final class ItemJobLock: Sendable {
    let key: ObjectKey
    private let backend: any StorageBackend
    private let refresher: Task<Void, Never>

    struct Record: Codable {
        var operation: String
        var hostname: String
        var pid: Int32
        var started: Date
        var refreshed: Date
        /// Random: tells this job's guard from another job's written in the same second.
        var nonce: String? = nil
    }

    private init(key: ObjectKey, backend: any StorageBackend, record: Record, staleAfter: Duration) {
        self.key = key
        self.backend = backend
        refresher = Task {
            var record = record
            while !Task.isCancelled {
                try? await Task.sleep(for: staleAfter / 3)
                if Task.isCancelled { break }
                record.refreshed = Date()
                if let bytes = try? ItemJobLock.encoder.encode(record) {
                    try? await backend.put(key, data: Array(bytes))
                }
            }
        }
    }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .iso8601
        return e
    }()

    static func acquire(item: String, operation: String, backend: any StorageBackend, staleAfter: Duration = .seconds(15 * 60)) async throws -> ItemJobLock {
        let key = try ObjectKey(validating: "jobs/\(item)")
        let now = Date()
        let nonce = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let record = Record(operation: operation, hostname: StoreLockRecord.hostName(), pid: getpid(), started: now, refreshed: now, nonce: nonce)
        let bytes = Array(try encoder.encode(record))
        for attempt in 0..<2 {
            let created: Bool
            do {
                created = try await backend.create(key, data: bytes)
            } catch {
                // The write may have landed before the call failed (a dropped connection): a
                // guard holding this very record is ours, not another job's.
                guard let landed = try? await backend.get(key), landed == bytes else { throw error }
                created = true
            }
            if created {
                return ItemJobLock(key: key, backend: backend, record: record, staleAfter: staleAfter)
            }
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            guard let existing = try? decoder.decode(Record.self, from: Data(try await backend.get(key))) else {
                if attempt == 0 { try await backend.delete(key); continue }
                break
            }
            let stale = Date().timeIntervalSince(existing.refreshed) > Double(staleAfter.components.seconds)
                || (existing.hostname == record.hostname && kill(existing.pid, 0) != 0 && errno == ESRCH)
            if stale && attempt == 0 {
                try await backend.delete(key)
                continue
            }
            let formatter = ISO8601DateFormatter()
            throw RecoveryChainError(
                .operationInProgress,
                "another operation is in progress on item \(item): \(existing.operation) by process \(existing.pid) on \(existing.hostname) since \(formatter.string(from: existing.started)); wait for it to finish and try again")
        }
        throw RecoveryChainError(.operationInProgress, "another operation is in progress on item \(item); try again later")
    }

    func release() async {
        refresher.cancel()
        try? await backend.delete(key)
    }
}
