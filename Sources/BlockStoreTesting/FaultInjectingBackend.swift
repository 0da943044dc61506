import BlockStore
import Synchronization

/// Wraps a backend and injects failures, a simulated crash and read corruption, by seed.
///
/// Every call is counted per ``Operation``. Depending on ``configuration``:
/// - a call fails with `BlockStoreError` `backendError` with a probability per operation,
///   before it reaches the wrapped backend or, for a fraction of mutating calls, after (the write
///   landed but the caller saw an error, as when a connection drops);
/// - after ``Configuration/crashAfterMutatingOperations`` writes and deletes, the backend
///   "crashes": that many reached the wrapped backend, and every later call throws, as if the
///   process had died. The objects written before stay in ``wrapped``; open a new store on
///   ``wrapped`` to test recovery;
/// - reads return bytes with one bit flipped, with a probability (the stored object is intact).
///
/// Injected errors carry an ``InjectedFault`` as their `underlying` cause; find it with
/// ``injectedFault(in:)``. The random choices come from one ``SplitMix64`` seeded at init, so
/// a sequence of calls made one after another fails the same way every run with that seed.
/// Concurrent calls draw in the order they happen to run.
///
/// ```swift
/// let memory = MemoryBackend()
/// let backend = FaultInjectingBackend(
///     wrapping: memory, seed: 7,
///     configuration: .init(failureProbabilities: [.put: 0.1], crashAfterMutatingOperations: 50))
/// ```
public final class FaultInjectingBackend: StorageBackend, Sendable {
    /// The backend that holds the objects.
    public let wrapped: any StorageBackend
    /// The seed of the random choices.
    public let seed: UInt64
    private let state: Mutex<State>

    /// Creates a wrapper around `backend`.
    /// - Parameters:
    ///   - backend: The backend to forward calls to.
    ///   - seed: Seeds every random choice; print it in failure messages to replay a run.
    ///   - configuration: What to inject; the default injects nothing and only counts calls.
    public init(
        wrapping backend: any StorageBackend, seed: UInt64 = 0,
        configuration: Configuration = Configuration()
    ) {
        self.wrapped = backend
        self.seed = seed
        self.state = Mutex(State(configuration: configuration, generator: SplitMix64(seed: seed)))
    }

    /// What to inject from the next call on; changing it keeps the counters and the random
    /// sequence.
    public var configuration: Configuration {
        get { state.withLock { $0.configuration } }
        set { state.withLock { $0.configuration = newValue } }
    }

    /// How many calls of `operation` were made, including those that failed.
    public func callCount(_ operation: Operation) -> Int {
        state.withLock { $0.callCounts[operation, default: 0] }
    }

    /// How many calls of each operation were made, including those that failed.
    public var callCounts: [Operation: Int] {
        state.withLock { $0.callCounts }
    }

    /// How many writes and deletes reached the wrapped backend.
    public var mutatingOperationCount: Int {
        state.withLock { $0.mutationsStarted }
    }

    /// How many failures were injected (crashes not included).
    public var injectedFailureCount: Int {
        state.withLock { $0.injectedFailureCount }
    }

    /// How many reads returned corrupted bytes.
    public var corruptedReadCount: Int {
        state.withLock { $0.corruptedReadCount }
    }

    /// Whether the backend has crashed; every call throws from then on.
    public var hasCrashed: Bool {
        state.withLock { $0.crashed }
    }

    /// Crashes the backend now: every later call throws, and calls in flight throw when they
    /// return (their writes may or may not have landed, as in a real crash).
    public func crash() {
        state.withLock { $0.crashed = true }
    }

    /// The injected fault behind `error`, or nil when `error` was not injected by this type.
    public static func injectedFault(in error: any Error) -> InjectedFault? {
        (error as? BlockStoreError)?.underlying as? InjectedFault
    }

    /// `"fault-injecting <wrapped location>"`.
    public var location: String { "fault-injecting \(wrapped.location)" }

    /// The wrapped backend's answer.
    public var createIsAtomic: Bool { wrapped.createIsAtomic }

    /// Forwards to the wrapped backend, unless a fault is injected.
    public func put(_ key: ObjectKey, data: [UInt8]) async throws {
        try await perform(.put, key.rawValue) { try await wrapped.put(key, data: data) }
    }

    /// Forwards to the wrapped backend, unless a fault is injected.
    public func create(_ key: ObjectKey, data: [UInt8]) async throws -> Bool {
        try await perform(.create, key.rawValue) { try await wrapped.create(key, data: data) }
    }

    /// Forwards to the wrapped backend, unless a fault is injected; may flip one bit.
    public func get(_ key: ObjectKey) async throws -> [UInt8] {
        corruptedMaybe(try await perform(.get, key.rawValue) { try await wrapped.get(key) })
    }

    /// Forwards to the wrapped backend's capped read, unless a fault is injected; may flip one
    /// bit. Counted as a ``Operation/get``.
    public func get(_ key: ObjectKey, byteCountMax: Int) async throws -> [UInt8] {
        corruptedMaybe(
            try await perform(.get, key.rawValue) {
                try await wrapped.get(key, byteCountMax: byteCountMax)
            })
    }

