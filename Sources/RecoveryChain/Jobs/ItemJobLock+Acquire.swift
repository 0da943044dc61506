import BlockStore
import Foundation

extension ItemJobLock {
    /// Why one attempt to take a guard did not end with it.
    enum Blocked {
        /// A live guard of another job; how long this process has seen it unchanged.
        case held(Record, seenUnchanged: Duration, patience: Duration)
        /// A guard that cannot be decoded (held all the same).
        case undecodable(reason: String)
        /// The guard could not be read (held all the same, never deleted for it).
        case unreadable(any Error)
        /// Another process is taking the stale guard over.
        case takeoverInProgress
        /// Writing this job's guard failed.
        case failed(any Error)
    }

    /// What one attempt did.
    private enum Attempt {
        case acquired(ItemJobLock)
        /// The guard went away (released or removed as stale): try again at once.
        case again
        case blocked(Blocked)
    }

    /// What a takeover did.
    enum Takeover {
        /// The stale guard was removed (or had gone): create a new one.
        case removed
        /// Another process is taking it over, or it changed: it is not stale after all.
        case contended
        /// Another process's takeover ended (its claim is gone), with or without removing the
        /// guard: look again. What this process has seen of the guard still counts: if the guard
        /// is unchanged its observation goes on; if it changed, the new state starts a new one.
        case claimEnded
    }

    /// Takes the guard of `item` for `operation`, waiting up to `options.timeout`.
    /// - Throws: ``RecoveryChainError`` `operationInProgress` while another job holds the guard
    ///   (or it cannot be decoded, or another process is taking it over); `storeError` when it
    ///   cannot be read or written.
    static func acquire(
        item: ItemName, operation: String, backend: any StorageBackend, options: Options = Options()
    ) async throws -> ItemJobLock {
        let key = try ObjectKey(validating: "jobs/\(item)")
        let clock = ContinuousClock()
        let deadline = clock.now + options.timeout
        let token = LockObject.newToken()
        let started = clock.now
        let delayMax = min(.seconds(1), max(options.staleAfter / 4, .milliseconds(10)))
        var delay = min(.milliseconds(50), delayMax)
        var quickRetries = 0
        while true {
            try Task.checkCancellation()
            let blocked: Blocked
            switch try await attempt(
                key: key, item: item, operation: operation, token: token, started: started, backend: backend,
                options: options)
            {
            case .acquired(let lock):
                return lock
            case .again where quickRetries < 8:
                quickRetries += 1
                continue
            case .again:
                blocked = .takeoverInProgress
            case .blocked(let reason):
                blocked = reason
            }
            if clock.now >= deadline { throw failure(blocked, item: item) }
            try await Task.sleep(for: delay * Double.random(in: 0.5...1.5))
            delay = min(delay * 2, delayMax)
        }
    }

    /// One attempt; `started` is when the first attempt of this acquisition began (every write
    /// with `token` was sent after it).
    private static func attempt(
        key: ObjectKey, item: ItemName, operation: String, token: String, started: ContinuousClock.Instant,
        backend: any StorageBackend, options: Options
    ) async throws -> Attempt {
        let clock = ContinuousClock()
        let now = options.wallClock()
        let record = Record(
            operation: operation, owner: .current, token: token, counter: 0,
            staleAfterMilliseconds: LockObject.milliseconds(options.staleAfter), started: now, refreshed: now)
        let bytes = record.encoded()
        let writeStarted = clock.now
        let created: Bool
        do {
            created = try await backend.create(key, data: bytes)
        } catch {
            // The write may have landed before the call failed (a dropped connection): a guard
            // holding this very record (this job's token) is ours, not another job's.
            guard let landed = try? await LockObject.read(key, from: backend), landed == bytes else {
                return .blocked(.failed(error))
            }
            created = true
        }
        func hold(_ written: [UInt8], sent: ContinuousClock.Instant) -> Attempt {
            let wallClock = options.wallClock
            let lease = LockLease(
                key: key, backend: backend, written: written, writeStarted: sent, staleAfter: options.staleAfter,
                keyIsShared: true
            ) { counter in
                var next = record
                next.counter = counter
                next.refreshed = wallClock()
                return next.encoded()
            }
            return .acquired(ItemJobLock(key: key, item: item, operation: operation, lease: lease))
        }
        if created { return hold(bytes, sent: writeStarted) }

        // Another job's guard, live or stale.
        let location = backend.location
        let issued = clock.now
        let current: [UInt8]
        do {
            current = try await LockObject.read(key, from: backend)
        } catch let error as BlockStoreError where error.code == .notFound {
            options.observations.forget(location: location, key: key)
            return .again  // released meanwhile
        } catch {
            return .blocked(.unreadable(error))
        }
        let existing = Record.decode(current)
        if let existing, existing.token == token {
            // An earlier attempt's write landed although its call failed: the guard is ours.
            return hold(current, sent: started)
        }
        let state = existing?.state ?? LockObject.state(ofBytes: current)
        let patience = max(options.staleAfter, existing?.holderStaleAfter ?? .zero)
        let unchanged = options.observations.unchangedFor(
            location: location, key: key, state: state, issued: issued, returned: clock.now)
        guard unchanged >= patience || existing?.owner.isProvablyGone == true else {
            guard let existing else {
                return .blocked(
                    .undecodable(
                        reason: current.count > LockLease.objectBytesMax
                            ? "it is larger than any guard record" : "it is not a guard record this version reads"))
            }
            return .blocked(.held(existing, seenUnchanged: unchanged, patience: patience))
        }
        switch try await takeOver(
            key, item: item, observed: current, state: state, backend: backend, options: options)
        {
        case .removed:
            options.observations.forget(location: location, key: key)
            return .again
        case .claimEnded:
            return .again
        case .contended:
            return .blocked(.takeoverInProgress)
        }
    }

