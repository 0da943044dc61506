import BlockStoreS3
import BlockStoreTesting
import Synchronization

/// What a ``FaultInjectingTransport`` does with one request.
enum InjectedFault: Sendable, Equatable {
    /// Forward it unchanged.
    case none
    /// Answer with this status and an S3 error body, without forwarding.
    case status(Int, code: String)
    /// Fail as if the connection dropped, without forwarding.
    case connectionError
    /// Forward it, then fail as if the response were lost: the request took effect.
    case loseResponse
}

/// An error standing in for a dropped connection.
struct InjectedConnectionError: Error, CustomStringConvertible {
    var description: String { "injected connection error" }
}

/// Wraps the real transport and injects faults chosen by `decide`, before or after forwarding:
/// the seam for retry tests that need no proxy.
final class FaultInjectingTransport: S3Transport {
    let inner: any S3Transport
    private let decide: @Sendable (S3HTTPRequest, Int) async -> InjectedFault
    private let counter = Mutex(0)
    private let injected = Mutex<[InjectedFault]>([])
    private let inFlight = Mutex((current: 0, maximum: 0))

    /// - Parameter decide: Gets each request and its index (from 0) and picks the fault.
    init(
        inner: any S3Transport,
        decide: @escaping @Sendable (S3HTTPRequest, Int) async -> InjectedFault
    ) {
        self.inner = inner
        self.decide = decide
    }

    /// The most requests that were in the transport at once.
    var maxInFlight: Int { inFlight.withLock { $0.maximum } }

    /// The faults injected so far (`.none` left out).
    var injectedFaults: [InjectedFault] { injected.withLock { $0 } }

    func send(_ request: S3HTTPRequest, timeout: Duration) async throws -> S3HTTPResponse {
        let index = counter.withLock { value in
            defer { value += 1 }
            return value
        }
        inFlight.withLock {
            $0.current += 1
            $0.maximum = max($0.maximum, $0.current)
        }
        defer { inFlight.withLock { $0.current -= 1 } }
        let fault = await decide(request, index)
        if fault != .none { injected.withLock { $0.append(fault) } }
        switch fault {
        case .none:
            return try await inner.send(request, timeout: timeout)
        case .status(let status, let code):
            let body =
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>\(code)</Code><Message>injected</Message></Error>"
            return S3HTTPResponse(
                status: status, headers: [("Content-Type", "application/xml")],
                body: Array(body.utf8))
        case .connectionError:
            throw InjectedConnectionError()
        case .loseResponse:
            _ = try await inner.send(request, timeout: timeout)
            throw InjectedConnectionError()
        }
    }

    func shutdown() async throws {
        try await inner.shutdown()
    }
}

extension S3Backend {
    /// A backend for `configuration` whose requests pass through `decide`'s faults.
    static func withFaults<T>(
        configuration: S3Configuration,
        decide: @escaping @Sendable (S3HTTPRequest, Int) async -> InjectedFault,
        _ body: (S3Backend, FaultInjectingTransport) async throws -> T
    ) async throws -> T {
        let transport = FaultInjectingTransport(
            inner: HTTPClientTransport(
                timeouts: configuration.timeouts, maxConnections: configuration.maxRequestsInFlight,
                maxResponseBytes: 1 << 30),
            decide: decide)
        let backend = S3Backend(configuration: configuration, transport: transport)
        do {
            let result = try await body(backend, transport)
            try await backend.shutdown()
            return result
        } catch {
            try? await backend.shutdown()
            throw error
        }
    }
}
