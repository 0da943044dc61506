import BlockStore
import Foundation

/// The one-job-per-item guard ("another operation is in progress", as Azure Backup answers a
/// second job), across processes.
///
/// A job creates `jobs/<item>` with a create-only write; a second job finds it and fails with
/// ``RecoveryChainError/Code/operationInProgress``. The holder keeps the guard alive with a
/// refresh counter (`LockLease`): every `staleAfter / 4` it reads the guard back and, when it
/// still holds exactly what it last wrote, writes it again with the counter one higher.
///
/// - Held: a guard that cannot be read (the read fails) or decoded counts as held, is never
///   deleted because of it, and the job fails (`storeError` naming the read error, or
///   `operationInProgress`).
/// - Stale: only when this process has seen the guard's counter (or, undecodable, its bytes)
///   unchanged for `staleAfter` on its own monotonic clock, or its holder is provably gone on this
///   host (`ProcessIdentity.isProvablyGone`). Wall-clock dates in the record are for messages.
///   A job does not wait by default, so a guard left by a process that died on another host is
///   taken over by the first job this process starts at least `staleAfter` after it first met
///   the guard (`LockObservations` remembers).
/// - Takeover: see ``takeOver(_:item:observed:state:backend:options:)``: one create-only claim
///   per observed state decides who may remove the stale guard, and the final create-only write
///   of `jobs/<item>` decides who holds it, so two racing takers never both hold it.
/// - Lost: a holder whose refreshes fail for `staleAfter / 2`, or whose guard was removed or
///   replaced, has lost it; ``run(_:)`` then cancels the job, and ``checkCurrentHeld()`` (called
///   right before a job's commit) throws. Another process takes over no earlier than
///   `staleAfter` after the last refresh, so the job has stopped first.
/// - Release deletes the guard only while it holds it and the guard still holds its token and
///   latest counter; a guard someone else re-created after a takeover survives.
final class ItemJobLock: Sendable {
    /// `jobs/<item>`.
    let key: ObjectKey
    /// The item.
    let item: ItemName
    /// What the job is (`"backup"`, `"restore"`, …).
    let operation: String
    private let lease: LockLease

    /// How a job takes its guard.
    struct Options: Sendable {
        /// The stale interval.
        var staleAfter: Duration = .seconds(15 * 60)
        /// How long to keep trying while another job holds the guard (0: fail at once).
        var timeout: Duration = .zero
        /// The wall clock written into the record, for messages only (tests skew it).
        var wallClock: @Sendable () -> Date = { Date() }
        /// What this process remembers of guards it met.
        var observations: LockObservations = .shared
    }

    /// The content of `jobs/<item>`.
    struct Record: Codable, Equatable {
        /// What the job is.
        var operation: String
        /// The job's process.
        var owner: ProcessIdentity
        /// Random, names this job's holding (lowercase hex).
        var token: String
        /// How many refreshes the holder has written.
        var counter: UInt64
        /// The holder's stale interval; observers wait for the longer of theirs and this.
        var staleAfterMilliseconds: Int64
        /// When the job started, by its host's wall clock (information only).
        var started: Date
        /// When it last refreshed, by its host's wall clock (information only).
        var refreshed: Date

        /// The state observers compare.
        var state: String { "\(token)-\(counter)" }

        /// The holder's stale interval, capped at a day.
        var holderStaleAfter: Duration { LockObject.recordedStaleAfter(milliseconds: staleAfterMilliseconds) }

        func encoded() -> [UInt8] {
            Array((try? ItemJobLock.encoder.encode(self)) ?? Data())
        }

        /// The record in `bytes`, or nil when they are not one this build reads.
        static func decode(_ bytes: [UInt8]) -> Record? {
            guard bytes.count <= LockLease.objectBytesMax,
                let record = try? ItemJobLock.decoder.decode(Record.self, from: Data(bytes)),
                LockObject.isToken(record.token)
            else { return nil }
            return record
        }
    }

    /// The guard of the job running in this task, if any.
    @TaskLocal static var current: ItemJobLock?

    init(key: ObjectKey, item: ItemName, operation: String, lease: LockLease) {
        self.key = key
        self.item = item
        self.operation = operation
        self.lease = lease
    }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .iso8601
        e.outputFormatting = .sortedKeys
        return e
    }()

    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return d
    }()

    /// Throws when the guard is lost: `operationInProgress` when another process removed or
    /// replaced it (took it over), `storeError` (cause `lockLost`) when its refreshes failed.
    func checkHeld() throws {
        if let loss = lease.loss { throw lossError(loss, cause: nil) }
    }

    /// Checks the guard of the job running in this task (before a commit: a root's publication
    /// or deletion).
    static func checkCurrentHeld() throws {
        try current?.checkHeld()
    }

    /// Why the guard is lost, or nil while it holds.
    var loss: LockLease.Loss? { lease.loss }

    /// Runs `body` as the job holding this guard: ``current`` is this guard inside it, and it is
    /// cancelled when the guard is lost. A body that fails after the loss fails with the loss.
    func run<R: Sendable>(_ body: @escaping @Sendable () async throws -> R) async -> Result<R, any Error> {
        // Two children: the job (its result) and a watcher (nil once the guard is lost).
        let result = await withTaskGroup(of: Result<R, any Error>?.self) { group -> Result<R, any Error> in
            group.addTask {
                do {
                    return .success(try await ItemJobLock.$current.withValue(self) { try await body() })
                } catch {
                    return .failure(error)
                }
            }
            group.addTask {
                await self.lease.waitUntilLost()
                return nil
            }
            var result: Result<R, any Error>? = nil
            for await outcome in group {
                if let outcome {
                    result = outcome
                    group.cancelAll()
                } else if result == nil && lease.loss != nil {
                    group.cancelAll()  // the guard is lost: stop the job
                }
            }
            return result ?? .failure(CancellationError())
        }
        if case .failure(let error) = result, let loss = lease.loss, loss != .released {
            return .failure(lossError(loss, cause: error))
        }
        return result
    }

    /// Stops refreshing and deletes the guard if it is still this job's (see the type's summary).
    func release() async {
        await lease.release()
    }

    private func lossError(_ loss: LockLease.Loss, cause: (any Error)?) -> RecoveryChainError {
        var store: BlockStoreError? = nil
        do { try lease.checkHeld() } catch { store = error as? BlockStoreError }
        let stopped = "the \(operation) of \(item) stopped before it committed anything more"
        switch loss {
        case .gone, .changed:
            return RecoveryChainError(
                .operationInProgress,
                "the job guard \(key) of item \(item) was lost: another process took it over as stale, so \(stopped); check that no other job runs on \(item) and try again",
                underlying: store ?? cause)
        case .expired, .released:
            return RecoveryChainError(
                .storeError,
                "the job guard \(key) of item \(item) was lost: \(store?.message ?? "it was released"); \(stopped)",
                underlying: store ?? cause)
        }
    }
}
