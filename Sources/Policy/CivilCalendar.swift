import Foundation

/// A date on the proleptic Gregorian calendar, with no time zone (internal calendar arithmetic).
///
/// All calendar work of the module goes through these few functions so that it is the same in
/// every mode and does not depend on `Calendar`'s clamping rules.
struct CivilDate: Hashable, Sendable, Comparable {
    var year: Int
    var month: Int  // 1...12
    var day: Int  // 1...31

    /// Days since 1970-01-01 (negative before).
    var dayNumber: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// The date `dayNumber` days after 1970-01-01.
    init(dayNumber: Int) {
        let z = dayNumber + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        day = doy - (153 * mp + 2) / 5 + 1
        month = mp < 10 ? mp + 3 : mp - 9
        year = yoe + era * 400 + (month <= 2 ? 1 : 0)
    }

    static func < (a: CivilDate, b: CivilDate) -> Bool { a.dayNumber < b.dayNumber }

    /// ISO weekday: 1 = Monday … 7 = Sunday.
    var isoWeekday: Int { Self.isoWeekday(dayNumber: dayNumber) }

    static func isoWeekday(dayNumber: Int) -> Int {
        ((dayNumber + 3) % 7 + 7) % 7 + 1  // 1970-01-01 was a Thursday (4)
    }

    /// The ISO 8601 week-numbering year and week (1...53).
    var isoWeek: (year: Int, week: Int) {
        let n = dayNumber
        let thursday = n - (isoWeekday - 1) + 3
        let isoYear = CivilDate(dayNumber: thursday).year
        let week = (thursday - CivilDate(year: isoYear, month: 1, day: 1).dayNumber) / 7 + 1
        return (isoYear, week)
    }

    static func isLeap(_ year: Int) -> Bool {
        (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
    }

    static func daysIn(year: Int, month: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Adds months, clamping the day to the length of the target month (Jan 31 + 1 month = Feb 28/29).
    func addingMonthsClamped(_ months: Int) -> CivilDate {
        let m0 = year * 12 + (month - 1) + months
        let y = Int((Double(m0) / 12).rounded(.down))
        let m = m0 - y * 12 + 1
        return CivilDate(year: y, month: m, day: Swift.min(day, Self.daysIn(year: y, month: m)))
    }

    /// Adds years, months and days the way Go's `time.AddDate` does: out-of-range days roll over
    /// into the next month (Mar 31 − 1 month = "Feb 31" = Mar 3 or Mar 2).
    func addingNormalized(years: Int, months: Int, days: Int) -> CivilDate {
        let m0 = (year + years) * 12 + (month - 1) + months
        let y = Int((Double(m0) / 12).rounded(.down))
        let m = m0 - y * 12 + 1
        return CivilDate(dayNumber: CivilDate(year: y, month: m, day: 1).dayNumber + day - 1 + days)
    }
}

/// A wall-clock moment in some time zone: a civil day and the seconds since its midnight.
struct LocalDateTime: Hashable, Sendable {
    var date: CivilDate
    var secondOfDay: Int

    var hour: Int { secondOfDay / 3600 }

    /// The wall clock showing `instant` in `timeZone`.
    init(_ instant: Date, in timeZone: TimeZone) {
        let offset = timeZone.secondsFromGMT(for: instant)
        let local = Int((instant.timeIntervalSince1970).rounded(.down)) + offset
        let dayNumber = Int((Double(local) / 86_400).rounded(.down))
        date = CivilDate(dayNumber: dayNumber)
        secondOfDay = local - dayNumber * 86_400
    }

    init(date: CivilDate, secondOfDay: Int) {
        self.date = date
        self.secondOfDay = secondOfDay
    }

    /// The instant at which the wall clock of `timeZone` shows this moment.
    ///
    /// In a gap (spring forward) the wall time does not exist; the result is shifted forward by
    /// the gap (02:30 in a 02:00→03:00 gap becomes 03:30). In an overlap (fall back) the wall time
    /// exists twice; the result is the first (earlier) occurrence.
    func instant(in timeZone: TimeZone) -> Date {
        let local = Double(date.dayNumber * 86_400 + secondOfDay)
        let before = timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: local - 86_400))
        let after = timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: local + 86_400))
        let first = Date(timeIntervalSince1970: local - Double(Swift.max(before, after)))
        let second = Date(timeIntervalSince1970: local - Double(Swift.min(before, after)))
        for candidate in [first, second] {
            let offset = Double(timeZone.secondsFromGMT(for: candidate))
            if candidate.timeIntervalSince1970 + offset == local { return candidate }
        }
        // A gap: read the clock with the offset in force before it.
        return Date(timeIntervalSince1970: local - Double(before))
    }
}
