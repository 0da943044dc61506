import Foundation

/// A calendar duration of years, months, days and hours, written as restic writes it:
/// `"1y2m3d4h"`, `"7d"`, `"2y5m7d3h"` (any subset, in any order; a unit given twice keeps the
/// last value; there is no `w` unit, write `7d`).
///
/// It is subtracted the way restic does: years, months and days on the calendar of the policy's
/// time zone, with day overflow rolled into the next month (Mar 31 − 1m = Mar 3 in a common year,
/// as Go's `AddDate`), then hours as exact hours.
///
/// Each part is at most 10,000 years' worth (``yearsRange``, ``monthsRange``, ``daysRange``,
/// ``hoursRange``): longer windows mean nothing for backups, and the bound keeps every calendar
/// computation far from integer overflow. Parsing and ``validate(field:)`` reject larger or
/// negative parts with ``PolicyError/Code/outOfRange`` naming the field.
public struct KeepWithinDuration: Hashable, Sendable, Codable, CustomStringConvertible {
    /// Whole years.
    public var years: Int
    /// Whole months.
    public var months: Int
    /// Whole days.
    public var days: Int
    /// Whole hours.
    public var hours: Int

    /// Allowed years: 0...10,000.
    public static let yearsRange = 0...10_000
    /// Allowed months: 0...120,000 (10,000 years).
    public static let monthsRange = 0...120_000
    /// Allowed days: 0...3,660,000 (10,000 years of 366 days).
    public static let daysRange = 0...3_660_000
    /// Allowed hours: 0...87,840,000 (10,000 years of 366 days).
    public static let hoursRange = 0...87_840_000

    /// Creates a duration from its parts (checked by ``validate(field:)``, which a policy's
    /// validation and evaluation call).
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
    ///   other than `y`, `m`, `d`, `h`; ``PolicyError/Code/outOfRange`` for a negative part or one
    ///   beyond its range (``yearsRange`` and its siblings), naming `field`.
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
            guard !digits.isEmpty else {
                throw PolicyError(
                    .invalidValue, "\(field) \"\(text)\": no number found", field: field)
            }
            rest = rest.dropFirst(digits.count)
            guard let unit = rest.first else {
                throw PolicyError(
                    .invalidValue, "\(field) \"\(text)\": no unit found after number \(digits)",
                    field: field)
            }
            guard let (name, range) = Self.unitRanges[unit] else {
                throw PolicyError(
                    .invalidValue,
                    "\(field) \"\(text)\": invalid unit \"\(unit)\" after number \(digits) (use y, m, d, h)",
                    field: field)
            }
            // More digits than Int holds is out of range too, never a trap.
            guard !negative, let number = Int(digits), range.contains(number) else {
                throw PolicyError(
                    .outOfRange,
                    "\(field) \"\(text)\": \(negative ? "-" : "")\(digits) \(name) is outside "
                        + "\(range.lowerBound)...\(range.upperBound) \(name)",
                    field: field)
            }
            switch unit {
            case "y": years = number
            case "m": months = number
            case "d": days = number
            default: hours = number
            }
            rest = rest.dropFirst()
        }
    }

    /// Each unit letter with its name and allowed range.
    private static let unitRanges: [Character: (String, ClosedRange<Int>)] = [
        "y": ("years", yearsRange), "m": ("months", monthsRange), "d": ("days", daysRange),
        "h": ("hours", hoursRange),
    ]

    /// Checks that no part is negative or beyond its range.
    /// - Parameter field: The policy field, for the error (e.g. `"keepWithinDaily"`).
    /// - Throws: ``PolicyError/Code/outOfRange`` naming `field`, the part and its range.
    public func validate(field: String = "keepWithin") throws(PolicyError) {
        let parts = [
            ("years", years, Self.yearsRange), ("months", months, Self.monthsRange),
            ("days", days, Self.daysRange), ("hours", hours, Self.hoursRange),
        ]
        for (name, value, range) in parts where !range.contains(value) {
            throw PolicyError(
                .outOfRange,
                "\(field) has \(value) \(name), outside \(range.lowerBound)...\(range.upperBound) \(name)",
                field: field)
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
    ///
    /// Only for a validated duration and an instant within ``RetentionPoint/timeRange``: then
    /// every intermediate value stays far inside `Int`.
    func subtracted(from instant: Date, timeZone: TimeZone) -> Date {
        let local = LocalDateTime(instant, in: timeZone)
        let date = local.date.addingNormalized(years: -years, months: -months, days: -days)
        let fraction = instant.timeIntervalSince1970 - instant.timeIntervalSince1970.rounded(.down)
        return LocalDateTime(date: date, secondOfDay: local.secondOfDay).instant(in: timeZone)
            .addingTimeInterval(fraction - Double(hours) * 3600)
    }

    /// Decodes restic's spelling.
    ///
    /// - Throws: `DecodingError.dataCorrupted` whose `underlyingError` is the ``PolicyError``
    ///   (``PolicyError/init(_:)`` recovers it).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        let field = decoder.codingPath.last?.stringValue ?? "keepWithin"
        do { try self.init(text, field: field) } catch {
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: decoder.codingPath, debugDescription: error.message,
                    underlyingError: error))
        }
    }

    /// Encodes restic's spelling.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
