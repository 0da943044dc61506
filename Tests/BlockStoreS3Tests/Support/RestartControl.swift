import Synchronization

/// What the restart test's fault hook shares with its body and background tasks.
final class RestartControl: Sendable {
    /// A URL fragment: the first request containing it stops or kills the server.
    let trigger = Mutex<String?>(nil)
    /// Whether the trigger has fired since it was last set.
    let fired = Mutex(false)
    /// While a killed server is coming back without its bucket, requests fail as if it were
    /// unreachable, so that none races the bucket's re-creation.
    let restoring = Mutex(false)
    /// The tasks that continue or restart the server.
    let background = Mutex<[Task<Void, Never>]>([])
}