    /// Removes a stale guard so that a new one can be created, safely against racing takers.
    ///
    /// There is no conditional delete on every backend, so whoever deletes `jobs/<item>` must be
    /// sure it deletes the stale guard it observed and not a live one written meanwhile. The
    /// argument:
    ///
    /// 1. A taker first creates, create-only, a claim `jobs-takeover/<item>/<state>.<n>` named
    ///    after the state it judged stale (token and counter, or a hash of undecodable bytes).
    ///    At most one process creates claim `n`, so at most one removes the guard per claim.
    /// 2. The claimer re-reads the guard and deletes it only if it still holds exactly the bytes
    ///    judged stale. While the claim stands, nothing can change them in between: the holder has
    ///    stopped writing (it stops `staleAfter / 2` after its last refresh, a taker waits
    ///    `staleAfter`), it no longer releases (a lost guard is never deleted by its holder), no
    ///    other taker may delete that state without the claim, and no new job can create the key
    ///    while the guard exists. Tokens are random, so a state never comes back.
    /// 3. Once the guard is gone every contender, new job or taker, races with one create-only
    ///    write of `jobs/<item>`: exactly one wins and the others meet its live guard.
    /// 4. A claimer that crashes leaves its claim; the claim counts as abandoned once its creator
    ///    is provably gone or this process has seen it unchanged for `staleAfter`, and claim
    ///    `n + 1` is tried. A claimer gives up (without deleting) once `staleAfter / 2` has passed
    ///    since it sent its claim, so an abandoned claim's creator never deletes afterwards.
    ///
    /// Claims are deleted when their takeover ends; one left by a crash is a few bytes, harmless.
    static func takeOver(
        _ key: ObjectKey, item: ItemName, observed: [UInt8], state: String, backend: any StorageBackend,
        options: Options
    ) async throws -> Takeover {
        let clock = ContinuousClock()
        for n in 0..<4 {
            let claimKey = try ObjectKey(validating: "jobs-takeover/\(item)/\(state).\(n)")
            let claim = Array(
                try encoder.encode(Claim(owner: .current, token: LockObject.newToken(), created: options.wallClock())))
            let claimSent = clock.now
            let won: Bool
            do {
                won = try await backend.create(claimKey, data: claim)
            } catch {
                guard let landed = try? await LockObject.read(claimKey, from: backend), landed == claim else {
                    return .contended
                }
                won = true
            }
            if !won {
                let issued = clock.now
                let other: [UInt8]
                do {
                    other = try await LockObject.read(claimKey, from: backend)
                } catch let error as BlockStoreError where error.code == .notFound {
                    return .claimEnded  // that takeover ended: look again
                } catch {
                    return .contended
                }
                let unchanged = options.observations.unchangedFor(
                    location: backend.location, key: claimKey, state: LockObject.state(ofBytes: other),
                    issued: issued, returned: clock.now)
                let creator = (try? decoder.decode(Claim.self, from: Data(other)))?.owner
                if unchanged >= options.staleAfter || creator?.isProvablyGone == true { continue }  // abandoned
                return .contended
            }
            let outcome: Takeover
            do {
                let current = try await LockObject.read(key, from: backend)
                if current != observed || clock.now - claimSent >= options.staleAfter / 2 {
                    outcome = .contended
                } else {
                    try await backend.delete(key)
                    outcome = .removed
                }
            } catch let error as BlockStoreError where error.code == .notFound {
                outcome = .removed
            } catch {
                outcome = .contended
            }
            try? await backend.delete(claimKey)
            options.observations.forget(location: backend.location, key: claimKey)
            return outcome
        }
        return .contended
    }

    /// The content of a takeover claim.
    struct Claim: Codable {
        var owner: ProcessIdentity
        var token: String
        var created: Date
    }

    /// The error a job fails with when its guard cannot be taken before the timeout.
    static func failure(_ blocked: Blocked, item: ItemName) -> RecoveryChainError {
        switch blocked {
        case .held(let record, let unchanged, let patience):
            let formatter = ISO8601DateFormatter()
            return RecoveryChainError(
                .operationInProgress,
                "another operation is in progress on item \(item): \(record.operation) by \(record.owner) since \(formatter.string(from: record.started)) by that host's clock; wait for it to finish and try again (if that process is gone, its guard is taken over once this process has seen it unchanged for \(LockObject.text(patience)); so far \(LockObject.text(unchanged)))"
            )
        case .undecodable(let reason):
            return RecoveryChainError(
                .operationInProgress,
                "another operation may be in progress on item \(item): its job guard jobs/\(item) cannot be decoded (\(reason)), so it counts as held; it is taken over once it has stayed unchanged for the stale interval, or delete it once sure no job runs on \(item)"
            )
        case .unreadable(let error):
            return RecoveryChainError(
                .storeError,
                "the job guard jobs/\(item) could not be read, so the job did not start (a guard that cannot be read may be live and is never removed for it): \(error)",
                underlying: error)
        case .takeoverInProgress:
            return RecoveryChainError(
                .operationInProgress,
                "another operation is in progress on item \(item): another process is taking over its stale job guard; try again"
            )
        case .failed(let error):
            return RecoveryChainError.wrap(error, "writing the job guard of item \(item)")
        }
    }
}
