import Foundation

/// When scheduled backups run: daily at one or more times, "enhanced" every 4, 6, 8 or 12 hours,
/// or weekly on chosen weekdays; and how late a job may start (the start window).
///
/// Times are wall-clock times in the time zone passed to ``nextRun(after:timeZone:)``. Across a
/// DST gap a time that does not exist runs shifted forward by the gap (02:30 → 03:30 on the spring
/// change in Europe/Berlin); across an overlap a time that exists twice runs once, at its first
/// occurrence. Two slots that land on the same instant run once.
///
/// JSON:
/// ```json
/// {"frequency": "daily", "times": ["02:00", "14:00"], "startWindowMinutes": 120}
/// {"frequency": "enhanced", "everyHours": 4, "start": "08:00"}
/// {"frequency": "weekly", "weekdays": ["saturday", "sunday"], "times": ["23:30"]}
/// ```
///
/// ```swift
/// let schedule = try BackupSchedule(.daily(times: [try TimeOfDay("02:00")]))
/// let next = schedule.nextRun(after: now, timeZone: TimeZone(identifier: "Europe/Berlin")!)
/// ```
public struct BackupSchedule: Hashable, Sendable, Codable {
    /// How often the schedule fires.
    public enum Frequency: Hashable, Sendable {
        /// Every day at each of the given times.
        case daily(times: [TimeOfDay])
        /// Several times a day: at `start` and every `everyHours` hours (4, 6, 8 or 12) after it,
        /// wrapping past midnight, so every day has `24 / everyHours` slots.
        case enhanced(everyHours: Int, start: TimeOfDay)
        /// On each given weekday at each of the given times.
        case weekly(weekdays: [Weekday], times: [TimeOfDay])
    }

    /// How often the schedule fires.
    public var frequency: Frequency
    /// How long after its scheduled time a job may still start, in minutes (default 120).
    public var startWindowMinutes: Int

    /// The default of ``startWindowMinutes``: two hours.
    public static let defaultStartWindowMinutes = 120
    /// The allowed range of ``startWindowMinutes``: a job may start up to a day late.
    public static let startWindowMinutesRange = 1...1440
    /// The allowed intervals of an enhanced schedule, in hours.
    public static let enhancedIntervals: Set<Int> = [4, 6, 8, 12]

    /// Creates a validated schedule.
    /// - Parameters:
    ///   - frequency: When it fires.
    ///   - startWindowMinutes: How late a job may start (default 120, allowed 1...1440).
    /// - Throws: ``PolicyError`` naming the field and its allowed values.
    public init(
        _ frequency: Frequency, startWindowMinutes: Int = BackupSchedule.defaultStartWindowMinutes
    ) throws(PolicyError) {
        self.frequency = frequency
        self.startWindowMinutes = startWindowMinutes
        try validate()
    }

    /// Checks every field; the initializer and ``RetentionPolicy/validate()`` call it.
    /// - Throws: ``PolicyError`` naming the field and its allowed values.
    public func validate() throws(PolicyError) {
        try PolicyError.check(
            "schedule.startWindowMinutes", startWindowMinutes, Self.startWindowMinutesRange,
            "minutes")
        switch frequency {
        case .daily(let times):
            try Self.checkTimes(times)
        case .enhanced(let hours, _):
            if !Self.enhancedIntervals.contains(hours) {
                throw PolicyError(
                    .outOfRange, "schedule.everyHours is \(hours) but must be one of 4, 6, 8, 12",
                    field: "schedule.everyHours")
            }
        case .weekly(let weekdays, let times):
            if weekdays.isEmpty {
                throw PolicyError(
                    .missingValue, "schedule.weekdays must name at least one weekday",
                    field: "schedule.weekdays")
            }
            if Set(weekdays).count != weekdays.count {
                throw PolicyError(
                    .contradictory, "schedule.weekdays names a weekday twice",
                    field: "schedule.weekdays")
            }
            try Self.checkTimes(times)
        }
    }

    private static func checkTimes(_ times: [TimeOfDay]) throws(PolicyError) {
        try PolicyError.check("schedule.times (count)", times.count, 1...24, "times")
        if Set(times).count != times.count {
            throw PolicyError(
                .contradictory, "schedule.times names a time twice", field: "schedule.times")
        }
    }

    /// The weekdays on which the schedule fires (all seven unless weekly).
    public var weekdays: Set<Weekday> {
        if case .weekly(let days, _) = frequency { return Set(days) }
        return Set(Weekday.allCases)
    }

