import BlockStoreS3
import Synchronization

/// A transport that answers from a script and records what it was sent (no network).
final class RecordingTransport: S3Transport {
    let sent = Mutex<[S3HTTPRequest]>([])
    private let answer: @Sendable (S3HTTPRequest) -> S3HTTPResponse

    init(
        answer: @escaping @Sendable (S3HTTPRequest) -> S3HTTPResponse = { request in
            request.method == "HEAD"
                ? S3HTTPResponse(status: 200, headers: [("Content-Length", "5")], body: [])
                : S3HTTPResponse(status: 200, headers: [], body: Array("<ListBucketResult/>".utf8))
        }
    ) {
        self.answer = answer
    }

    func send(_ request: S3HTTPRequest, timeout: Duration) async throws -> S3HTTPResponse {
        sent.withLock { $0.append(request) }
        return answer(request)
    }

    func shutdown() async throws {}

    var requests: [S3HTTPRequest] { sent.withLock { $0 } }
}

extension S3HTTPRequest {
    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }
}