    /// Forwards to the wrapped backend, unless a fault is injected; may flip one bit.
    public func get(_ key: ObjectKey, range: Range<UInt64>) async throws -> [UInt8] {
        corruptedMaybe(
            try await perform(.rangedGet, "\(key) bytes \(range)") {
                try await wrapped.get(key, range: range)
            })
    }

    /// Forwards to the wrapped backend, unless a fault is injected.
    public func size(_ key: ObjectKey) async throws -> UInt64? {
        try await perform(.size, key.rawValue) { try await wrapped.size(key) }
    }

    /// Forwards to the wrapped backend, unless a fault is injected.
    public func list(prefix: String, after: ObjectKey?, limit: Int) async throws -> ObjectListing {
        try await perform(.list, "prefix '\(prefix)'") {
            try await wrapped.list(prefix: prefix, after: after, limit: limit)
        }
    }

    /// Forwards to the wrapped backend, unless a fault is injected.
    public func delete(_ key: ObjectKey) async throws {
        try await perform(.delete, key.rawValue) { try await wrapped.delete(key) }
    }
}

// MARK: - Injection

extension FaultInjectingBackend {
    /// The mutable state, behind the mutex.
    private struct State {
        var configuration: Configuration
        var generator: SplitMix64
        var callCounts: [Operation: Int] = [:]
        var mutationsStarted = 0
        var crashed = false
        var injectedFailureCount = 0
        var corruptedReadCount = 0
    }

    /// What to do with one call.
    private enum Plan {
        case forward, failBeforeApplying, failAfterApplying
    }

    /// Counts the call, decides its fate, forwards it when it is to reach the wrapped backend.
    private func perform<T>(
        _ operation: Operation, _ subject: String, _ forward: () async throws -> T
    ) async throws -> T {
        let (plan, ordinal) = try state.withLock { state throws(BlockStoreError) -> (Plan, Int?) in
            state.callCounts[operation, default: 0] += 1
            if state.crashed { throw crashError(operation, subject, state) }
            var plan = Plan.forward
            let probability = state.configuration.failureProbabilities[operation] ?? 0
            if probability > 0 && state.generator.nextUnitInterval() < probability {
                state.injectedFailureCount += 1
                let afterFraction = state.configuration.failuresAfterApplyingFraction
                plan =
                    operation.isMutating && afterFraction > 0
                        && state.generator.nextUnitInterval() < afterFraction
                    ? .failAfterApplying : .failBeforeApplying
            }
            guard operation.isMutating, plan != .failBeforeApplying else { return (plan, nil) }
            if let limit = state.configuration.crashAfterMutatingOperations,
                state.mutationsStarted >= limit
            {
                state.crashed = true
                throw crashError(operation, subject, state)
            }
            state.mutationsStarted += 1
            return (plan, state.mutationsStarted)
        }
        if plan == .failBeforeApplying {
            throw injectedFailure(operation, subject, applied: false)
        }
        let result = try await forward()
        try state.withLock { state throws(BlockStoreError) in
            if let ordinal, ordinal == state.configuration.crashAfterMutatingOperations {
                state.crashed = true  // This call was the last one before the crash.
            } else if state.crashed {
                throw crashError(operation, subject, state)
            }
        }
        if plan == .failAfterApplying {
            throw injectedFailure(operation, subject, applied: true)
        }
        return result
    }

    /// `data`, or a copy with one bit flipped when the read is chosen for corruption.
    private func corruptedMaybe(_ data: [UInt8]) -> [UInt8] {
        state.withLock { state in
            let probability = state.configuration.readCorruptionProbability
            guard probability > 0, !data.isEmpty, state.generator.nextUnitInterval() < probability
            else { return data }
            let bitIndex = Int(state.generator.next() % UInt64(data.count * 8))
            var corrupted = data
            corrupted[bitIndex / 8] ^= 1 << UInt8(bitIndex % 8)
            state.corruptedReadCount += 1
            return corrupted
        }
    }

    /// The error of an injected failure.
    private func injectedFailure(_ operation: Operation, _ subject: String, applied: Bool)
        -> BlockStoreError
    {
        BlockStoreError(
            .backendError,
            "injected failure of \(operation) \(subject) \(applied ? "after" : "before") it "
                + "reached "
                + "\(wrapped.location) (FaultInjectingBackend seed \(seed))",
            underlying: InjectedFault(
                kind: applied ? .failureAfterApplying : .failure, operation: operation))
    }

    /// The error of every call after the simulated crash.
    private func crashError(_ operation: Operation, _ subject: String, _ state: State)
        -> BlockStoreError
    {
        BlockStoreError(
            .backendError,
            "simulated crash: \(operation) \(subject) refused, the backend stopped after "
                + "\(state.mutationsStarted) writes and deletes reached \(wrapped.location); open a "
                + "new store on the wrapped backend to recover (FaultInjectingBackend seed \(seed))",
            underlying: InjectedFault(kind: .crash, operation: operation))
    }
}
