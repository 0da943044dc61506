import Synchronization

/// What a garbage-collection fault test's transport hook shares with the test body.
final class OutageControl: Sendable {
    /// Set just before the collection starts: only its requests can trigger the outage.
    let armed = Mutex(false)
    /// Whether the outage has started.
    let fired = Mutex(false)
    /// While true, every request fails as a dropped connection.
    let unreachable = Mutex(false)
    /// The task that continues a paused server.
    let resume = Mutex<Task<Void, Never>?>(nil)

    /// Marks the outage started; true only for the first caller.
    func fire() -> Bool {
        fired.withLock { f in
            defer { f = true }
            return !f
        }
    }
}
