import Foundation

/// Retention by tier, as Azure Backup does it: daily points kept N days, weekly points (chosen
/// weekdays) N weeks, monthly points (chosen days of the month) N months, yearly points (chosen
/// months and days) N years. A point that is the weekly, monthly or yearly point of its period
/// carries each of those tiers and is kept for the longest of them.
///
/// Which point is the weekly/monthly/yearly point: the *first* scheduled point (earliest time)
/// of a civil day the tier picks, in the evaluation's time zone. On-demand points never carry
/// tiers. Expiry adds the tier's length on the wall clock: days and weeks as calendar days
/// (the time of day stays the same across DST), months and years as calendar months, clamping
/// to the month's end (Jan 31 + 1 month = Feb 28 or 29; Feb 29 + 1 year = Feb 28).
///
/// Limits (Azure's): daily 7...9999 days, weekly 1...5163 weeks, monthly 1...1188 months,
/// yearly 1...99 years.
///
/// JSON (every tier optional, at least one present):
/// ```json
/// {"daily":   {"days": 30},
///  "weekly":  {"weeks": 12, "weekdays": ["sunday"]},
///  "monthly": {"months": 60, "days": ["1", "last", "first sunday"]},
///  "yearly":  {"years": 10, "months": ["january"], "days": ["last"]}}
/// ```
public struct TieredRetention: Hashable, Sendable, Codable {
    /// The daily tier: every scheduled point.
    public struct Daily: Hashable, Sendable, Codable {
        /// How many days a daily point is kept (7...9999).
        public var days: Int
        /// Creates the tier.
        public init(days: Int) { self.days = days }
        /// Decodes `{"days": N}`; a number that is not a whole `Int` names `days`' path.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            self.init(days: try c.decodeWholeNumber(forKey: .days))
        }
    }

    /// The weekly tier: the first scheduled point of each chosen weekday.
    public struct Weekly: Hashable, Sendable, Codable {
        /// How many weeks a weekly point is kept (1...5163).
        public var weeks: Int
        /// The weekdays whose first point is a weekly point (non-empty, no repeats).
        public var weekdays: [Weekday]
        /// Creates the tier.
        public init(weeks: Int, weekdays: [Weekday]) {
            self.weeks = weeks
            self.weekdays = weekdays
        }
        /// Decodes `{"weeks": N, "weekdays": […]}`; a number that is not a whole `Int` names
        /// `weeks`' path.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            self.init(
                weeks: try c.decodeWholeNumber(forKey: .weeks),
                weekdays: try c.decode([Weekday].self, forKey: .weekdays))
        }
    }

    /// The monthly tier: the first scheduled point of each chosen day of the month.
    public struct Monthly: Hashable, Sendable, Codable {
        /// How many months a monthly point is kept (1...1188).
        public var months: Int
        /// The days of the month whose first point is a monthly point (non-empty, no repeats).
        public var days: [DayRule]
        /// Creates the tier.
        public init(months: Int, days: [DayRule]) {
            self.months = months
            self.days = days
        }
        /// Decodes `{"months": N, "days": […]}`; a number that is not a whole `Int` names
        /// `months`' path.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            self.init(
                months: try c.decodeWholeNumber(forKey: .months), days: try c.decode([DayRule].self, forKey: .days))
        }
    }

    /// The yearly tier: the first scheduled point of each chosen day in the chosen months.
    public struct Yearly: Hashable, Sendable, Codable {
        /// How many years a yearly point is kept (1...99).
        public var years: Int
        /// The months in which the days are picked (non-empty, no repeats).
        public var months: [Month]
        /// The days of those months whose first point is a yearly point (non-empty, no repeats).
        public var days: [DayRule]
        /// Creates the tier.
        public init(years: Int, months: [Month], days: [DayRule]) {
            self.years = years
            self.months = months
            self.days = days
        }
        /// Decodes `{"years": N, "months": […], "days": […]}`; a number that is not a whole
        /// `Int` names `years`' path.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            self.init(
                years: try c.decodeWholeNumber(forKey: .years), months: try c.decode([Month].self, forKey: .months),
                days: try c.decode([DayRule].self, forKey: .days))
        }
    }

    /// Allowed daily retention, in days.
    public static let dailyDaysRange = 7...9999
    /// Allowed weekly retention, in weeks.
    public static let weeklyWeeksRange = 1...5163
    /// Allowed monthly retention, in months.
    public static let monthlyMonthsRange = 1...1188
    /// Allowed yearly retention, in years.
    public static let yearlyYearsRange = 1...99

    /// The daily tier, if any.
    public var daily: Daily?
    /// The weekly tier, if any.
    public var weekly: Weekly?
    /// The monthly tier, if any.
    public var monthly: Monthly?
    /// The yearly tier, if any.
    public var yearly: Yearly?

    /// Creates a tiered policy; call ``validate(schedule:)`` (or let the evaluation do it).
    public init(
        daily: Daily? = nil, weekly: Weekly? = nil, monthly: Monthly? = nil, yearly: Yearly? = nil
    ) {
        self.daily = daily
        self.weekly = weekly
        self.monthly = monthly
        self.yearly = yearly
    }

    /// Checks the limits and that the tiers agree with each other and with the schedule.
    ///
    /// Contradictions rejected: no tier at all; an empty or repeated weekday/month/day list;
    /// a daily schedule (or enhanced) without a daily tier; a weekly schedule with a daily tier;
    /// under a weekly schedule, a weekly tier on a weekday the schedule skips, or a monthly or
    /// yearly day that is not "<ordinal> <weekday>" of a scheduled weekday.
    /// - Parameter schedule: The schedule that makes the points, if known.
    /// - Throws: ``PolicyError`` naming the field and its allowed range.
    public func validate(schedule: BackupSchedule? = nil) throws(PolicyError) {
        if daily == nil && weekly == nil && monthly == nil && yearly == nil {
            throw PolicyError(
                .missingValue,
                "a tiered policy needs at least one of daily, weekly, monthly, yearly")
        }
        if let daily {
            try PolicyError.check("daily.days", daily.days, Self.dailyDaysRange, "days")
        }
        if let weekly {
            try PolicyError.check("weekly.weeks", weekly.weeks, Self.weeklyWeeksRange, "weeks")
            try Self.checkList("weekly.weekdays", weekly.weekdays)
        }
        if let monthly {
            try PolicyError.check(
                "monthly.months", monthly.months, Self.monthlyMonthsRange, "months")
            try Self.checkDays("monthly.days", monthly.days)
        }
        if let yearly {
            try PolicyError.check("yearly.years", yearly.years, Self.yearlyYearsRange, "years")
            try Self.checkList("yearly.months", yearly.months)
            try Self.checkDays("yearly.days", yearly.days)
        }
        guard let schedule else { return }
        let scheduled = schedule.weekdays
        switch schedule.frequency {
        case .daily, .enhanced:
            if daily == nil {
                throw PolicyError(
                    .missingValue, "a daily or enhanced schedule needs a daily tier (daily.days)",
                    field: "daily.days")
            }
        case .weekly:
            if daily != nil {
                throw PolicyError(
                    .contradictory,
                    "a weekly schedule cannot have a daily tier; remove daily or schedule daily",
                    field: "daily")
            }
            if let weekly, !Set(weekly.weekdays).isSubset(of: scheduled) {
                throw PolicyError(
                    .contradictory,
                    "weekly.weekdays must be days the weekly schedule runs on "
                        + "(\(scheduled.sorted().map(\.rawValue).joined(separator: ", ")))",
                    field: "weekly.weekdays")
            }
            for (field, days) in [("monthly.days", monthly?.days), ("yearly.days", yearly?.days)] {
                for day in days ?? [] {
                    guard case .weekday(_, let weekday) = day, scheduled.contains(weekday) else {
                        throw PolicyError(
                            .contradictory,
                            "\(field) \"\(day)\" is not a scheduled weekday; under a weekly "
                                + "schedule use forms like \"first sunday\"",
                            field: field)
                    }
                }
            }
        }
    }

    private static func checkList<T: Hashable>(_ field: String, _ list: [T]) throws(PolicyError) {
        if list.isEmpty {
            throw PolicyError(.missingValue, "\(field) must not be empty", field: field)
        }
        if Set(list).count != list.count {
            throw PolicyError(.contradictory, "\(field) names an entry twice", field: field)
        }
    }

    private static func checkDays(_ field: String, _ days: [DayRule]) throws(PolicyError) {
        try checkList(field, days)
        for case .day(let n) in days {
            try PolicyError.check(field, n, 1...28, "(day of month; use \"last\" for month ends)")
        }
    }

    /// The tiers a civil day can give its first scheduled point.
    func tiers(forFirstPointOn date: CivilDate) -> Set<RetentionTier> {
        var result: Set<RetentionTier> = []
        if let weekly, weekly.weekdays.contains(where: { $0.isoNumber == date.isoWeekday }) {
            result.insert(.weekly)
        }
        if let monthly, monthly.days.contains(where: { $0.matches(date) }) {
            result.insert(.monthly)
        }
        if let yearly, yearly.months.contains(where: { $0.number == date.month }),
            yearly.days.contains(where: { $0.matches(date) })
        {
            result.insert(.yearly)
        }
        return result
    }

    /// Whether the policy has the tier.
    func has(_ tier: RetentionTier) -> Bool {
        switch tier {
        case .daily: daily != nil
        case .weekly: weekly != nil
        case .monthly: monthly != nil
        case .yearly: yearly != nil
        }
    }

    /// When a point taken at `time` and carrying `tier` expires.
    /// - Parameters:
    ///   - tier: The tier.
    ///   - time: When the point was taken.
    ///   - timeZone: The zone whose wall clock and calendar are used.
    /// - Returns: The expiry, or `nil` if the policy lacks the tier, the tier's length lies
    ///   outside its allowed range (``validate(schedule:)`` reports that), or `time` lies outside
    ///   ``RetentionPoint/timeRange``.
    public func expiry(of tier: RetentionTier, forPointAt time: Date, timeZone: TimeZone) -> Date? {
        guard RetentionPoint.isInTimeRange(time) else { return nil }
        let local = LocalDateTime(time, in: timeZone)
        let date: CivilDate
        // Lengths are checked against their ranges first, so no product below can overflow.
        switch tier {
        case .daily:
            guard let daily, Self.dailyDaysRange.contains(daily.days) else { return nil }
            date = CivilDate(dayNumber: local.date.dayNumber + daily.days)
        case .weekly:
            guard let weekly, Self.weeklyWeeksRange.contains(weekly.weeks) else { return nil }
            date = CivilDate(dayNumber: local.date.dayNumber + 7 * weekly.weeks)
        case .monthly:
            guard let monthly, Self.monthlyMonthsRange.contains(monthly.months) else { return nil }
            date = local.date.addingMonthsClamped(monthly.months)
        case .yearly:
            guard let yearly, Self.yearlyYearsRange.contains(yearly.years) else { return nil }
            date = local.date.addingMonthsClamped(12 * yearly.years)
        }
        let fraction = time.timeIntervalSince1970 - time.timeIntervalSince1970.rounded(.down)
        return LocalDateTime(date: date, secondOfDay: local.secondOfDay).instant(in: timeZone)
            .addingTimeInterval(fraction)
    }

    private enum Key: String, CodingKey, CaseIterable { case daily, weekly, monthly, yearly }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Decodes the JSON form shown in the type's documentation; unknown keys are an error, so a
    /// misspelt tier cannot silently keep less.
    public init(from decoder: any Decoder) throws {
        let names = try decoder.container(keyedBy: AnyKey.self)
        for key in names.allKeys where Key(rawValue: key.stringValue) == nil {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: names,
                debugDescription:
                    "unknown tier \"\(key.stringValue)\"; expected daily, weekly, monthly, yearly")
        }
        let c = try decoder.container(keyedBy: Key.self)
        self.init(
            daily: try c.decodeIfPresent(Daily.self, forKey: .daily),
            weekly: try c.decodeIfPresent(Weekly.self, forKey: .weekly),
            monthly: try c.decodeIfPresent(Monthly.self, forKey: .monthly),
            yearly: try c.decodeIfPresent(Yearly.self, forKey: .yearly))
    }

    /// Encodes the JSON form shown in the type's documentation.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encodeIfPresent(daily, forKey: .daily)
        try c.encodeIfPresent(weekly, forKey: .weekly)
        try c.encodeIfPresent(monthly, forKey: .monthly)
        try c.encodeIfPresent(yearly, forKey: .yearly)
    }

    /// A short description of a tier's rule for reasons, e.g. `"weekly: 12 weeks"`.
    func describe(_ tier: RetentionTier) -> String {
        switch tier {
        case .daily: "daily: \(daily?.days ?? 0) days"
        case .weekly: "weekly: \(weekly?.weeks ?? 0) weeks"
        case .monthly: "monthly: \(monthly?.months ?? 0) months"
        case .yearly: "yearly: \(yearly?.years ?? 0) years"
        }
    }
}
