import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The benchmark's `moto_server`: `python3 -m moto.server` on 127.0.0.1 and a free port,
/// started on first use and killed when the benchmark process exits (and by itself, should this
/// process die without running its exit handlers).
final class MotoProcess: Sendable {
    /// The one server of this process.
    static let shared = MotoProcess()

    private let state = Mutex<(process: Process?, port: Int)>((nil, 0))

    /// The process id `killAtExit` kills.
    nonisolated(unsafe) private static var runningPID: Int32 = 0

    /// Exits when its parent (this benchmark) is gone, then runs moto's server.
    private static let orphanGuarded = """
        import os, runpy, sys, threading, time
        parent = os.getppid()
        def watch():
            while os.getppid() == parent:
                time.sleep(0.5)
            os._exit(0)
        threading.Thread(target=watch, daemon=True).start()
        sys.argv = ["moto_server"] + sys.argv[1:]
        runpy.run_module("moto.server", run_name="__main__", alter_sys=True)
        """

    /// The port of the running server, starting it (and waiting until it accepts connections)
    /// on first call.
    /// - Throws: `MotoProcessError` when python3 or moto is missing or the server does not answer.
    func port() throws -> Int {
        try state.withLock { state in
            if let process = state.process, process.isRunning { return state.port }
            let port = try Self.freeLoopbackPort()
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", "-c", Self.orphanGuarded, "-H", "127.0.0.1", "-p", String(port)]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            process.standardInput = FileHandle.nullDevice
            try process.run()
            Self.runningPID = process.processIdentifier
            atexit {
                if MotoProcess.runningPID > 0 { _ = kill(MotoProcess.runningPID, SIGKILL) }
            }
            let deadline = ContinuousClock.now + .seconds(60)
            while !Self.canConnect(port: port) {
                guard process.isRunning, ContinuousClock.now < deadline else {
                    _ = kill(process.processIdentifier, SIGKILL)
                    throw MotoProcessError(
                        "moto_server did not start on port \(port): install it with pip install 'moto[server]'")
                }
                usleep(50_000)
            }
            state = (process, port)
            return port
        }
    }

    static func canConnect(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    static func freeLoopbackPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw MotoProcessError("socket() failed: errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else { throw MotoProcessError("bind() failed: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
