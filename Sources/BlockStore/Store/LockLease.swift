import Foundation
import Synchronization

/// A lock object this process holds, kept alive by a refresh counter, that stops itself before
/// anyone could judge it stale.
///
/// Every `staleAfter / 4` the lease reads its object back and, when it still holds exactly the
/// bytes last written, writes it again with the counter one higher. Observers judge the lock stale
/// only when they have seen the counter unchanged for `staleAfter` of their own clock (see
/// ``LockObservations``). The holder's side of that bargain:
///
/// - The lease is *lost* once no refresh has succeeded for `staleAfter / 2`, counted from the
///   start of the last refresh that succeeded (a write cannot land before it is sent, so an
///   observer's first sight of that counter comes later still). An observer takes over no
///   earlier than `staleAfter` after that sight, so the holder has stopped `staleAfter / 2`
///   before: that is the margin for a request in flight, and for two clocks' rates to differ.
/// - It is lost at once when the object is gone (an observer removed it as stale) or holds
///   other bytes (another process replaced it).
/// - Lost is final: the lease never writes again, and ``checkHeld()`` throws
///   ``BlockStoreError/Code/lockLost`` from then on. Callers check it before every step another
///   holder must not see: a write, a flush, a root's publication, a deletion.
///
/// Time is `ContinuousClock` (it keeps counting while the machine sleeps, so a holder that
/// slept through its margin knows it). The wall clock only fills in the informational dates of
/// the record, in `render`.
package final class LockLease: Sendable {
    /// Why a lease was lost.
    package enum Loss: Sendable, Equatable {
        /// No refresh succeeded for half the stale interval; the last error, if any.
        case expired(lastError: String?)
        /// The lock object was deleted by someone else.
        case gone
        /// The lock object holds bytes this lease did not write.
        case changed
        /// ``release()`` ended the lease.
        case released
    }

    /// The lock object.
    package let key: ObjectKey
    /// The interval after which observers judge an unrefreshed lock stale.
    package let staleAfter: Duration
    private let core: Core
    private let refresher: Task<Void, Never>

    /// How often a holder refreshes.
    package static func refreshInterval(_ staleAfter: Duration) -> Duration { staleAfter / 4 }
    /// After how long without a successful refresh a holder stops.
    package static func lostAfter(_ staleAfter: Duration) -> Duration { staleAfter / 2 }
    /// The largest lock object read; more is not a lock this build wrote.
    package static let objectBytesMax = 4096

    /// Starts refreshing an object this process just wrote.
    /// - Parameters:
    ///   - key: The object.
    ///   - backend: Where it is.
    ///   - written: The bytes written, counter 0.
    ///   - writeStarted: When the write that put `written` there was sent.
    ///   - staleAfter: The stale interval.
    ///   - keyIsShared: Whether other processes may write the same key (a job guard); then
    ///     ``release()`` deletes the object only while the lease holds and the object is still
    ///     its own.
    ///   - render: The object's bytes for a counter value (with the caller's wall-clock time as
    ///     information).
    package init(
        key: ObjectKey, backend: any StorageBackend, written: [UInt8], writeStarted: ContinuousClock.Instant,
        staleAfter: Duration, keyIsShared: Bool, render: @escaping @Sendable (UInt64) -> [UInt8]
    ) {
        self.key = key
        self.staleAfter = staleAfter
        let core = Core(
            key: key, backend: backend, staleAfter: staleAfter, keyIsShared: keyIsShared, render: render,
            state: State(lastBytes: written, lastSuccessStart: writeStarted))
        self.core = core
        self.refresher = Task { await core.run() }
    }

    /// Throws ``BlockStoreError/Code/lockLost`` when the lease is lost (see the type's summary).
    package func checkHeld() throws {
        if let loss = core.currentLoss() { throw core.error(for: loss) }
    }

    /// Why the lease is lost, or nil while it holds.
    package var loss: Loss? { core.currentLoss() }

    /// Returns once the lease is lost (polling at `staleAfter / 16`), or when the task is
    /// cancelled.
    package func waitUntilLost() async {
        while core.currentLoss() == nil {
            do { try await Task.sleep(for: max(staleAfter / 16, .milliseconds(1))) } catch { return }
        }
    }

    /// Stops refreshing and removes the object when it is this lease's: always for a key of its
    /// own, and for a shared key only while the lease holds and the object still holds the bytes
    /// it last wrote (a lost lease leaves the object to be taken over as stale, since in the time
    /// between reading and deleting it another process may have replaced it).
    package func release() async {
        refresher.cancel()
        await refresher.value
        await core.release()
    }

    /// The state behind the lease, shared with the refresher.
    private final class Core: Sendable {
        let key: ObjectKey
        let backend: any StorageBackend
        let staleAfter: Duration
        let keyIsShared: Bool
        let render: @Sendable (UInt64) -> [UInt8]
        let state: Mutex<State>
        let clock = ContinuousClock()

        init(
            key: ObjectKey, backend: any StorageBackend, staleAfter: Duration, keyIsShared: Bool,
            render: @escaping @Sendable (UInt64) -> [UInt8], state: State
        ) {
            self.key = key
            self.backend = backend
            self.staleAfter = staleAfter
            self.keyIsShared = keyIsShared
            self.render = render
            self.state = Mutex(state)
        }

        func currentLoss() -> Loss? {
            let now = clock.now
            return state.withLock { $0.loss(at: now, lostAfter: LockLease.lostAfter(staleAfter)) }
        }

        func markLost(_ loss: Loss) {
            state.withLock { s in
                if s.lost == nil { s.lost = loss }
            }
        }

        func error(for loss: Loss) -> BlockStoreError {
            let what: String
            switch loss {
            case .expired(let lastError):
                what =
                    "no refresh of it succeeded for \(LockObject.text(LockLease.lostAfter(staleAfter)))"
                    + (lastError.map { " (last error: \($0))" } ?? "")
            case .gone: what = "another process deleted it as stale"
            case .changed: what = "another process replaced it"
            case .released: what = "it was released"
            }
            return BlockStoreError(
                .lockLost,
                "this process lost its lock \(key) in \(backend.location): \(what); it stopped before another process could take the lock over"
            )
        }

        /// Refreshes until the lease is lost or the task is cancelled.
        func run() async {
            let interval = max(LockLease.refreshInterval(staleAfter), .milliseconds(1))
            let retry = max(staleAfter / 16, .milliseconds(1))
            var delay = interval
            while true {
                do { try await Task.sleep(for: delay) } catch { return }
                delay = await refreshOnce() ? interval : retry
                if currentLoss() != nil { return }
            }
        }

        /// One refresh: read back, compare, write the next counter. Returns whether it succeeded.
        func refreshOnce() async -> Bool {
            let start = clock.now
            if currentLoss() != nil { return false }
            let current: [UInt8]
            do {
                current = try await LockObject.read(key, from: backend)
            } catch let error as BlockStoreError where error.code == .notFound {
                markLost(.gone)
                return false
            } catch {
                state.withLock { $0.lastError = "\(error)" }
                return false
            }
            let counter = state.withLock { s -> UInt64? in
                if current != s.lastBytes {
                    // A write that reported an error may have landed after all.
                    guard let pending = s.pending, current == pending.bytes else {
                        if s.lost == nil { s.lost = .changed }
                        return nil
                    }
                    s.lastBytes = pending.bytes
                    s.lastSuccessStart = max(s.lastSuccessStart, pending.started)
                }
                s.pending = nil
                s.counter += 1
                return s.counter
            }
            // Never send a write once the margin has run out, even if the read was slow.
            guard let counter, currentLoss() == nil else { return false }
            let bytes = render(counter)
            state.withLock { $0.pending = (bytes, start) }
            do {
                try await backend.put(key, data: bytes)
            } catch {
                state.withLock { $0.lastError = "\(error)" }
                return false
            }
            state.withLock { s in
                s.lastBytes = bytes
                s.pending = nil
                s.lastSuccessStart = max(s.lastSuccessStart, start)
                s.lastError = nil
            }
            return true
        }

        func release() async {
            defer { markLost(.released) }
            if !keyIsShared {
                try? await backend.delete(key)
                return
            }
            guard currentLoss() == nil else { return }
            let ours = state.withLock { s in [s.lastBytes] + (s.pending.map { [$0.bytes] } ?? []) }
            guard let current = try? await LockObject.read(key, from: backend),
                ours.contains(current), currentLoss() == nil
            else { return }
            try? await backend.delete(key)
        }
    }

    /// The lease's mutable state.
    private struct State: Sendable {
        var lastBytes: [UInt8]
        var lastSuccessStart: ContinuousClock.Instant
        var counter: UInt64 = 0
        /// A write sent and not confirmed: its bytes, and when it was sent.
        var pending: (bytes: [UInt8], started: ContinuousClock.Instant)? = nil
        var lost: Loss? = nil
        var lastError: String? = nil

        /// Why the lease is lost at `now`, marking it lost when its margin has run out.
        mutating func loss(at now: ContinuousClock.Instant, lostAfter: Duration) -> Loss? {
            if lost == nil, now - lastSuccessStart >= lostAfter { lost = .expired(lastError: lastError) }
            return lost
        }
    }
}
