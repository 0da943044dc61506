import Foundation

/// A held store lock: a lock object `locks/<32 hex>` kept alive by a ``LockLease``.
///
/// Protocol (works on any backend, needs no conditional writes): a process writes a lock object
/// with a fresh random name, then lists `locks/` and reads every other lock object. A shared
/// locker conflicts with any live exclusive lock; an exclusive locker conflicts with any live
/// lock. On conflict it deletes its own lock, waits with jitter and tries again until its
/// timeout, then fails with ``BlockStoreError/Code/locked`` naming the holder. Because both sides
/// write before they look, two conflicting lockers can never both proceed.
///
/// Failing closed:
/// - A lock object that cannot be read (the read fails) or decoded (garbage, empty, too large,
///   another version's format) is held, and held exclusively: it conflicts with every locker.
///   A listing that fails lets nobody proceed. Retried until the timeout, such a conflict ends in
///   `locked`, or in the backend's error when `locks/` could not be listed.
/// - Staleness is judged by observation only (``LockObservations``): a lock is stale when this
///   process has seen its refresh counter (or, undecodable, its bytes) unchanged for
///   `staleAfter` on its own monotonic clock, or when its holder is provably gone
///   (``ProcessIdentity/isProvablyGone``: same host, process ended or pid reused). The holder's
///   wall-clock dates are never compared with ours, so clock skew between hosts cannot make a
///   live lock stale. Hence taking over the lock of a process that died on *another* host takes a
///   locker (or a long-running process retrying) at least `staleAfter`: give `lockTimeout` more
///   than `lockStaleAfter`, or remove the lock object by hand once sure its process is gone.
/// - A stale lock is ignored; an exclusive locker also deletes it. Its holder, if it still runs,
///   has stopped itself (``BlockStoreError/Code/lockLost``) `staleAfter / 2` before.
/// - Release deletes only this handle's own object: its name is random and never reused, so no
///   other process ever writes it.
package final class StoreLockHandle: Sendable {
    /// The lock object.
    package let key: ObjectKey
    /// Shared or exclusive.
    package let mode: StoreLockMode
    private let lease: LockLease

    /// The first wait before trying again after a conflict (randomised by ±50 %, doubled after
    /// every further conflict).
    static let retryDelayInitial: Duration = .milliseconds(50)
    /// The longest wait between two tries: a waiter notices a released lock within a second.
    static let retryDelayMax: Duration = .seconds(1)
    /// The shortest cap of the wait, for tiny stale intervals (a quarter of the interval is used
    /// when that is less than ``retryDelayMax``), so a waiter never spins.
    static let retryDelayCapMin: Duration = .milliseconds(10)

    private init(key: ObjectKey, mode: StoreLockMode, lease: LockLease) {
        self.key = key
        self.mode = mode
        self.lease = lease
    }

    /// Throws ``BlockStoreError/Code/lockLost`` once the lock is lost (refresh failing for
    /// `staleAfter / 2`, or its object deleted or replaced by another process), and
    /// `storeClosed` once it was released.
    package func checkHeld() throws {
        if lease.loss == .released {
            throw BlockStoreError(.storeClosed, "the store was closed and its lock released; open it again to write")
        }
        do {
            try lease.checkHeld()
        } catch let error as BlockStoreError {
            throw BlockStoreError(
                error.code, error.message + "; open the store again to go on", underlying: error.underlying)
        }
    }

    /// Why the lock is lost, or nil while it holds.
    package var loss: LockLease.Loss? { lease.loss }

    /// Stops refreshing and deletes the lock object.
    package func release() async { await lease.release() }

    /// Why an attempt to lock did not succeed.
    private enum Conflict {
        /// A live lock that conflicts; how long this process has seen it unchanged.
        case holder(ObjectKey, StoreLockRecord, seenUnchanged: Duration, patience: Duration)
        /// A lock object that could not be read or decoded.
        case unreadable(ObjectKey, reason: String, underlying: (any Error & Sendable)?)
        /// `locks/` could not be listed, or this process's own lock object not written.
        case unavailable(any Error)
    }

    /// Takes a lock, waiting up to `timeout` for conflicting holders to go.
    /// - Parameters:
    ///   - mode: `.none` takes nothing and returns nil.
    ///   - staleAfter: The stale interval (see the type's summary).
    ///   - timeout: How long to keep trying.
    ///   - wallClock: The time written into the record, for messages only (tests skew it).
    ///   - observations: Where this process remembers what it saw of other locks.
    /// - Throws: `locked` when a live (or unreadable) lock conflicts until the timeout; the
    ///   backend's error when `locks/` cannot be listed until then.
    package static func acquire(
        _ mode: StoreLockMode, backend: any StorageBackend, staleAfter: Duration, timeout: Duration,
        wallClock: @escaping @Sendable () -> Date = { Date() }, observations: LockObservations = .shared
    ) async throws -> StoreLockHandle? {
        guard mode != .none else { return nil }
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        let delayMax = min(Self.retryDelayMax, max(staleAfter / 4, Self.retryDelayCapMin))
        var delay = min(Self.retryDelayInitial, delayMax)
        while true {
            try Task.checkCancellation()
            let key = try ObjectKey(validating: "locks/\(Hex.random(byteCount: LockObject.nameByteCount))")
            let now = wallClock()
            let record = StoreLockRecord(
                owner: .current, exclusive: mode == .exclusive, token: LockObject.newToken(), counter: 0,
                staleAfterMilliseconds: LockObject.milliseconds(staleAfter), created: now, refreshed: now)
            let bytes = record.encoded()
            let writeStarted = clock.now
            let conflict: Conflict?
            do {
                guard try await backend.create(key, data: bytes) else { continue }  // name taken: draw again
                conflict = try await firstConflict(
                    own: key, mode: mode, backend: backend, staleAfter: staleAfter, observations: observations)
            } catch is CancellationError {
                try? await backend.delete(key)
                throw CancellationError()
            } catch {
                conflict = .unavailable(error)
            }
            guard let conflict else {
                let lease = LockLease(
                    key: key, backend: backend, written: bytes, writeStarted: writeStarted, staleAfter: staleAfter,
                    keyIsShared: false
                ) { counter in
                    var next = record
                    next.counter = counter
                    next.refreshed = wallClock()
                    return next.encoded()
                }
                return StoreLockHandle(key: key, mode: mode, lease: lease)
            }
            try? await backend.delete(key)
            if clock.now >= deadline {
                throw failure(conflict, backend: backend)
            }
            try await Task.sleep(for: delay * Double.random(in: 0.5...1.5))
            delay = min(delay * 2, delayMax)
        }
    }

    /// Lists `locks/` and returns the first live lock that conflicts with `mode`, if any;
    /// deletes stale locks when `mode` is exclusive.
    private static func firstConflict(
        own: ObjectKey, mode: StoreLockMode, backend: any StorageBackend, staleAfter: Duration,
        observations: LockObservations
    ) async throws -> Conflict? {
        let clock = ContinuousClock()
        let entries = try await backend.listAll(prefix: "locks/")
        observations.forget(location: backend.location, prefix: "locks/", keeping: Set(entries.map(\.key)))
        for entry in entries where entry.key != own {
            let issued = clock.now
            let bytes: [UInt8]
            do {
                bytes = try await LockObject.read(entry.key, from: backend)
            } catch let error as BlockStoreError where error.code == .notFound {
                observations.forget(location: backend.location, key: entry.key)
                continue  // released meanwhile
            } catch {
                // Not read is not absent: it may be a live lock.
                return .unreadable(entry.key, reason: "reading it failed", underlying: error as? BlockStoreError)
            }
            let record = StoreLockRecord.decode(bytes)
            let patience = max(staleAfter, record?.holderStaleAfter ?? .zero)
            let unchanged = observations.unchangedFor(
                location: backend.location, key: entry.key,
                state: record?.state ?? LockObject.state(ofBytes: bytes), issued: issued, returned: clock.now)
            if unchanged >= patience || record?.owner.isProvablyGone == true {
                if mode == .exclusive {
                    try? await backend.delete(entry.key)
                    observations.forget(location: backend.location, key: entry.key)
                }
                continue
            }
            guard let record else {
                let reason =
                    bytes.count > LockLease.objectBytesMax
                    ? "it is larger than any lock record" : "it is not a lock record this version reads"
                return .unreadable(entry.key, reason: reason, underlying: nil)
            }
            if mode == .exclusive || record.exclusive {
                return .holder(entry.key, record, seenUnchanged: unchanged, patience: patience)
            }
        }
        return nil
    }

    /// The error an attempt ends with when its timeout has passed.
    private static func failure(_ conflict: Conflict, backend: any StorageBackend) -> BlockStoreError {
        switch conflict {
        case .holder(let key, let record, let unchanged, let patience):
            let formatter = ISO8601DateFormatter()
            return BlockStoreError(
                .locked,
                "the store in \(backend.location) is locked \(record.exclusive ? "exclusively" : "by a writer") by \(record.owner) (lock \(key), taken at \(formatter.string(from: record.created)) by that host's clock); wait for it to finish. If that process is gone, its lock goes stale once this process has seen it unchanged for \(LockObject.text(patience)) (so far \(LockObject.text(unchanged))): retry with a lock timeout longer than that"
            )
        case .unreadable(let key, let reason, let underlying):
            return BlockStoreError(
                .locked,
                "the store in \(backend.location) has a lock object \(key) that cannot be read (\(reason)), so it counts as held; if it does not change it goes stale after the stale interval, or delete it once sure no BlockSnap process uses the store",
                underlying: underlying)
        case .unavailable(let error):
            let code = (error as? BlockStoreError)?.code ?? .backendError
            return BlockStoreError(
                code == .notFound ? .backendError : code,
                "could not check the locks in \(backend.location), so the store lock was not taken: \(error)",
                underlying: error as? BlockStoreError)
        }
    }
}
