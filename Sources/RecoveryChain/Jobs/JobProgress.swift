import Foundation
import Synchronization

/// Where a backup, restore, expiry or verification job stands.
public struct JobProgress: Sendable, Equatable {
    /// What the job is doing.
    public var phase: JobPhase
    /// Bytes read from disks (backup) or from the store (restore) so far.
    public var bytesRead: UInt64
    /// Bytes added to the store (backup) or written to targets (restore) so far.
    public var bytesWritten: UInt64
    /// Blocks found changed so far.
    public var blocksChanged: Int
    /// Blocks processed so far.
    public var blocksDone: Int
    /// Blocks the job will process, when known.
    public var blocksTotal: Int
    /// Seconds since the job started.
    public var elapsedSeconds: Double

    /// Creates a progress value.
    public init(
        phase: JobPhase, bytesRead: UInt64 = 0, bytesWritten: UInt64 = 0, blocksChanged: Int = 0, blocksDone: Int = 0,
        blocksTotal: Int = 0, elapsedSeconds: Double = 0
    ) {
        self.phase = phase
        self.bytesRead = bytesRead
        self.bytesWritten = bytesWritten
        self.blocksChanged = blocksChanged
        self.blocksDone = blocksDone
        self.blocksTotal = blocksTotal
        self.elapsedSeconds = elapsedSeconds
    }

    /// Bytes read per second so far.
    public var bytesPerSecond: Double { elapsedSeconds > 0 ? Double(bytesRead) / elapsedSeconds : 0 }

    /// The fraction of blocks done, 0…1.
    public var fractionDone: Double { blocksTotal > 0 ? min(1, Double(blocksDone) / Double(blocksTotal)) : 0 }

    /// Seconds left at the rate so far, when it can be estimated.
    public var estimatedSecondsRemaining: Double? {
        guard blocksDone > 0, blocksTotal > blocksDone, elapsedSeconds > 0 else { return nil }
        return elapsedSeconds / Double(blocksDone) * Double(blocksTotal - blocksDone)
    }
}

/// Receives progress reports, at most a few times a second; called from a worker, keep it quick.
public typealias JobProgressHandler = @Sendable (JobProgress) -> Void

/// A running job: its progress as an `AsyncSequence`, its result, and cancellation.
///
/// ```swift
/// let job = chains.startBackup(request)
/// for await p in job.progress { print(p.phase, p.fractionDone) }
/// let point = try await job.value
/// ```
public struct Job<Value: Sendable>: Sendable {
    /// Progress reports; finishes when the job ends.
    public let progress: AsyncStream<JobProgress>
    private let task: Task<Value, any Error>

    /// Starts `work` in a new task, streaming what it reports.
    public init(_ work: @escaping @Sendable (@escaping JobProgressHandler) async throws -> Value) {
        let (stream, continuation) = AsyncStream.makeStream(of: JobProgress.self, bufferingPolicy: .bufferingNewest(16))
        progress = stream
        task = Task {
            defer { continuation.finish() }
            return try await work { continuation.yield($0) }
        }
    }

    /// The job's result; throws its error (``RecoveryChainError/Code/cancelled`` when cancelled).
    public var value: Value {
        get async throws { try await task.value }
    }

    /// Cancels the job. A cancelled backup leaves no point and loses nothing committed before.
    public func cancel() { task.cancel() }
}

/// Rate-limits progress reports from many workers to one handler.
final class ProgressMeter: Sendable {
    private struct State {
        var progress: JobProgress
        var lastReport: ContinuousClock.Instant
    }
    private let state: Mutex<State>
    private let handler: JobProgressHandler?
    private let start = ContinuousClock.now

    init(phase: JobPhase, blocksTotal: Int, handler: JobProgressHandler?) {
        self.handler = handler
        state = Mutex(
            State(progress: JobProgress(phase: phase, blocksTotal: blocksTotal), lastReport: .now - .seconds(1)))
    }

    func update(force: Bool = false, _ change: (inout JobProgress) -> Void) {
        let report = state.withLock { s -> JobProgress? in
            change(&s.progress)
            let now = ContinuousClock.now
            s.progress.elapsedSeconds =
                Double((now - start).components.attoseconds) / 1e18 + Double((now - start).components.seconds)
            guard force || now - s.lastReport >= .milliseconds(200) else { return nil }
            s.lastReport = now
            return s.progress
        }
        if let report { handler?(report) }
    }

    var current: JobProgress { state.withLock { $0.progress } }
}
