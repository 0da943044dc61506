import BlockStore

extension FaultInjectingBackend {
    /// A kind of `StorageBackend` call.
    public enum Operation: String, CaseIterable, Sendable, Hashable, CustomStringConvertible {
        /// `StorageBackend.put(_:data:)`.
        case put
        /// `StorageBackend.create(_:data:)`.
        case create
        /// `StorageBackend.get(_:)`.
        case get
        /// `StorageBackend.get(_:range:)`.
        case rangedGet
        /// `StorageBackend.size(_:)`.
        case size
        /// `StorageBackend.list(prefix:after:limit:)`.
        case list
        /// `StorageBackend.delete(_:)`.
        case delete

        /// Whether the call changes stored objects (put, create, delete).
        public var isMutating: Bool {
            self == .put || self == .create || self == .delete
        }

        /// The operation's name, e.g. `"rangedGet"`.
        public var description: String { rawValue }
    }

    /// What a ``FaultInjectingBackend`` injects.
    public struct Configuration: Sendable {
        /// The probability (0…1) that a call of each operation fails; absent operations never
        /// fail.
        public var failureProbabilities: [Operation: Double]
        /// Of the injected failures of mutating calls, the fraction (0…1) that happen after the
        /// call reached the wrapped backend: the write or delete took effect, yet the caller gets
        /// an error.
        public var failuresAfterApplyingFraction: Double
        /// Crash once this many writes and deletes have reached the wrapped backend; nil never.
        public var crashAfterMutatingOperations: Int?
        /// The probability (0…1) that a read (whole or ranged) returns its bytes with one bit
        /// flipped.
        public var readCorruptionProbability: Double

        /// Creates a configuration; the defaults inject nothing.
        /// - Parameters:
        ///   - failureProbabilities: Per operation, the probability that a call fails.
        ///   - failuresAfterApplyingFraction: The fraction of injected mutating failures that
        ///     happen after the call took effect.
        ///   - crashAfterMutatingOperations: How many writes and deletes happen before a crash.
        ///   - readCorruptionProbability: The probability that a read is corrupted by one bit.
        public init(
            failureProbabilities: [Operation: Double] = [:],
            failuresAfterApplyingFraction: Double = 0,
            crashAfterMutatingOperations: Int? = nil,
            readCorruptionProbability: Double = 0
        ) {
            for (operation, probability) in failureProbabilities {
                precondition(
                    (0...1).contains(probability),
                    "failure probability of \(operation) must be in 0...1")
            }
            precondition(
                (0...1).contains(failuresAfterApplyingFraction), "fraction must be in 0...1")
            precondition(
                (crashAfterMutatingOperations ?? 0) >= 0, "crash point must not be negative")
            precondition(
                (0...1).contains(readCorruptionProbability), "probability must be in 0...1")
            self.failureProbabilities = failureProbabilities
            self.failuresAfterApplyingFraction = failuresAfterApplyingFraction
            self.crashAfterMutatingOperations = crashAfterMutatingOperations
            self.readCorruptionProbability = readCorruptionProbability
        }

        /// Every operation fails with `probability`.
        public static func failingEveryOperation(withProbability probability: Double)
            -> Configuration
        {
            Configuration(
                failureProbabilities: Dictionary(
                    uniqueKeysWithValues: Operation.allCases.map { ($0, probability) }))
        }
    }

    /// The cause recorded in every error a ``FaultInjectingBackend`` injects.
    public struct InjectedFault: Error, Sendable, Equatable, CustomStringConvertible {
        /// How the call failed.
        public enum Kind: String, Sendable, Equatable {
            /// The call failed before reaching the wrapped backend.
            case failure
            /// The call took effect in the wrapped backend, then failed.
            case failureAfterApplying
            /// The backend had crashed.
            case crash
        }

        /// How the call failed.
        public var kind: Kind
        /// Which call failed.
        public var operation: Operation

        /// Creates a fault description.
        public init(kind: Kind, operation: Operation) {
            self.kind = kind
            self.operation = operation
        }

        /// E.g. `"injected crash on put"`.
        public var description: String { "injected \(kind.rawValue) on \(operation)" }
    }
}
