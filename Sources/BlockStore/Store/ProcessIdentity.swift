import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Who holds a lock object or a job guard: enough to tell, on the same host, that the holder is
/// certainly gone.
///
/// A holder on another host can never be proven gone (its host may be alive and merely slow to
/// answer), so for it only staleness by observation applies (``LockObservations``). On the same
/// host a holder is gone when its process no longer exists (`ESRCH`) or when its pid now belongs
/// to a process started at another time (pid reuse). "Same host" means the same host name and,
/// where the system tells them (Linux), the same boot (`/proc/sys/kernel/random/boot_id`) and the
/// same pid namespace: two containers sharing a kernel but not their pids are different hosts here.
package struct ProcessIdentity: Codable, Sendable, Equatable, CustomStringConvertible {
    /// The host name (`gethostname`).
    package var hostname: String
    /// The process id.
    package var pid: Int32
    /// The kernel's random id of the current boot; nil where the system has none.
    package var bootID: String?
    /// The pid namespace (`/proc/self/ns/pid`, e.g. `pid:[4026531836]`); nil where unknown.
    package var pidNamespace: String?
    /// When the process started, in clock ticks since boot (`/proc/<pid>/stat` field 22); nil
    /// where unknown.
    package var processStart: UInt64?

    /// This process.
    package static let current = ProcessIdentity(
        hostname: hostName(), pid: getpid(), bootID: readTrimmed("/proc/sys/kernel/random/boot_id"),
        pidNamespace: readLink("/proc/self/ns/pid"), processStart: startTime(of: getpid()))

    /// E.g. `process 1234 on build-7`.
    package var description: String { "process \(pid) on \(hostname)" }

    /// Whether this identity names a process of this host that has certainly ended: no process
    /// has its pid, or the process with its pid started at another time. Always false for
    /// another host, and for this very process.
    package var isProvablyGone: Bool {
        let me = ProcessIdentity.current
        guard hostname == me.hostname, bootID == me.bootID, pidNamespace == me.pidNamespace, pid > 0 else {
            return false
        }
        if pid == me.pid {
            // Our pid: an earlier process that had it is gone; this process is not.
            guard let recorded = processStart, let mine = me.processStart else { return false }
            return recorded != mine
        }
        if kill(pid, 0) != 0 && errno == ESRCH { return true }
        if let recorded = processStart, let actual = ProcessIdentity.startTime(of: pid), actual != recorded {
            return true
        }
        return false
    }

    /// The buffer for a host name or a namespace link (`pid:[4026531836]`): 255 bytes and a
    /// terminator, above Linux's 64-byte host names and the 255 bytes other systems allow.
    static let nameBufferBytes = 256
    /// The largest `/proc` file read (`stat`, a boot ID): one page; they are far smaller.
    static let procFileBytesMax = 4096

    /// This machine's host name.
    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: nameBufferBytes)
        gethostname(&buffer, buffer.count - 1)
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// When process `pid` started (ticks since boot), or nil when unknown.
    package static func startTime(of pid: Int32) -> UInt64? {
        guard let stat = readTrimmed("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return nil }
        // After "pid (comm)" come fields 3…; the start time is field 22.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19 else { return nil }
        return UInt64(fields[19])
    }

    private static func readTrimmed(_ path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path), !data.isEmpty, data.count < procFileBytesMax else {
            return nil
        }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private static func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: nameBufferBytes)
        let n = readlink(path, &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