    /// The wall-clock times of the slots of any day it fires on, earliest first.
    public var timesOfDay: [TimeOfDay] {
        switch frequency {
        case .daily(let times), .weekly(_, let times):
            return times.sorted()
        case .enhanced(let hours, let start):
            // Clamped so that a frequency mutated past validation cannot overflow or go negative.
            let step = Swift.min(Swift.max(hours, 1), 24)
            return (0..<(24 / step)).map { k in
                let minutes = (start.hour * 60 + start.minute + k * step * 60) % 1440
                return try! TimeOfDay(hour: minutes / 60, minute: minutes % 60)
            }.sorted()
        }
    }

    /// The scheduled instants of one civil day, earliest first, without duplicates.
    func runs(on date: CivilDate, timeZone: TimeZone) -> [Date] {
        guard let weekday = Weekday(isoNumber: date.isoWeekday), weekdays.contains(weekday) else {
            return []
        }
        let instants = timesOfDay.map {
            LocalDateTime(date: date, secondOfDay: $0.secondOfDay).instant(in: timeZone)
        }
        return Array(Set(instants)).sorted()
    }

    /// The first scheduled time strictly after `instant`.
    /// - Parameters:
    ///   - instant: The moment to search from (usually "now" or the last run).
    ///   - timeZone: The zone whose wall clock the schedule's times are read on.
    /// - Returns: The next scheduled instant.
    /// - Complexity: O(1): at most nine days of slots are examined.
    public func nextRun(after instant: Date, timeZone: TimeZone) -> Date {
        let today = LocalDateTime(instant, in: timeZone).date.dayNumber
        for dayNumber in (today - 1)...(today + 8) {
            if let run = runs(on: CivilDate(dayNumber: dayNumber), timeZone: timeZone)
                .first(where: { $0 > instant })
            {
                return run
            }
        }
        preconditionFailure("a validated schedule fires at least once a week")
    }

    /// Every scheduled instant in `start ..< end`, earliest first.
    /// - Complexity: O(days in the interval × slots per day).
    public func runs(from start: Date, to end: Date, timeZone: TimeZone) -> [Date] {
        guard start < end else { return [] }
        let first = LocalDateTime(start, in: timeZone).date.dayNumber - 1
        let last = LocalDateTime(end, in: timeZone).date.dayNumber + 1
        return (first...last).flatMap { runs(on: CivilDate(dayNumber: $0), timeZone: timeZone) }
            .filter { $0 >= start && $0 < end }
    }

    /// The interval in which a job scheduled at `run` may start: `run ... run + startWindow`.
    public func startWindow(forRunAt run: Date) -> DateInterval {
        DateInterval(start: run, duration: TimeInterval(Swift.max(startWindowMinutes, 0)) * 60)
    }

    /// The scheduled run whose start window contains `now`, if any (the latest such run).
    /// - Parameters:
    ///   - now: The current time, supplied by the caller.
    ///   - timeZone: The zone of the schedule's wall clock.
    public func dueRun(at now: Date, timeZone: TimeZone) -> Date? {
        let window = TimeInterval(startWindowMinutes) * 60
        return runs(
            from: now.addingTimeInterval(-window), to: now.addingTimeInterval(1), timeZone: timeZone
        )
        .last(where: { $0 <= now })
    }

    private enum Key: String, CodingKey {
        case frequency, times, everyHours, start, weekdays, startWindowMinutes
    }

    /// Decodes the JSON form shown in the type's documentation, then validates it.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        let window =
            try c.decodeWholeNumberIfPresent(forKey: .startWindowMinutes)
            ?? Self.defaultStartWindowMinutes
        let kind = try c.decode(String.self, forKey: .frequency)
        let frequency: Frequency
        switch kind {
        case "daily":
            frequency = .daily(times: try c.decode([TimeOfDay].self, forKey: .times))
        case "enhanced":
            frequency = .enhanced(
                everyHours: try c.decodeWholeNumber(forKey: .everyHours),
                start: try c.decode(TimeOfDay.self, forKey: .start))
        case "weekly":
            frequency = .weekly(
                weekdays: try c.decode([Weekday].self, forKey: .weekdays),
                times: try c.decode([TimeOfDay].self, forKey: .times))
        default:
            throw DecodingError.dataCorruptedError(
                forKey: .frequency, in: c,
                debugDescription: "frequency must be daily, enhanced or weekly")
        }
        try self.init(frequency, startWindowMinutes: window)
    }

    /// Encodes the JSON form shown in the type's documentation.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        switch frequency {
        case .daily(let times):
            try c.encode("daily", forKey: .frequency)
            try c.encode(times, forKey: .times)
        case .enhanced(let hours, let start):
            try c.encode("enhanced", forKey: .frequency)
            try c.encode(hours, forKey: .everyHours)
            try c.encode(start, forKey: .start)
        case .weekly(let weekdays, let times):
            try c.encode("weekly", forKey: .frequency)
            try c.encode(weekdays, forKey: .weekdays)
            try c.encode(times, forKey: .times)
        }
        try c.encode(startWindowMinutes, forKey: .startWindowMinutes)
    }
}
