import Foundation
import Testing

@testable import Policy

@Suite struct TieredBoundaryTests {
    /// Dec 31 / Jan 1: 00:30 on Jan 1 2025 in Berlin is 23:30Z on Dec 31 2024. With a yearly tier
    /// on January 1st, the point is yearly when evaluated in Berlin and not in UTC (where it is
    /// Dec 31, the *last* day: monthly).
    @Test func newYearDependsOnTheZone() throws {
        let t = TieredRetention(
            daily: .init(days: 7), monthly: .init(months: 2, days: [.last]),
            yearly: .init(years: 2, months: [.january], days: [.day(1)]))
        let points = [point("ny", at(2024, 12, 31, 23, 30)), point("later", at(2025, 1, 5))]
        let policy = RetentionPolicy(.tiered(t))
        let inBerlin = try policy.evaluate(
            points: points, now: at(2025, 1, 6), timeZone: berlin)
        #expect(decision(inBerlin, "ny").tiers == [.daily, .yearly])
        #expect(decision(inBerlin, "ny").expiry == at(2026, 12, 31, 23, 30))
        let inUTC = try policy.evaluate(
            points: points, now: at(2025, 1, 6), timeZone: utc)
        #expect(decision(inUTC, "ny").tiers == [.daily, .monthly])
        #expect(decision(inUTC, "ny").expiry == at(2025, 2, 28, 23, 30))
    }

    /// A weekly schedule on Sunday 01:30 in New York across the fall-back Sunday (2024-11-03,
    /// 01:30 happens twice): one run, the first (EDT, 05:30Z); weekly points expire on the wall
    /// clock: 4 weeks later at 01:30 EST (06:30Z).
    @Test func weeklyScheduleAcrossFallBack() throws {
        let schedule = try BackupSchedule(
            .weekly(weekdays: [.sunday], times: [try TimeOfDay("01:30")]))
        let runs = schedule.runs(from: at(2024, 10, 20), to: at(2024, 11, 18), timeZone: newYork)
        #expect(
            runs == [
                at(2024, 10, 20, 5, 30), at(2024, 10, 27, 5, 30), at(2024, 11, 3, 5, 30),
                at(2024, 11, 10, 6, 30), at(2024, 11, 17, 6, 30),
            ])
        let t = TieredRetention(weekly: .init(weeks: 4, weekdays: [.sunday]))
        try t.validate(schedule: schedule)
        #expect(
            t.expiry(of: .weekly, forPointAt: at(2024, 10, 13, 5, 30), timeZone: newYork)
                == at(2024, 11, 10, 6, 30))
    }
}
