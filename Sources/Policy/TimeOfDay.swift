/// A wall-clock time of day, to the minute, written `"HH:MM"` in JSON (`"02:30"`).
public struct TimeOfDay: Hashable, Sendable, Comparable, Codable, CustomStringConvertible {
    /// The hour, 0...23.
    public let hour: Int
    /// The minute, 0...59.
    public let minute: Int

    /// Creates a time of day.
    /// - Throws: ``PolicyError/Code/outOfRange`` when hour or minute lies outside its range.
    public init(hour: Int, minute: Int = 0) throws(PolicyError) {
        try PolicyError.check("hour", hour, 0...23, "")
        try PolicyError.check("minute", minute, 0...59, "")
        self.hour = hour
        self.minute = minute
    }

    /// Parses `"HH:MM"` (or `"H:MM"`).
    /// - Throws: ``PolicyError/Code/invalidValue`` for other forms.
    public init(_ text: String) throws(PolicyError) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let h = Int(parts[0]), let m = Int(parts[1]), parts[1].count == 2
        else {
            throw PolicyError(
                .invalidValue, "time \"\(text)\" is not of the form HH:MM", field: "times")
        }
        try self.init(hour: h, minute: m)
    }

    /// Seconds since midnight on the wall clock.
    public var secondOfDay: Int { hour * 3600 + minute * 60 }

    /// `"HH:MM"`.
    public var description: String {
        (hour < 10 ? "0" : "") + "\(hour):" + (minute < 10 ? "0" : "") + "\(minute)"
    }

    /// Orders by time of day.
    public static func < (a: TimeOfDay, b: TimeOfDay) -> Bool { a.secondOfDay < b.secondOfDay }

    /// Decodes `"HH:MM"`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do { try self.init(text) } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.message)
        }
    }

    /// Encodes `"HH:MM"`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
