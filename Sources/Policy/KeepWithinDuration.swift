import Foundation

/// A calendar duration of years, months, days and hours, written as restic writes it:
/// `"1y2m3d4h"`, `"7d"`, `"2y5m7d3h"` (any subset, in any order; a unit given twice keeps the
/// last value; there is no `w` unit, write `7d`).
///
/// It is subtracted the way restic does: years, months and days on the calendar of the policy's
/// time zone, with day overflow rolled into the next month (Mar 31 − 1m = Mar 3 in a common year,
/// as Go's `AddDate`), then hours as exact hours.
public struct KeepWithinDuration: Hashable, Sendable, Codable, CustomStringConvertible {
    /// Whole years.
    public var years: Int
    /// Whole months.
    public var months: Int
    /// Whole days.
    public var days: Int
    /// Whole hours.
    public var hours: Int

    /// Creates a duration from its parts.
    public init(years: Int = 0, months: Int = 0, days: Int = 0, hours: Int = 0) {
        self.years = years
        self.months = months
        self.days = days
        self.hours = hours
    }

    /// Parses restic's notation.
    /// - Parameters:
    ///   - text: e.g. `"1y2m3d4h"`; surrounding spaces are ignored.
    ///   - field: The policy field, for the error.
    /// - Throws: ``PolicyError/Code/invalidValue`` for a missing number, a missing unit or a unit
    ///   other than `y`, `m`, `d`, `h`.
    public init(_ text: String, field: String = "keepWithin") throws(PolicyError) {
        self.init()
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        while !rest.isEmpty {
            var negative = false
            if rest.first == "-" {
                negative = true
                rest = rest.dropFirst()
            }
            let digits = rest.prefix(while: { $0.isASCII && $0.isNumber })
            guard !digits.isEmpty, let magnitude = Int(digits) else {
                throw PolicyError(
                    .invalidValue, "\(field) \"\(text)\": no number found", field: field)
            }
            let number = negative ? -magnitude : magnitude
            rest = rest.dropFirst(digits.count)
            guard let unit = rest.first else {
                throw PolicyError(
                    .invalidValue, "\(field) \"\(text)\": no unit found after number \(number)",
                    field: field)
            }
            switch unit {
            case "y": years = number
            case "m": months = number
            case "d": days = number
            case "h": hours = number
            default:
                throw PolicyError(
                    .invalidValue,
                    "\(field) \"\(text)\": invalid unit \"\(unit)\" after number \(number) (use y, m, d, h)",
                    field: field)
            }
            rest = rest.dropFirst()
        }
    }

    /// Whether every part is zero (the rule is then off).
    public var isZero: Bool { years == 0 && months == 0 && days == 0 && hours == 0 }

    /// restic's spelling: the non-zero parts in y, m, d, h order (`"1y2m"`; zero is `""`).
    public var description: String {
        var s = ""
        if years != 0 { s += "\(years)y" }
        if months != 0 { s += "\(months)m" }
        if days != 0 { s += "\(days)d" }
        if hours != 0 { s += "\(hours)h" }
        return s
    }

    /// The instant this duration before `instant`, on the wall clock of `timeZone`.
    func subtracted(from instant: Date, timeZone: TimeZone) -> Date {
        let local = LocalDateTime(instant, in: timeZone)
        let date = local.date.addingNormalized(years: -years, months: -months, days: -days)
        let fraction = instant.timeIntervalSince1970 - instant.timeIntervalSince1970.rounded(.down)
        return LocalDateTime(date: date, secondOfDay: local.secondOfDay).instant(in: timeZone)
            .addingTimeInterval(fraction - Double(hours) * 3600)
    }

    /// Decodes restic's spelling.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do { try self.init(text) } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.message)
        }
    }

    /// Encodes restic's spelling.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
