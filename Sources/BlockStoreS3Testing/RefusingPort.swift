#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A loopback port that refuses every connection for as long as this value lives: a socket
/// bound to it that never listens.
///
/// Unlike a port from ``Loopback/freePort()`` (released at once, so a server another test starts
/// may take it), nothing else can bind this port while it is held, so a test of "the endpoint
/// refuses connections" cannot end up talking to some other test's server.
public final class RefusingPort: Sendable {
    /// The port number on 127.0.0.1.
    public let port: Int
    private let descriptor: Int32

    /// Binds a socket to a free loopback port and holds it without listening.
    /// - Throws: ``MotoError`` when no socket can be opened or bound.
    public init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw MotoError("socket() failed: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Bool in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else {
            let error = errno
            close(fd)
            throw MotoError("bind() failed: errno \(error)")
        }
        descriptor = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(descriptor) }
}
