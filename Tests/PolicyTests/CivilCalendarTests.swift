import BlockStoreTesting
import Foundation
import Testing

@testable import Policy

@Suite struct CivilCalendarTests {
    @Test func civilDatesAndISOWeeksAgreeWithFoundation() {
        var calendar = Calendar(identifier: .iso8601)
        calendar.timeZone = utc
        var rng = SplitMix64(seed: 7)
        for _ in 0..<3000 {
            let n = Int.random(in: -50_000...50_000, using: &rng)
            let date = Date(timeIntervalSince1970: TimeInterval(n) * 86_400)
            let c = calendar.dateComponents(
                [.year, .month, .day, .yearForWeekOfYear, .weekOfYear, .weekday], from: date)
            let civil = CivilDate(dayNumber: n)
            #expect(
                civil.year == c.year && civil.month == c.month && civil.day == c.day,
                "seed 7, day \(n)")
            #expect(civil.dayNumber == n)
            #expect(
                civil.isoWeek.year == c.yearForWeekOfYear && civil.isoWeek.week == c.weekOfYear,
                "day \(n)")
            #expect((civil.isoWeekday % 7) + 1 == c.weekday, "day \(n)")
        }
    }

    /// Hand-worked: 2020 has an ISO week 53 (Mon Dec 28 2020 … Sun Jan 3 2021);
    /// Mon Dec 30 2019 already belongs to 2020-W01; Jan 1 2021 to 2020-W53.
    @Test(arguments: [
        (2020, 12, 28, 2020, 53), (2021, 1, 3, 2020, 53), (2021, 1, 4, 2021, 1),
        (2019, 12, 30, 2020, 1), (2019, 12, 29, 2019, 52), (2021, 1, 1, 2020, 53),
        (2015, 12, 31, 2015, 53), (2016, 1, 3, 2015, 53),
    ])
    func isoWeekBoundaries(y: Int, m: Int, d: Int, isoYear: Int, week: Int) {
        let w = CivilDate(year: y, month: m, day: d).isoWeek
        #expect(w.year == isoYear && w.week == week)
    }

    /// Go's AddDate rolls overflowing days forward; month clamping does not.
    @Test func normalizedAndClampedMonthArithmetic() {
        let mar31 = CivilDate(year: 2023, month: 3, day: 31)
        #expect(
            mar31.addingNormalized(years: 0, months: -1, days: 0)
                == CivilDate(year: 2023, month: 3, day: 3))
        #expect(mar31.addingMonthsClamped(-1) == CivilDate(year: 2023, month: 2, day: 28))
        let feb29 = CivilDate(year: 2024, month: 2, day: 29)
        #expect(feb29.addingMonthsClamped(12) == CivilDate(year: 2025, month: 2, day: 28))
        #expect(
            feb29.addingNormalized(years: 1, months: 0, days: 0)
                == CivilDate(year: 2025, month: 3, day: 1))
        #expect(CivilDate(year: 2024, month: 1, day: 31).addingMonthsClamped(1) == feb29)
        #expect(
            CivilDate(year: 2023, month: 12, day: 31).addingMonthsClamped(-12 * 3)
                == CivilDate(year: 2020, month: 12, day: 31))
    }

    /// Gap: 02:30 on 2024-03-31 does not exist in Berlin → 03:30 CEST (01:30Z).
    /// Overlap: 02:30 on 2024-10-27 exists twice → the first (CEST, 00:30Z).
    @Test func wallClockToInstantAcrossDST() {
        let gap = LocalDateTime(date: CivilDate(year: 2024, month: 3, day: 31), secondOfDay: 9000)
        #expect(gap.instant(in: berlin) == at(2024, 3, 31, 1, 30))
        let overlap = LocalDateTime(
            date: CivilDate(year: 2024, month: 10, day: 27), secondOfDay: 9000)
        #expect(overlap.instant(in: berlin) == at(2024, 10, 27, 0, 30))
        let plain = LocalDateTime(date: CivilDate(year: 2024, month: 7, day: 1), secondOfDay: 9000)
        #expect(plain.instant(in: newYork) == at(2024, 7, 1, 6, 30))
    }
}
