import BlockStoreTesting
import Foundation
import Testing

@testable import Policy

/// Seeded simulations checked against brute-force oracles written separately and simply, on
/// Foundation's `Calendar` (not the module's calendar code).
@Suite struct SimulatedYearTests {
    /// About two years of backups in Europe/Berlin: most days one scheduled point between 10:00
    /// and 12:00 local, some days skipped, some days a second point in the afternoon, a few
    /// on-demand points.
    func simulate(seed: UInt64) -> [RetentionPoint] {
        var rng = SplitMix64(seed: seed)
        var points: [RetentionPoint] = []
        var day = wall(berlin, 2023, 1, 1, 10)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = berlin
        var n = 0
        while day < wall(berlin, 2025, 1, 1, 0) {
            if Double.random(in: 0..<1, using: &rng) >= 0.05 {
                let jitter = TimeInterval(Int.random(in: 0..<7200, using: &rng))
                points.append(point("p\(n)", day.addingTimeInterval(jitter)))
                n += 1
            }
            if Double.random(in: 0..<1, using: &rng) < 0.1 {
                points.append(
                    point(
                        "p\(n)",
                        day.addingTimeInterval(
                            6 * 3600 + TimeInterval(Int.random(in: 0..<3600, using: &rng)))))
                n += 1
            }
            if Double.random(in: 0..<1, using: &rng) < 0.02 {
                points.append(
                    RetentionPoint(
                        id: "od\(n)", time: day.addingTimeInterval(3 * 3600), kind: .onDemand))
                n += 1
            }
            day = calendar.date(byAdding: .day, value: 1, to: day)!
        }
        return points.shuffled(using: &rng)
    }

    static let tiered = TieredRetention(
        daily: .init(days: 14), weekly: .init(weeks: 8, weekdays: [.sunday]),
        monthly: .init(months: 12, days: [.last, .weekday(.first, .monday)]),
        yearly: .init(years: 3, months: [.december], days: [.last]))

    /// Oracle for the tiered policy above: which points stay and their expiry.
    func tieredOracle(_ points: [RetentionPoint], now: Date) -> [String: (kept: Bool, expiry: Date)] {
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = berlin
        let latest = points.max { $0.time < $1.time }!
        var firstOfDay: [DateComponents: Date] = [:]
        for p in points where p.kind == .scheduled {
            let key = cal.dateComponents([.year, .month, .day], from: p.time)
            firstOfDay[key] = min(firstOfDay[key] ?? p.time, p.time)
        }
        var result: [String: (Bool, Date)] = [:]
        for p in points {
            var expiries: [Date]
            if p.kind == .onDemand {
                expiries = [cal.date(byAdding: .day, value: 30, to: p.time)!]
            } else {
                expiries = [cal.date(byAdding: .day, value: 14, to: p.time)!]
                let c = cal.dateComponents([.year, .month, .day, .weekday], from: p.time)
                let isFirst =
                    firstOfDay[cal.dateComponents([.year, .month, .day], from: p.time)] == p.time
                let isLast = c.day! == cal.range(of: .day, in: .month, for: p.time)!.count
                if isFirst && c.weekday == 1 {
                    expiries.append(cal.date(byAdding: .day, value: 56, to: p.time)!)
                }
                if isFirst && (isLast || (c.weekday == 2 && c.day! <= 7)) {
                    expiries.append(cal.date(byAdding: .month, value: 12, to: p.time)!)
                }
                if isFirst && isLast && c.month == 12 {
                    expiries.append(cal.date(byAdding: .year, value: 3, to: p.time)!)
                }
            }
            let expiry = expiries.max()!
            result[p.id] = (expiry > now || p.id == latest.id, expiry)
        }
        return result
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func tieredMatchesBruteForce(seed: UInt64) throws {
        let all = simulate(seed: seed)
        let policy = RetentionPolicy(.tiered(Self.tiered), timeZone: PolicyTimeZone(berlin))
        var now = wall(berlin, 2023, 1, 20, 0)
        while now < wall(berlin, 2026, 6, 1, 0) {
            let points = all.filter { $0.time <= now }
            let decisions = try policy.evaluate(
                points: points, now: now, timeZone: utc)
            let oracle = tieredOracle(points, now: now)
            for d in decisions {
                let o = oracle[d.pointID]!
                #expect(
                    d.isKept == o.kept, "seed \(seed), now \(now), point \(d.pointID): \(d.reasons)"
                )
                #expect(d.expiry == o.expiry, "seed \(seed), point \(d.pointID)")
            }
            now = now.addingTimeInterval(29 * 86_400 + 3 * 3600)
        }
    }

