import Foundation
import Testing

@testable import Policy

@Suite struct TieredRetentionTests {
    func tiered(_ t: TieredRetention, schedule: BackupSchedule? = nil) -> RetentionPolicy {
        RetentionPolicy(.tiered(t), schedule: schedule)
    }

    /// Daily 7 days: a point of Jan 1 02:00 expires Jan 8 02:00 (a newer point exists, so the
    /// latest-point rule does not interfere). Expiry is strict: at Jan 8 02:00 it is gone.
    @Test func dailyExpiryIsExact() throws {
        let policy = tiered(TieredRetention(daily: .init(days: 7)))
        let points = [point("old", at(2024, 1, 1, 2)), point("new", at(2024, 1, 20, 2))]
        let before = try policy.evaluate(
            points: points, now: at(2024, 1, 8, 1, 59), timeZone: utc)
        #expect(decision(before, "old").action == .keep)
        #expect(decision(before, "old").expiry == at(2024, 1, 8, 2))
        #expect(decision(before, "old").reasons == ["daily: 7 days until 2024-01-08T02:00:00Z"])
        let after = try policy.evaluate(
            points: points, now: at(2024, 1, 8, 2), timeZone: utc)
        #expect(decision(after, "old").action == .expire)
        #expect(decision(after, "old").reasons == ["retention ended 2024-01-08T02:00:00Z"])
    }

    /// Days are calendar days on the wall clock: 12:00 CET on 2024-03-28 + 7 days is 12:00 CEST
    /// on 2024-04-04, i.e. 167 real hours later.
    @Test func dailyExpiryKeepsWallClockAcrossDST() throws {
        let t = TieredRetention(daily: .init(days: 7))
        let expiry = t.expiry(
            of: .daily, forPointAt: wall(berlin, 2024, 3, 28, 12), timeZone: berlin)
        #expect(expiry == wall(berlin, 2024, 4, 4, 12))
        #expect(expiry!.timeIntervalSince(wall(berlin, 2024, 3, 28, 12)) == 167 * 3600)
    }

