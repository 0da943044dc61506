/// When and how often a failed request is tried again.
///
/// Retried: connection errors and timeouts, HTTP 500, 502, 503 (including `SlowDown`), 504,
/// and 429 / 400 `RequestTimeout`. Never retried: other 4xx (they say something to fix), and
/// cancellation. Every request the backend sends is safe to repeat (see ``S3Backend``).
///
/// The wait before attempt *n + 1* is drawn uniformly from `0 ... min(maxDelay, baseDelay × 2ⁿ⁻¹)`
/// ("full jitter"), so many clients throttled at once spread out instead of retrying in step.
public struct S3RetryPolicy: Sendable, Hashable {
    /// The most attempts of one request, the first included (1 means no retry). Default 5.
    public var maxAttempts: Int
    /// The cap of the first backoff; it doubles per attempt. Default 200 ms.
    public var baseDelay: Duration
    /// The cap of any one backoff. Default 5 s.
    public var maxDelay: Duration

    /// Creates a retry policy.
    /// - Parameters:
    ///   - maxAttempts: The most attempts, the first included; at least 1.
    ///   - baseDelay: The cap of the first backoff.
    ///   - maxDelay: The cap of any one backoff.
    /// - Precondition: `maxAttempts >= 1`.
    public init(
        maxAttempts: Int = 5,
        baseDelay: Duration = .milliseconds(200),
        maxDelay: Duration = .seconds(5)
    ) {
        precondition(maxAttempts >= 1, "maxAttempts must be at least 1")
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// The largest doubling applied to ``baseDelay``: 2³⁰ times any sensible base is far beyond
    /// any ``maxDelay``, and the product cannot overflow `Duration`.
    static let backoffExponentMax = 30

    /// No retries: every failure is reported at once.
    public static let none = S3RetryPolicy(maxAttempts: 1)

    /// The cap of the backoff before attempt `attempt + 1` (attempts count from 1).
    public func backoffCap(afterAttempt attempt: Int) -> Duration {
        let exponent = min(max(attempt - 1, 0), Self.backoffExponentMax)
        let cap = baseDelay * (1 << exponent)
        return cap < maxDelay ? cap : maxDelay
    }

    /// The longest total backoff over all attempts (the sum of the caps).
    public var maxTotalBackoff: Duration {
        guard maxAttempts > 1 else { return .zero }
        return (1..<maxAttempts).reduce(Duration.zero) { $0 + backoffCap(afterAttempt: $1) }
    }

    /// A random backoff before attempt `attempt + 1`, uniformly in `0 ... cap`.
    func jitteredBackoff(afterAttempt attempt: Int) -> Duration {
        let capMs = backoffCap(afterAttempt: attempt).wholeMilliseconds
        return .milliseconds(Int64.random(in: 0...capMs))
    }
}
