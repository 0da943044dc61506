import BlockStore

/// Lock holders for tests of locks and job guards: one that provably ended on this host, and one
/// on another host.
extension ProcessIdentity {
    /// This host, a process that has ended: this pid with another start time (pid reuse), or a
    /// pid no process has.
    package static var ended: ProcessIdentity {
        var identity = ProcessIdentity.current
        if let start = identity.processStart {
            identity.processStart = start + 1
        } else {
            identity.pid = 0x3FFF_FFF0
        }
        return identity
    }

    /// A process on another host: never provably gone.
    package static var elsewhere: ProcessIdentity {
        var identity = ProcessIdentity.current
        identity.hostname = "another-host.example"
        identity.pid = 4242
        return identity
    }
}
