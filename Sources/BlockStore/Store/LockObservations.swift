import Synchronization

/// What this process has seen of other processes' lock objects, on its own monotonic clock.
///
/// Staleness is never judged from a timestamp another host wrote (its clock may be hours off).
/// Instead a locker remembers, per lock object, the state it read (a holder's token and refresh
/// counter, or the bytes of an object it cannot decode) and the instant of its own
/// `ContinuousClock` at which a read first returned that state. The object is stale once a later
/// read, *issued* at least `staleAfter` after that instant, still returns the same state: its
/// holder wrote that state before the first read returned, so it has not refreshed for
/// `staleAfter`, and it stopped itself (``LockLease``) after `staleAfter / 2` of that.
///
/// The memory outlives one attempt to lock: a long-running process that retries (an agent that
/// schedules a garbage collection every hour) takes over a dead holder's lock at its first retry
/// after `staleAfter`, even when each attempt waits less.
package final class LockObservations: Sendable {
    /// The process-wide memory every store and job guard uses unless told otherwise.
    package static let shared = LockObservations()

    private struct Sighting {
        var state: String
        var since: ContinuousClock.Instant
    }

    private let sightings = Mutex<[String: Sighting]>([:])

    /// Creates an empty memory (tests use their own).
    package init() {}

    /// Records that a read of `key` issued at `issued` returned `state` at `returned`, and says
    /// how long this process has now seen that state unchanged.
    /// - Returns: Zero for a state seen for the first time; otherwise the time from the end of the
    ///   first read that returned it to the start of this one.
    package func unchangedFor(
        location: String, key: ObjectKey, state: String, issued: ContinuousClock.Instant,
        returned: ContinuousClock.Instant
    ) -> Duration {
        sightings.withLock { all in
            let id = "\(location)\n\(key.rawValue)"
            if let seen = all[id], seen.state == state {
                return max(.zero, issued - seen.since)
            }
            all[id] = Sighting(state: state, since: returned)
            return .zero
        }
    }

    /// Forgets `key` (it is gone).
    package func forget(location: String, key: ObjectKey) {
        _ = sightings.withLock { $0.removeValue(forKey: "\(location)\n\(key.rawValue)") }
    }

    /// Forgets every key under `prefix` except `kept` (the keys a complete listing returned).
    package func forget(location: String, prefix: String, keeping kept: Set<ObjectKey>) {
        let start = "\(location)\n\(prefix)"
        let keptIDs = Set(kept.map { "\(location)\n\($0.rawValue)" })
        sightings.withLock { all in
            let dropped = all.keys.filter { $0.hasPrefix(start) && !keptIDs.contains($0) }
            for id in dropped { all.removeValue(forKey: id) }
        }
    }
}
