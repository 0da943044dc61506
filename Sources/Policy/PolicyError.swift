/// The one error type of the `Policy` module.
///
/// Every failure carries a ``code`` a program can switch on, a ``message`` that says what
/// happened and what to do about it (for a field out of range: the field's name and the allowed
/// range), the ``field`` it concerns when there is one, and the ``underlying`` cause.
///
/// Outcomes are not errors: "kept" and "expired" are decisions, returned by
/// ``RetentionPolicy/evaluate(points:now:timeZone:)``.
public struct PolicyError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is. Codes may be added in later versions; switch with a default.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case outOfRange, contradictory, invalidValue, missingValue, invalidPoints
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A number lies outside the range the field allows (the message names both).
        public static let outOfRange = Code(.outOfRange)
        /// Two settings cannot hold together (e.g. a weekly tier on a day the schedule never runs).
        public static let contradictory = Code(.contradictory)
        /// A value cannot be parsed or is not one of the accepted forms (a duration, a time zone).
        public static let invalidValue = Code(.invalidValue)
        /// A setting the policy needs is absent (e.g. a tiered policy with no tier at all).
        public static let missingValue = Code(.missingValue)
        /// The points handed to an evaluation are unusable (e.g. two points share an id).
        public static let invalidPoints = Code(.invalidPoints)

        /// The code's stable name, e.g. `"outOfRange"`.
        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// What happened and what to do about it, for a person.
    public var message: String
    /// The policy field concerned, as it is spelled in JSON (e.g. `"weekly.weeks"`), if any.
    public var field: String?
    /// The cause, when another error led to this one.
    public var underlying: (any Error & Sendable)?

    /// Creates an error.
    /// - Parameters:
    ///   - code: The kind of failure.
    ///   - message: What happened and what to do about it.
    ///   - field: The policy field concerned, as spelled in JSON.
    ///   - underlying: The cause, if any.
    public init(
        _ code: Code, _ message: String, field: String? = nil,
        underlying: (any Error & Sendable)? = nil
    ) {
        self.code = code
        self.message = message
        self.field = field
        self.underlying = underlying
    }

    /// The error as one line: code, message and cause.
    public var description: String {
        if let underlying {
            return "\(code): \(message) (cause: \(underlying))"
        }
        return "\(code): \(message)"
    }
}

extension PolicyError {
    /// The policy error behind a decoding error, or one that names the field the decoder was at.
    ///
    /// The policy types throw `DecodingError` from `init(from:)`, as `Decodable` expects; when a
    /// value was decoded but is unacceptable (a duration out of range, an unknown weekday), the
    /// ``PolicyError`` that says so is the decoding error's `underlyingError`, and this returns it.
    /// Otherwise (malformed JSON, a wrong type, an unknown key) it returns an
    /// ``Code/invalidValue`` error whose ``field`` is the coding path, e.g. `"count.keepDaily"`.
    ///
    /// ```swift
    /// do { policy = try JSONDecoder().decode(RetentionPolicy.self, from: data) }
    /// catch let error as DecodingError { throw PolicyError(error) }
    /// ```
    /// - Parameter decodingError: What a `JSONDecoder` threw.
    public init(_ decodingError: DecodingError) {
        let context: DecodingError.Context?
        var what: String
        switch decodingError {
        case .dataCorrupted(let c):
            context = c
            what = c.debugDescription
        case .keyNotFound(let key, let c):
            context = c
            let path = (c.codingPath + [key]).map(\.stringValue).joined(separator: ".")
            self.init(.missingValue, "\(path) is missing", field: path, underlying: decodingError)
            return
        case .typeMismatch(let type, let c):
            context = c
            what = "expected \(Self.kind(of: type))"
        case .valueNotFound(let type, let c):
            context = c
            what = "expected \(Self.kind(of: type)), found null"
        @unknown default:
            context = nil
            what = "\(decodingError)"
        }
        if let policyError = context?.underlyingError as? PolicyError {
            self = policyError
            return
        }
        let path = context?.codingPath.map(\.stringValue).filter { !$0.isEmpty }.joined(separator: ".") ?? ""
        if !path.isEmpty && !what.contains(path) { what = "\(path): \(what)" }
        if let cause = context?.underlyingError {
            what += " (\(String(describing: cause)))"
        }
        self.init(.invalidValue, what, field: path.isEmpty ? nil : path, underlying: decodingError)
    }

    /// How a decoding error's expected type reads in a message.
    private static func kind(of type: Any.Type) -> String {
        switch type {
        case is Int.Type: "a whole number"
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        default: "\(type)"
        }
    }

    /// An `outOfRange` error naming the field and its allowed range.
    static func range(_ field: String, _ value: Int, _ range: ClosedRange<Int>, _ unit: String)
        -> PolicyError
    {
        PolicyError(
            .outOfRange,
            "\(field) is \(value) but must be within \(range.lowerBound)...\(range.upperBound) \(unit)",
            field: field)
    }

    /// Checks `value` against `range`, throwing ``range(_:_:_:_:)`` when it lies outside.
    static func check(_ field: String, _ value: Int, _ range: ClosedRange<Int>, _ unit: String)
        throws(PolicyError)
    {
        if !range.contains(value) { throw .range(field, value, range, unit) }
    }
}
