import Foundation
import Testing

@testable import Policy

/// restic `forget` semantics, case for case. Times are UTC unless a zone is named.
@Suite struct ResticForgetTests {
    /// restic's documentation example: one backup every Sunday 11:00 for 12 weeks
    /// (2019-09-01 … 2019-11-17); `--keep-daily 4` keeps the last four Sundays, each as
    /// "daily snapshot", and removes the other eight.
    @Test func documentedTwelveSundaysKeepDaily4() throws {
        let points = (0..<12).map { point("s\($0)", at(2019, 9, 1 + 7 * $0, 11)) }
        let d = try forget(points, CountRetention(keepDaily: 4))
        #expect(keptIDs(d) == ["s8", "s9", "s10", "s11"])
        #expect(d.filter(\.isKept).allSatisfy { $0.reasons == ["daily snapshot"] })
        #expect(decision(d, "s11").counters?.daily == 3)
        #expect(decision(d, "s8").counters?.daily == 0)
        #expect(decision(d, "s7").counters == nil)
    }

    /// The same twelve Sundays with `--keep-weekly 20`: each Sunday closes its own ISO week, so
    /// all twelve are kept as "weekly snapshot" — the oldest too, and *not* as "oldest …"
    /// because it opens a new week.
    @Test func twelveSundaysKeepWeekly20KeepsAllWithoutOldestLabel() throws {
        let points = (0..<12).map { point("s\($0)", at(2019, 9, 1 + 7 * $0, 11)) }
        let d = try forget(points, CountRetention(keepWeekly: 20))
        #expect(keptIDs(d).count == 12)
        #expect(decision(d, "s0").reasons == ["weekly snapshot"])
        #expect(decision(d, "s0").counters?.weekly == 8)
    }