    /// Oracle for restic count rules: for each rule the newest point of each of the newest `n`
    /// periods, plus the oldest point when there are fewer than `n` periods (or `n` is -1).
    func countOracle(_ points: [RetentionPoint], _ rules: [(Int, (Date) -> String)]) -> Set<String> {
        let sorted = points.sorted { $0.time > $1.time }
        var kept: Set<String> = [sorted[0].id]
        for (n, key) in rules where n != 0 {
            var periods: [String] = []
            var newest: [String: String] = [:]
            for p in sorted {
                let k = key(p.time)
                if newest[k] == nil {
                    newest[k] = p.id
                    periods.append(k)
                }
            }
            for k in (n == -1 ? periods : Array(periods.prefix(n))) { kept.insert(newest[k]!) }
            if n == -1 || periods.count < n { kept.insert(sorted.last!.id) }
        }
        return kept
    }

    @Test(
        arguments: [(11, 7, 5, 12, 2), (3, 30, -1, 6, 1), (0, 0, 60, 0, -1), (1, 400, 0, 30, 5)]
            as [(Int, Int, Int, Int, Int)])
    func resticCountsMatchBruteForce(last: Int, daily: Int, weekly: Int, monthly: Int, yearly: Int)
        throws
    {
        for seed in [11, 12] as [UInt64] {
            let points = simulate(seed: seed).filter { $0.kind == .scheduled }
            var greg = Calendar(identifier: .gregorian)
            greg.timeZone = berlin
            var iso = Calendar(identifier: .iso8601)
            iso.timeZone = berlin
            let index = Dictionary(uniqueKeysWithValues: points.map { ($0.time, $0.id) })
            let rules: [(Int, (Date) -> String)] = [
                (last, { index[$0]! }),
                (
                    daily,
                    {
                        let c = greg.dateComponents([.year, .month, .day], from: $0)
                        return "\(c.year!)-\(c.month!)-\(c.day!)"
                    }
                ),
                (
                    weekly,
                    {
                        let c = iso.dateComponents([.yearForWeekOfYear, .weekOfYear], from: $0)
                        return "\(c.yearForWeekOfYear!)W\(c.weekOfYear!)"
                    }
                ),
                (
                    monthly,
                    {
                        let c = greg.dateComponents([.year, .month], from: $0)
                        return "\(c.year!)-\(c.month!)"
                    }
                ),
                (yearly, { "\(greg.component(.year, from: $0))" }),
            ]
            let expected = countOracle(points, rules)
            let policy = CountRetention(
                keepLast: last, keepDaily: daily, keepWeekly: weekly, keepMonthly: monthly,
                keepYearly: yearly)
            let d = try forget(points, policy, zone: berlin)
            #expect(Set(keptIDs(d)) == expected, "seed \(seed)")
        }
    }

    /// Oracle for keep-within-daily/weekly/monthly with day-only durations: among points strictly
    /// after (newest − N days), the newest of each period, plus the oldest point if it is inside.
    @Test(arguments: [11, 12, 13] as [UInt64])
    func resticWithinPeriodsMatchBruteForce(seed: UInt64) throws {
        let points = simulate(seed: seed).filter { $0.kind == .scheduled }
        var greg = Calendar(identifier: .gregorian)
        greg.timeZone = berlin
        var iso = Calendar(identifier: .iso8601)
        iso.timeZone = berlin
        let sorted = points.sorted { $0.time > $1.time }
        var expected: Set<String> = [sorted[0].id]
        let rules: [(Int, (Date) -> String)] = [
            (
                30,
                {
                    let c = greg.dateComponents([.year, .month, .day], from: $0)
                    return "\(c.year!)-\(c.month!)-\(c.day!)"
                }
            ),
            (
                200,
                {
                    let c = iso.dateComponents([.yearForWeekOfYear, .weekOfYear], from: $0)
                    return "\(c.yearForWeekOfYear!)W\(c.weekOfYear!)"
                }
            ),
            (
                400,
                {
                    let c = greg.dateComponents([.year, .month], from: $0)
                    return "\(c.year!)-\(c.month!)"
                }
            ),
        ]
        for (days, key) in rules {
            let cutoff = greg.date(byAdding: .day, value: -days, to: sorted[0].time)!
            var seen: Set<String> = []
            for p in sorted where p.time > cutoff && seen.insert(key(p.time)).inserted {
                expected.insert(p.id)
            }
            if sorted.last!.time > cutoff { expected.insert(sorted.last!.id) }
        }
        let policy = CountRetention(
            keepWithinDaily: KeepWithinDuration(days: 30),
            keepWithinWeekly: KeepWithinDuration(days: 200),
            keepWithinMonthly: KeepWithinDuration(days: 400))
        let d = try forget(points, policy, zone: berlin)
        #expect(Set(keptIDs(d)) == expected, "seed \(seed)")
    }
}