    /// Tags: daily schedule at 02:00 and 14:00; weekly on Sunday; monthly on the last day;
    /// yearly on the last day of December. Sun Dec 31 2023 02:00 is the weekly, monthly and
    /// yearly point; 14:00 that day is only daily; Sat Dec 30 only daily.
    /// Expiry = the longest: 2023-12-31 + 2 years = 2025-12-31 02:00.
    @Test func firstPointOfTheDayCarriesTheTiers() throws {
        let t = TieredRetention(
            daily: .init(days: 7), weekly: .init(weeks: 4, weekdays: [.sunday]),
            monthly: .init(months: 6, days: [.last]),
            yearly: .init(years: 2, months: [.december], days: [.last]))
        let points = [
            point("sat", at(2023, 12, 30, 2)), point("sun02", at(2023, 12, 31, 2)),
            point("sun14", at(2023, 12, 31, 14)), point("mon", at(2024, 1, 1, 2)),
        ]
        let d = try tiered(t).evaluate(
            points: points, now: at(2024, 1, 1, 3), timeZone: utc)
        #expect(decision(d, "sat").tiers == [.daily])
        #expect(decision(d, "sun02").tiers == [.daily, .weekly, .monthly, .yearly])
        #expect(decision(d, "sun14").tiers == [.daily])
        #expect(decision(d, "sun02").expiry == at(2025, 12, 31, 2))
        #expect(decision(d, "sun02").reasons.count == 4)
        // 60 days on: daily and weekly ended, monthly and yearly remain.
        let later = try tiered(t).evaluate(
            points: points, now: at(2024, 3, 1), timeZone: utc)
        #expect(keptIDs(later) == ["sun02", "mon"])
        #expect(
            decision(later, "sun02").reasons == [
                "monthly: 6 months until 2024-06-30T02:00:00Z",
                "yearly: 2 years until 2025-12-31T02:00:00Z",
            ])
    }

    /// Day rules, hand-checked on the 2024 calendar.
    @Test(arguments: [
        ("last", 2024, 2, 29, true), ("last", 2024, 2, 28, false), ("last", 2023, 2, 28, true),
        ("last", 2024, 4, 30, true), ("28", 2024, 2, 28, true), ("1", 2024, 3, 1, true),
        ("last friday", 2024, 5, 31, true), ("fourth friday", 2024, 5, 24, true),
        ("last friday", 2024, 5, 24, false), ("first sunday", 2024, 9, 1, true),
        ("second tuesday", 2024, 10, 8, true), ("third monday", 2024, 1, 15, true),
        ("first monday", 2024, 1, 8, false),
    ])
    func dayRules(rule: String, y: Int, m: Int, d: Int, matches: Bool) throws {
        #expect(try DayRule(rule).matches(CivilDate(year: y, month: m, day: d)) == matches)
    }

    /// Month ends clamp: a monthly point of Jan 31 2024 kept 1 month expires Feb 29 2024;
    /// a yearly point of Feb 29 2024 kept 1 year expires Feb 28 2025; 4 years → Feb 29 2028.
    @Test func monthEndsAndLeapDaysClamp() {
        let t = TieredRetention(
            monthly: .init(months: 1, days: [.last]),
            yearly: .init(years: 1, months: [.february], days: [.last]))
        #expect(
            t.expiry(of: .monthly, forPointAt: at(2024, 1, 31, 2), timeZone: utc)
                == at(2024, 2, 29, 2))
        #expect(
            t.expiry(of: .yearly, forPointAt: at(2024, 2, 29, 2), timeZone: utc)
                == at(2025, 2, 28, 2))
        let four = TieredRetention(yearly: .init(years: 4, months: [.february], days: [.last]))
        #expect(
            four.expiry(of: .yearly, forPointAt: at(2024, 2, 29, 2), timeZone: utc)
                == at(2028, 2, 29, 2))
        #expect(t.expiry(of: .daily, forPointAt: at(2024, 2, 29), timeZone: utc) == nil)
    }

    /// Limits from Azure's FAQ, at and beyond each bound; the error names field and range.
    @Test(arguments: [
        (TieredRetention(daily: .init(days: 6)), "daily.days", "7...9999"),
        (TieredRetention(daily: .init(days: 10_000)), "daily.days", "7...9999"),
        (TieredRetention(weekly: .init(weeks: 0, weekdays: [.sunday])), "weekly.weeks", "1...5163"),
        (
            TieredRetention(weekly: .init(weeks: 5164, weekdays: [.sunday])), "weekly.weeks",
            "1...5163"
        ),
        (TieredRetention(monthly: .init(months: 0, days: [.last])), "monthly.months", "1...1188"),
        (
            TieredRetention(monthly: .init(months: 1189, days: [.last])), "monthly.months",
            "1...1188"
        ),
        (
            TieredRetention(yearly: .init(years: 0, months: [.january], days: [.day(1)])),
            "yearly.years", "1...99"
        ),
        (
            TieredRetention(yearly: .init(years: 100, months: [.january], days: [.day(1)])),
            "yearly.years", "1...99"
        ),
        (TieredRetention(monthly: .init(months: 3, days: [.day(29)])), "monthly.days", "1...28"),
    ])
    func limitsAreEnforced(t: TieredRetention, field: String, range: String) {
        #expect {
            try t.validate()
        } throws: {
            let e = $0 as! PolicyError
            return e.code == .outOfRange && e.field == field && e.message.contains(range)
        }
    }

    @Test func boundsThemselvesAreAccepted() throws {
        try TieredRetention(
            daily: .init(days: 7), weekly: .init(weeks: 5163, weekdays: [.sunday]),
            monthly: .init(months: 1188, days: [.last]),
            yearly: .init(years: 99, months: [.january], days: [.day(1)])
        ).validate()
        try TieredRetention(daily: .init(days: 9999), weekly: .init(weeks: 1, weekdays: [.monday]))
            .validate()
    }

    /// Contradictions are rejected with the field named.
    @Test func contradictionsAreRejected() throws {
        let daily = try BackupSchedule(.daily(times: [try TimeOfDay("02:00")]))
        let weekly = try BackupSchedule(
            .weekly(weekdays: [.sunday], times: [try TimeOfDay("02:00")]))
        let cases: [(TieredRetention, BackupSchedule?, String?)] = [
            (TieredRetention(), nil, nil),
            (TieredRetention(weekly: .init(weeks: 4, weekdays: [])), nil, "weekly.weekdays"),
            (
                TieredRetention(weekly: .init(weeks: 4, weekdays: [.sunday, .sunday])), nil,
                "weekly.weekdays"
            ),
            (
                TieredRetention(yearly: .init(years: 1, months: [], days: [.last])), nil,
                "yearly.months"
            ),
            (TieredRetention(monthly: .init(months: 1, days: [])), nil, "monthly.days"),
            (TieredRetention(weekly: .init(weeks: 4, weekdays: [.sunday])), daily, "daily.days"),
            (TieredRetention(daily: .init(days: 7)), weekly, "daily"),
            (
                TieredRetention(weekly: .init(weeks: 4, weekdays: [.monday])), weekly,
                "weekly.weekdays"
            ),
            (TieredRetention(monthly: .init(months: 4, days: [.day(1)])), weekly, "monthly.days"),
            (
                TieredRetention(
                    yearly: .init(years: 4, months: [.may], days: [.weekday(.first, .monday)])),
                weekly, "yearly.days"
            ),
        ]
        for (t, schedule, field) in cases {
            #expect(throws: PolicyError.self) { try t.validate(schedule: schedule) }
            do { try t.validate(schedule: schedule) } catch { #expect(error.field == field) }
        }
        // Weekday-based monthly rules on a scheduled weekday are fine under a weekly schedule.
        try TieredRetention(
            weekly: .init(weeks: 4, weekdays: [.sunday]),
            monthly: .init(months: 12, days: [.weekday(.last, .sunday)])
        ).validate(schedule: weekly)
    }

    /// Recorded tiers win over derived ones (adding a yearly rule later does not re-tag old
    /// points), but their lengths come from the current policy; a tier the policy no longer has
    /// gives no retention.
    @Test func recordedTiersAreHonoured() throws {
        let t = TieredRetention(
            daily: .init(days: 7), yearly: .init(years: 5, months: [.january], days: [.day(1)]))
        let old = RetentionPoint(id: "jan1", time: at(2023, 1, 1, 2), tiers: [.daily, .monthly])
        let derived = RetentionPoint(id: "jan1-derived", time: at(2024, 1, 1, 3))
        let newest = point("newest", at(2024, 3, 1))
        let d = try tiered(t).evaluate(
            points: [old, derived, newest], now: at(2024, 2, 1), timeZone: utc)
        #expect(decision(d, "jan1").tiers == [.daily])
        #expect(decision(d, "jan1").action == .expire)
        #expect(decision(d, "jan1-derived").tiers == [.daily, .yearly])
        #expect(decision(d, "jan1-derived").action == .keep)
    }

    /// A policy change applies at the next evaluation: daily 7 → 30 extends a 10-day-old point,
    /// 30 → 7 prunes it.
    @Test func policyChangesApplyAtNextEvaluation() throws {
        let points = [point("p", at(2024, 1, 1, 2)), point("q", at(2024, 1, 11, 2))]
        let now = at(2024, 1, 11, 3)
        let short = try tiered(.init(daily: .init(days: 7))).evaluate(
            points: points, now: now, timeZone: utc)
        let long = try tiered(.init(daily: .init(days: 30))).evaluate(
            points: points, now: now, timeZone: utc)
        #expect(decision(short, "p").action == .expire)
        #expect(decision(long, "p").action == .keep)
        #expect(decision(long, "p").expiry == at(2024, 1, 31, 2))
    }

    /// Enhanced schedule: every point is daily; the first of a Sunday is also weekly.
    @Test func enhancedPointsAreAllDaily() throws {
        let schedule = try BackupSchedule(.enhanced(everyHours: 6, start: try TimeOfDay("00:00")))
        let t = TieredRetention(daily: .init(days: 7), weekly: .init(weeks: 2, weekdays: [.sunday]))
        let points = schedule.runs(from: at(2024, 6, 1), to: at(2024, 6, 3), timeZone: utc)
            .enumerated().map { point("r\($0.offset)", $0.element) }
        #expect(points.count == 8)
        let policy = RetentionPolicy(.tiered(t), schedule: schedule)
        let d = try policy.evaluate(
            points: points, now: at(2024, 6, 10), timeZone: utc)
        // Jun 2 2024 is a Sunday: r4 (00:00) is the weekly point, kept 2 weeks; the rest expired
        // except the latest (r7).
        #expect(keptIDs(d) == ["r4", "r7"])
        #expect(decision(d, "r7").reasons == ["latest point"])
    }
}
