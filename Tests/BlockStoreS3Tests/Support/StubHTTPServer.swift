import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A tiny HTTP/1.1 server on 127.0.0.1 that answers from a script, byte for byte: the stand-in
/// for an S3 service that misbehaves in ways moto never does (lying lengths, endless bodies,
/// listings that never end).
///
/// One thread accepts; each connection gets a thread that reads requests (head and body) and
/// writes whatever the script returns, keeping the connection open between requests unless
/// the reply says otherwise.
final class StubHTTPServer: Sendable {
    /// One request as received.
    struct Request: Sendable {
        /// `GET`, `HEAD` …
        var method: String
        /// The request target: path and query, as sent.
        var target: String
        /// The headers, names lowercased.
        var headers: [String: String]
        /// Which request this is, from 0, across connections.
        var index: Int
    }

    /// What to send back.
    struct Reply: Sendable {
        /// The status line and headers, each line without its CRLF.
        var head: [String]
        /// The body bytes sent after the head (whatever the head declares).
        var body: [UInt8] = []
        /// Close the connection after the body.
        var closeAfter = false
        /// After the head, send 1 MiB chunks (chunked encoding) until the client goes away.
        var endlessChunks = false

        /// A reply whose `Content-Length` is its body's.
        static func complete(status: String, headers: [String] = [], body: [UInt8]) -> Reply {
            Reply(head: ["HTTP/1.1 \(status)"] + headers + ["Content-Length: \(body.count)"], body: body)
        }

        /// A 200 with an XML document.
        static func xml(_ text: String) -> Reply {
            complete(status: "200 OK", headers: ["Content-Type: application/xml"], body: Array(text.utf8))
        }
    }

    /// The port it listens on.
    let port: Int
    private let listener: Int32
    private let script: @Sendable (Request) -> Reply
    private let state = Mutex(State())

    private struct State {
        var requests: [Request] = []
        var connections: Set<Int32> = []
        var stopped = false
    }

    /// Starts listening and answering with `script`.
    init(script: @escaping @Sendable (Request) -> Reply) throws {
        #if canImport(Glibc)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, 16) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else {
            let error = errno
            close(fd)
            throw POSIXError(.init(rawValue: error) ?? .EIO)
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        self.script = script
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    /// Every request received so far.
    var requests: [Request] { state.withLock { $0.requests } }

    /// Stops accepting and drops every connection.
    func stop() {
        let connections = state.withLock { s -> Set<Int32> in
            s.stopped = true
            return s.connections
        }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        for fd in connections { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    private func acceptLoop() {
        while true {
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else {
                if errno == EINTR { continue }
                return
            }
            #if canImport(Darwin)
                var one: Int32 = 1
                setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
            #endif
            let accepted = state.withLock { s -> Bool in
                guard !s.stopped else { return false }
                s.connections.insert(fd)
                return true
            }
            guard accepted else {
                close(fd)
                return
            }
            Thread.detachNewThread { [self] in
                serve(fd)
                state.withLock { _ = $0.connections.remove(fd) }
                close(fd)
            }
        }
    }

    /// Answers requests on one connection until it closes.
    private func serve(_ fd: Int32) {
        var buffered: [UInt8] = []
        while true {
            guard let request = readRequest(fd, &buffered) else { return }
            let reply = script(request)
            var head = Array((reply.head.joined(separator: "\r\n") + "\r\n\r\n").utf8)
            if reply.endlessChunks {
                guard sendAll(fd, head) else { return }
                let chunk = Array("100000\r\n".utf8) + [UInt8](repeating: 0x61, count: 1 << 20) + Array("\r\n".utf8)
                while sendAll(fd, chunk) {}
                return
            }
            head += reply.body
            guard sendAll(fd, head), !reply.closeAfter else { return }
        }
    }

    /// Reads one request head (and skips its body); nil at the end of the connection.
    private func readRequest(_ fd: Int32, _ buffered: inout [UInt8]) -> Request? {
        let separator = Array("\r\n\r\n".utf8)
        var headEnd: Int? = nil
        while headEnd == nil {
            headEnd = buffered.firstRange(of: separator)?.lowerBound
            if headEnd == nil {
                guard buffered.count < 1 << 20, receive(fd, &buffered) else { return nil }
            }
        }
        let head = String(decoding: buffered[..<headEnd!], as: UTF8.self)
        buffered.removeFirst(headEnd! + separator.count)
        let lines = head.components(separatedBy: "\r\n")
        let requestLine = lines[0].split(separator: " ")
        guard requestLine.count >= 2 else { return nil }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...]
                .trimmingCharacters(in: .whitespaces)
        }
        let bodyLength = Int(headers["content-length"] ?? "0") ?? 0
        while buffered.count < bodyLength {
            guard receive(fd, &buffered) else { return nil }
        }
        buffered.removeFirst(bodyLength)
        return state.withLock { s in
            let request = Request(
                method: String(requestLine[0]), target: String(requestLine[1]), headers: headers,
                index: s.requests.count)
            s.requests.append(request)
            return request
        }
    }

    /// Appends what arrives next; false at the end of the connection.
    private func receive(_ fd: Int32, _ buffered: inout [UInt8]) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return false }
        buffered += chunk[..<count]
        return true
    }

    /// Sends all of `bytes`; false when the client went away.
    private func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        #if canImport(Glibc)
            let flags = Int32(MSG_NOSIGNAL)
        #else
            let flags: Int32 = 0
        #endif
        var sent = 0
        while sent < bytes.count {
            let count = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + sent, $0.count - sent, flags) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return false }
            sent += count
        }
        return true
    }
}
