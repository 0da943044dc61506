import Foundation

/// The count modes: restic `forget` and the non-overlapping borg/Proxmox `prune`.
enum CountEvaluation {
    /// The outcome for one point.
    struct Outcome {
        var kept = false
        var reasons: [String] = []
        var counters: ForgetCounters?
    }

    /// Period keys in restic's form, hourly … yearly, on the wall clock of `zone`.
    static func periodKeys(_ time: Date, zone: TimeZone) -> [Int] {
        let local = LocalDateTime(time, in: zone)
        let d = local.date
        let iso = d.isoWeek
        return [
            d.year * 1_000_000 + d.month * 10_000 + d.day * 100 + local.hour,
            d.year * 10_000 + d.month * 100 + d.day,
            iso.year * 100 + iso.week,
            d.year * 100 + d.month,
            d.year,
        ]
    }

    /// The newest time strictly before `now`, or `nil` when every point is at or after it.
    static func latestNotInFuture(_ points: [RetentionPoint], now: Date) -> Date? {
        points.lazy.map(\.time).filter { $0 < now }.max()
    }

    /// restic `forget`: `points` newest first (ties in input order); outcomes in the same order.
    static func restic(
        _ points: [RetentionPoint], _ p: CountRetention, now: Date, zone: TimeZone
    ) -> [Outcome] {
        let names = [
            "last snapshot", "hourly snapshot", "daily snapshot", "weekly snapshot",
            "monthly snapshot", "yearly snapshot",
        ]
        let withinNames = [
            "hourly within", "daily within", "weekly within", "monthly within",
            "yearly within",
        ]
        var counts = p.counts.map(\.value)
        var last = [Int?](repeating: nil, count: 6)
        var withinLast = [Int?](repeating: nil, count: 5)
        let latest = latestNotInFuture(points, now: now)
        func cutoff(_ d: KeepWithinDuration) -> Date? {
            latest.map { d.subtracted(from: $0, timeZone: zone) }
        }
        let withinCutoff = p.keepWithin.flatMap { $0.isZero ? nil : $0 }.map { ($0, cutoff($0)) }
        let periodCutoffs = p.withinPeriods.map { entry in
            entry.value.flatMap { $0.isZero ? nil : $0 }.map { ($0, cutoff($0)) }
        }
        var outcomes: [Outcome] = []
        outcomes.reserveCapacity(points.count)
        for (nr, point) in points.enumerated() {
            var o = Outcome()
            let isOldest = nr == points.count - 1
            for set in p.keepTags where point.hasTags(set) {
                o.kept = true
                o.reasons.append("has tags [\(set.joined(separator: ", "))]")
            }
            // A missing cutoff means no point lies before now: everything is "within".
            if let (d, t) = withinCutoff, t.map({ point.time > $0 }) ?? true {
                o.kept = true
                o.reasons.append("within \(d)")
            }
            let keys = [nr] + periodKeys(point.time, zone: zone)
            for i in 0..<6 where counts[i] > 0 || counts[i] == -1 {
                let val = keys[i]
                if val != last[i] || isOldest {
                    o.kept = true
                    let oldest = val == last[i] && isOldest
                    last[i] = val
                    if counts[i] > 0 { counts[i] -= 1 }
                    o.reasons.append(oldest ? "oldest \(names[i])" : names[i])
                }
            }
            for i in 0..<5 {
                guard let (d, t) = periodCutoffs[i], t.map({ point.time > $0 }) ?? true else {
                    continue
                }
                let val = keys[i + 1]
                if val != withinLast[i] || isOldest {
                    o.kept = true
                    let oldest = val == withinLast[i] && isOldest
                    withinLast[i] = val
                    o.reasons.append((oldest ? "oldest " : "") + "\(withinNames[i]) \(d)")
                }
            }
            if o.kept {
                o.counters = ForgetCounters(
                    last: counts[0], hourly: counts[1], daily: counts[2], weekly: counts[3],
                    monthly: counts[4], yearly: counts[5])
            }
            outcomes.append(o)
        }
        return outcomes
    }

    /// Non-overlapping prune (borg/Proxmox): `points` newest first; outcomes in the same order.
    ///
    /// Rules run one after another: tags, within, last, hourly, daily, weekly, monthly, yearly.
    /// A rule walks the points newest first; the newest point of each new period is its
    /// candidate; a candidate some earlier rule already kept is passed over without using up the
    /// count (its period is spent). When the walk ends with count left, the oldest point is kept
    /// if nothing kept it yet. Reasons: `"daily #3"` (the third daily point), `"oldest daily"`.
    static func nonOverlapping(
        _ points: [RetentionPoint], _ p: CountRetention, now: Date, zone: TimeZone
    ) -> [Outcome] {
        var outcomes = [Outcome](repeating: Outcome(), count: points.count)
        for (i, point) in points.enumerated() {
            for set in p.keepTags where point.hasTags(set) {
                outcomes[i].kept = true
                outcomes[i].reasons.append("has tags [\(set.joined(separator: ", "))]")
            }
        }
        if let d = p.keepWithin, !d.isZero {
            let cutoff = latestNotInFuture(points, now: now).map {
                d.subtracted(from: $0, timeZone: zone)
            }
            for (i, point) in points.enumerated() where cutoff.map({ point.time > $0 }) ?? true {
                if !outcomes[i].kept {
                    outcomes[i].kept = true
                    outcomes[i].reasons.append("within \(d)")
                }
            }
        }
        let names = ["last", "hourly", "daily", "weekly", "monthly", "yearly"]
        let keys = points.enumerated().map { [$0.offset] + periodKeys($0.element.time, zone: zone) }
        for (rule, count) in p.counts.map(\.value).enumerated() where count != 0 {
            var last: Int?
            var keptByRule = 0
            var finished = false
            for i in points.indices {
                let val = keys[i][rule]
                guard val != last else { continue }
                last = val
                guard !outcomes[i].kept else { continue }
                outcomes[i].kept = true
                keptByRule += 1
                outcomes[i].reasons.append("\(names[rule]) #\(keptByRule)")
                if keptByRule == count {
                    finished = true
                    break
                }
            }
            if !finished, let oldest = points.indices.last, !outcomes[oldest].kept {
                outcomes[oldest].kept = true
                outcomes[oldest].reasons.append("oldest \(names[rule])")
            }
        }
        return outcomes
    }
}
