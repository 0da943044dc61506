import Synchronization

/// An async counting semaphore that bounds how many requests a backend has in flight.
///
/// Waiters are served first come, first served; a cancelled waiter leaves the queue and throws
/// `CancellationError`.
package final class RequestGate: Sendable {
    private struct State {
        var available: Int
        var nextID: UInt64 = 0
        var waiters: [(id: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
    }
    private let state: Mutex<State>
    /// The most permits out at once.
    package let limit: Int

    /// Creates a gate with `limit` permits.
    /// - Precondition: `limit > 0`.
    package init(limit: Int) {
        precondition(limit > 0, "a request gate needs at least one permit")
        self.limit = limit
        self.state = Mutex(State(available: limit))
    }

    /// Runs `body` holding one permit.
    package func withPermit<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await acquire()
        defer { release() }
        return try await body()
    }

    /// The number of permits currently held (for tests and statistics).
    package var inUse: Int { state.withLock { limit - $0.available } }

    private func acquire() async throws {
        let id: UInt64? = state.withLock { s in
            if s.available > 0 {
                s.available -= 1
                return nil
            }
            s.nextID += 1
            return s.nextID
        }
        guard let id else { return }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation {
                (continuation: CheckedContinuation<Void, any Error>) in
                let resumeNow: Bool = state.withLock { s in
                    if s.available > 0 {
                        s.available -= 1
                        return true
                    }
                    if Task.isCancelled { return false }
                    s.waiters.append((id, continuation))
                    return false
                }
                if resumeNow {
                    continuation.resume()
                } else if Task.isCancelled,
                    !state.withLock({ s in s.waiters.contains { $0.id == id } })
                {
                    continuation.resume(throwing: CancellationError())
                }
            }
        } onCancel: {
            let waiter: CheckedContinuation<Void, any Error>? = state.withLock { s in
                guard let index = s.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return s.waiters.remove(at: index).continuation
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    private func release() {
        let next: CheckedContinuation<Void, any Error>? = state.withLock { s in
            if s.waiters.isEmpty {
                s.available += 1
                return nil
            }
            return s.waiters.removeFirst().continuation
        }
        next?.resume()
    }
}
