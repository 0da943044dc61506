/// How long one request attempt may take, phase by phase.
///
/// An attempt fails when the TCP (and TLS) connection is not up within ``connect`` (a refused
/// connection fails at once), when no byte arrives for ``read`` after the request was sent, and
/// in any case when the whole attempt takes longer than ``request``. A failed attempt is retried
/// as ``S3RetryPolicy`` says, so an operation never takes longer than
/// `maxAttempts × request + S3RetryPolicy.maxTotalBackoff`, and with the defaults
/// (5 attempts, backoff caps summing to 3 s):
///
/// | endpoint                                  | fails after at most            |
/// |-------------------------------------------|--------------------------------|
/// | refuses connections (nothing listening)   | ≈ 3 s (the backoff alone)      |
/// | drops connection attempts (black hole)    | 5 × 5 s + 3 s = 28 s           |
/// | accepts, then never answers               | 5 × 30 s + 3 s = 153 s         |
/// | answers 5xx / SlowDown every time         | the backoff, ≈ 3 s, then the 5xx is reported |
///
/// Lower ``read`` and ``request`` for interactive tools; raise ``request`` for large parts on
/// slow links.
public struct S3Timeouts: Sendable, Hashable {
    /// The longest wait for a connection to be established. Default 5 s.
    public var connect: Duration
    /// The longest silence while waiting for or reading a response. Default 30 s.
    public var read: Duration
    /// The longest one attempt may take from start to the last response byte. Default 300 s
    /// (a 16 MiB part at 1 MiB/s takes 16 s; raise it for slow links and large parts).
    public var request: Duration

    /// Creates timeouts.
    /// - Parameters:
    ///   - connect: The longest wait for a connection.
    ///   - read: The longest silence while a response is awaited or read.
    ///   - request: The longest one attempt may take.
    public init(
        connect: Duration = .seconds(5),
        read: Duration = .seconds(30),
        request: Duration = .seconds(300)
    ) {
        self.connect = connect
        self.read = read
        self.request = request
    }
}

extension Duration {
    /// The duration in whole milliseconds (at least 1).
    var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return max(1, seconds * 1000 + attoseconds / 1_000_000_000_000_000)
    }
}