    /// restic's documented example scaled down: one backup a day for 3 years (2021-2023),
    /// `--keep-daily 7 --keep-weekly 5 --keep-monthly 12 --keep-yearly 75` keeps the 7 dailies,
    /// 4 more weeklies (the newest week is among the dailies), 12 or 11 monthlies, and yearlies.
    /// Hand count: dailies Dec 25–31 2023 (Dec 31 is a Sunday: week, month and year too);
    /// weeklies Dec 24, 17, 10, 3 (4 more); monthlies Nov 30 … Jan 31 2023 (11 more);
    /// yearlies Dec 31 2022, Dec 31 2021 (2 more), and Jan 1 2021 as the oldest yearly
    /// (count left) = 7 + 4 + 11 + 2 + 1 = 25.
    @Test func documentedDailyForYearsPolicy() throws {
        let start = CivilDate(year: 2021, month: 1, day: 1).dayNumber
        let end = CivilDate(year: 2023, month: 12, day: 31).dayNumber
        let points = (start...end).map {
            point("d\($0)", Date(timeIntervalSince1970: TimeInterval($0 * 86_400 + 3600)))
        }
        let d = try forget(
            points, CountRetention(keepDaily: 7, keepWeekly: 5, keepMonthly: 12, keepYearly: 75))
        #expect(keptIDs(d).count == 25)
        let newest = decision(d, "d\(end)")
        #expect(
            newest.reasons == [
                "daily snapshot", "weekly snapshot", "monthly snapshot", "yearly snapshot",
            ])
        #expect(newest.counters == ForgetCounters(daily: 6, weekly: 4, monthly: 11, yearly: 74))
        let oldest = decision(d, "d\(start)")
        #expect(oldest.reasons == ["oldest yearly snapshot"])
        #expect(oldest.counters?.yearly == 71)
    }

    /// keep-last: the n newest, "last snapshot"; with fewer points than n, all are kept and the
    /// oldest is still plain "last snapshot" (every point is its own bucket).
    @Test func keepLast() throws {
        let points = [
            point("a", at(2024, 1, 1)), point("b", at(2024, 1, 2)), point("c", at(2024, 1, 3)),
        ]
        let two = try forget(points, CountRetention(keepLast: 2))
        #expect(keptIDs(two) == ["b", "c"])
        #expect(decision(two, "c").counters?.last == 1)
        #expect(decision(two, "b").counters?.last == 0)
        let five = try forget(points, CountRetention(keepLast: 5))
        #expect(keptIDs(five) == ["a", "b", "c"])
        #expect(decision(five, "a").reasons == ["last snapshot"])
        #expect(decision(five, "a").counters?.last == 2)
    }

    /// The oldest rule: Jan 2 10:00, Jan 1 12:00, Jan 1 10:00 with keep-daily 5 → Jan 1 10:00 is
    /// in an already-seen day but the count is 3 > 0 at the end, so it is kept as
    /// "oldest daily snapshot" (count 2). With keep-daily 2 the count is 0 there: removed.
    @Test func oldestKeptOnlyWhileCountLeft() throws {
        let points = [
            point("j1a", at(2024, 1, 1, 10)), point("j1b", at(2024, 1, 1, 12)),
            point("j2", at(2024, 1, 2, 10)),
        ]
        let five = try forget(points, CountRetention(keepDaily: 5))
        #expect(keptIDs(five) == ["j1a", "j1b", "j2"])
        #expect(decision(five, "j1a").reasons == ["oldest daily snapshot"])
        #expect(decision(five, "j1a").counters?.daily == 2)
        let two = try forget(points, CountRetention(keepDaily: 2))
        #expect(keptIDs(two) == ["j1b", "j2"])
    }

    /// Unlimited (-1): every month's newest, the oldest as "oldest monthly snapshot", counter -1.
    @Test func unlimitedMonthly() throws {
        let points = [
            point("jan5", at(2024, 1, 5)), point("jan20", at(2024, 1, 20)),
            point("feb3", at(2024, 2, 3)),
        ]
        let d = try forget(points, CountRetention(keepMonthly: -1))
        #expect(keptIDs(d) == ["jan5", "jan20", "feb3"])
        #expect(decision(d, "jan5").reasons == ["oldest monthly snapshot"])
        #expect(decision(d, "feb3").counters?.monthly == -1)
    }

    /// ISO week 53 and the year boundary: 2020-W53 runs Mon Dec 28 2020 – Sun Jan 3 2021.
    /// keep-weekly 3 keeps Jan 4 2021 (2021-W01), Jan 3 2021 (2020-W53; Dec 31 and Dec 28 are in
    /// the same week), Dec 30 2019 (2020-W01); Dec 29 2019 (2019-W52) goes.
    /// keep-yearly 2 keeps Jan 4 2021 and Dec 31 2020 (calendar years, not ISO years).
    @Test func isoWeek53AndYearEnd() throws {
        let points = [
            point("2019-12-29", at(2019, 12, 29)), point("2019-12-30", at(2019, 12, 30)),
            point("2020-12-28", at(2020, 12, 28)), point("2020-12-31", at(2020, 12, 31)),
            point("2021-01-03", at(2021, 1, 3)), point("2021-01-04", at(2021, 1, 4)),
        ]
        let weekly = try forget(points, CountRetention(keepWeekly: 3))
        #expect(keptIDs(weekly) == ["2019-12-30", "2021-01-03", "2021-01-04"])
        let yearly = try forget(points, CountRetention(keepYearly: 2))
        #expect(keptIDs(yearly) == ["2020-12-31", "2021-01-04"])
    }

    /// Hours on the local wall clock: in New York 01:30 happens twice on 2024-11-03 (05:30Z EDT,
    /// 06:30Z EST): one hourly bucket, so keep-hourly keeps only the later; in UTC they differ.
    @Test func hourlyAcrossAutumnOverlap() throws {
        let points = [
            point("00:30", at(2024, 11, 3, 4, 30)), point("01:30edt", at(2024, 11, 3, 5, 30)),
            point("01:30est", at(2024, 11, 3, 6, 30)),
        ]
        let ny = try forget(points, CountRetention(keepHourly: 5), zone: newYork)
        #expect(keptIDs(ny) == ["00:30", "01:30est"])
        let gmt = try forget(points, CountRetention(keepHourly: 5), zone: utc)
        #expect(keptIDs(gmt).count == 3)
        // The policy's own zone wins over the evaluation's.
        let own = try forget(
            points, CountRetention(keepHourly: 5, timeZone: PolicyTimeZone("America/New_York")),
            zone: utc)
        #expect(keptIDs(own) == ["00:30", "01:30est"])
    }

    /// Days on the local calendar: 23:30Z on Jan 1 is Jan 2 in Berlin (+01:00).
    @Test func dailyUsesTheTimeZone() throws {
        let points = [point("a", at(2024, 1, 1, 23, 30)), point("b", at(2024, 1, 2, 12))]
        #expect(keptIDs(try forget(points, CountRetention(keepDaily: 1), zone: berlin)) == ["b"])
        #expect(
            keptIDs(try forget(points, CountRetention(keepDaily: 2), zone: berlin)) == ["a", "b"])
        let p2 = [
            point("x", at(2024, 1, 1, 22, 30)), point("y", at(2024, 1, 1, 23, 30)),
            point("z", at(2024, 1, 2, 12)),
        ]
        // In Berlin y (00:30 Jan 2) and z share a day; x is Jan 1.
        #expect(keptIDs(try forget(p2, CountRetention(keepDaily: 2), zone: berlin)) == ["x", "z"])
    }

    /// keep-within "1m" from Mar 31 12:00 is Go's "Feb 31" = Mar 2 12:00: Mar 1 is *not* within.
    /// "32d" reaches Feb 28 12:00 exactly, and "exactly" is not within (strictly after).
    @Test func keepWithinFollowsGoDateArithmetic() throws {
        let points = [
            point("feb28", at(2024, 2, 28, 12)), point("feb29", at(2024, 2, 29, 12)),
            point("mar1", at(2024, 3, 1, 12)), point("mar31", at(2024, 3, 31, 12)),
        ]
        let m = try forget(points, CountRetention(keepWithin: try KeepWithinDuration("1m")))
        #expect(keptIDs(m) == ["mar31"])
        #expect(decision(m, "mar31").reasons == ["within 1m"])
        let d = try forget(points, CountRetention(keepWithin: try KeepWithinDuration("32d")))
        #expect(keptIDs(d) == ["feb29", "mar1", "mar31"])
        let h = try forget(points, CountRetention(keepWithin: try KeepWithinDuration("30d24h")))
        #expect(keptIDs(h) == ["mar1", "mar31"])  // Mar 31 − 30d = Mar 1, − 24h = Feb 29 12:00
    }

    /// keep-within is measured from the newest point *not in the future*; future points are kept
    /// (they are within) and do not move the reference.
    @Test func keepWithinIgnoresFuturePoints() throws {
        let points = [
            point("old", at(2024, 3, 29, 12)), point("mar31", at(2024, 3, 31, 12)),
            point("future", at(2024, 5, 1)),
        ]
        let d = try forget(
            points, CountRetention(keepWithin: try KeepWithinDuration("1d")), now: at(2024, 4, 1))
        #expect(keptIDs(d) == ["mar31", "future"])
    }

    /// keep-within-daily 2d from Jan 3 06:00: within means after Jan 1 06:00; the newest point of
    /// each day within is kept: Jan 3 06:00, Jan 2 18:00, Jan 1 18:00. Jan 1 00:00 is the oldest
    /// but outside the window, so not kept.
    @Test func keepWithinDaily() throws {
        var points: [RetentionPoint] = []
        for day in 1...3 {
            for hour in stride(from: 0, to: 24, by: 6) where !(day == 3 && hour > 6) {
                points.append(point("\(day)/\(hour)", at(2024, 1, day, hour)))
            }
        }
        let d = try forget(points, CountRetention(keepWithinDaily: try KeepWithinDuration("2d")))
        #expect(keptIDs(d) == ["1/18", "2/18", "3/6"])
        #expect(decision(d, "3/6").reasons == ["daily within 2d"])
        #expect(decision(d, "3/6").counters == ForgetCounters())
    }

    /// keep-within-weekly with every point within: the oldest, sharing a week with a newer one,
    /// is kept as "oldest weekly within 1y".
    @Test func keepWithinWeeklyOldest() throws {
        let points = [
            point("mon", at(2024, 1, 1)), point("tue", at(2024, 1, 2)),
            point("next", at(2024, 1, 8)),
        ]
        let d = try forget(points, CountRetention(keepWithinWeekly: try KeepWithinDuration("1y")))
        #expect(keptIDs(d) == ["mon", "tue", "next"])
        #expect(decision(d, "mon").reasons == ["oldest weekly within 1y"])
        #expect(decision(d, "tue").reasons == ["weekly within 1y"])
    }

    /// keep-tag: a point is kept when it has all tags of one set; `[""]` matches untagged points.
    @Test func keepTags() throws {
        let points = [
            point("ab", at(2024, 1, 1), tags: ["a", "b"]), point("a", at(2024, 1, 2), tags: ["a"]),
            point("ca", at(2024, 1, 3), tags: ["c", "a"]), point("none", at(2024, 1, 4)),
        ]
        let d = try forget(
            points, CountRetention(keepTags: [["a", "b"], ["c"]]), now: at(2024, 1, 3))
        // "none" is the latest point: kept by the every-mode rule, not by a tag.
        #expect(keptIDs(d) == ["ab", "ca", "none"])
        #expect(decision(d, "ab").reasons == ["has tags [a, b]"])
        #expect(decision(d, "ca").reasons == ["has tags [c]"])
        #expect(decision(d, "none").reasons == ["latest point"])
        let untagged = try forget(
            points + [point("z", at(2024, 1, 5), tags: ["x"])], CountRetention(keepTags: [[""]]))
        #expect(decision(untagged, "none").reasons == ["has tags []"])
        #expect(decision(untagged, "a").action == .expire)
    }

    /// Rules overlap (ORed) and each kept point lists every rule that matched, in restic's order.
    @Test func reasonsAccumulateInResticOrder() throws {
        let points = [
            point("p1", at(2024, 6, 1, 10), tags: ["x"]), point("p2", at(2024, 6, 2, 10)),
        ]
        let policy = CountRetention(
            keepLast: 1, keepDaily: 1, keepWithin: try KeepWithinDuration("1d"),
            keepWithinHourly: try KeepWithinDuration("2d"), keepTags: [["x"]])
        let d = try forget(points, policy)
        #expect(
            decision(d, "p2").reasons == [
                "within 1d", "last snapshot", "daily snapshot", "hourly within 2d",
            ])
        #expect(decision(d, "p1").reasons == ["has tags [x]", "hourly within 2d"])
    }

    /// Equal times keep input order (restic sorts stably, newest first).
    @Test func tiesKeepInputOrder() throws {
        let points = [point("first", at(2024, 1, 1)), point("second", at(2024, 1, 1))]
        let d = try forget(points, CountRetention(keepLast: 1))
        #expect(decision(d, "first").reasons == ["last snapshot"])
        #expect(decision(d, "second").action == .expire)
    }

    @Test func durationsParseAndPrintLikeRestic() throws {
        let d = try KeepWithinDuration(" 1y2m3d4h ")
        #expect(d == KeepWithinDuration(years: 1, months: 2, days: 3, hours: 4))
        #expect(d.description == "1y2m3d4h")
        #expect(try KeepWithinDuration("4h1y").description == "1y4h")
        #expect(try KeepWithinDuration("1d2d").days == 2)
        for bad in ["1w", "y", "12", "1y2"] {
            #expect(throws: PolicyError.self) { try KeepWithinDuration(bad) }
        }
    }
}
