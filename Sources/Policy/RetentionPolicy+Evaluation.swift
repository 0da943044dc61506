import Foundation

extension RetentionPolicy {
    /// Decides, for each point, keep / expire / soft-deleted, with reasons and expiry time.
    ///
    /// Pure logic: the decisions follow from nothing but the policy and the arguments. It never
    /// reads the clock, so a host can preview (dry-run) any policy at any time. The policy is
    /// validated first.
    ///
    /// Rules that hold in every mode, in the order they win:
    /// 1. Stop protection: with ``ProtectionState/retainData`` every point stays; with
    ///    ``ProtectionState/deleteData(requestedAt:softDeleteDays:)`` every point that is not pinned
    ///    is soft-deleted until the purge time, then expires.
    /// 2. A pinned point (``RetentionPoint/isPinned``) is kept.
    /// 3. The latest point (the newest by time; on a tie, the earlier in the input, as in restic's
    ///    stable newest-first order) is kept while it is the latest; when no other rule keeps it,
    ///    its reason is `"latest point"`.
    /// 4. An on-demand point is kept until its own ``RetentionPoint/retainUntil`` or, without one,
    ///    ``RetentionPolicy/onDemandRetentionDays`` calendar days after it was taken; the tier and
    ///    count rules neither see nor count it.
    /// 5. Scheduled points follow the rules: tiers (``TieredRetention``), restic counts
    ///    (``CountRetention``) or non-overlapping counts.
    ///
    /// ```swift
    /// let decisions = try policy.evaluate(
    ///     points: points, now: Date(), timeZone: TimeZone(identifier: "Europe/Berlin")!)
    /// for d in decisions where !d.isKept { print("would expire", d.pointID, d.reasons) }
    /// ```
    ///
    /// - Parameters:
    ///   - points: The points of one protected item, in any order; ids must be unique.
    ///   - now: The evaluation time, supplied by the caller (never read from the clock).
    ///   - timeZone: The zone whose calendar cuts days, ISO weeks, months and years, unless the
    ///     policy names its own (``RetentionPolicy/effectiveTimeZone(fallback:)``).
    /// - Returns: One decision per point, in the order of `points`.
    /// - Throws: ``PolicyError`` when the policy is invalid, two points share an id, or a
    ///   point's time or `now` lies outside ``RetentionPoint/timeRange`` (or is NaN).
    /// - Complexity: O(n log n) for n points.
    public func evaluate(
        points: [RetentionPoint], now: Date, timeZone: TimeZone
    ) throws(PolicyError) -> [PointDecision] {
        try RetentionEvaluation.evaluate(points: points, policy: self, now: now, timeZone: timeZone)
    }

    /// Decides, for each point, keep / expire / soft-deleted, reading periods on a calendar. The
    /// policy is validated first.
    ///
    /// Only the calendar's `timeZone` is used: periods are always Gregorian days, months and
    /// years and ISO 8601 weeks (Monday to Sunday), as restic and Azure cut them.
    /// - Parameters:
    ///   - points: The points of one protected item, in any order; ids must be unique.
    ///   - now: The evaluation time, supplied by the caller.
    ///   - calendar: Supplies the time zone (unless the policy names its own).
    /// - Returns: One decision per point, in the order of `points`.
    /// - Throws: ``PolicyError`` when the policy is invalid or two points share an id.
    public func evaluate(
        points: [RetentionPoint], now: Date, calendar: Calendar
    ) throws(PolicyError) -> [PointDecision] {
        try evaluate(points: points, now: now, timeZone: calendar.timeZone)
    }
}

/// The implementation of ``RetentionPolicy/evaluate(points:now:timeZone:)``.
enum RetentionEvaluation {
    static func evaluate(
        points: [RetentionPoint], policy: RetentionPolicy, now: Date, timeZone: TimeZone
    ) throws(PolicyError) -> [PointDecision] {
        try policy.validate()
        var seen = Set<String>()
        for point in points where !seen.insert(point.id).inserted {
            throw PolicyError(
                .invalidPoints, "two points share the id \"\(point.id)\"; ids must be unique")
        }
        for point in points {
            for (name, time) in [("time", point.time), ("retainUntil", point.retainUntil)] {
                if let time, !RetentionPoint.isInTimeRange(time) {
                    throw PolicyError(
                        .invalidPoints,
                        "point \"\(point.id)\" has \(name) \(time.timeIntervalSince1970) seconds since 1970, "
                            + "outside the years 1...9999",
                        field: name)
                }
            }
        }
        guard RetentionPoint.isInTimeRange(now) else {
            throw PolicyError(
                .invalidPoints,
                "now is \(now.timeIntervalSince1970) seconds since 1970, outside the years 1...9999", field: "now")
        }
        let zone = policy.effectiveTimeZone(fallback: timeZone)
        var decisions = points.map { PointDecision(pointID: $0.id, action: .expire, reasons: []) }
        guard !points.isEmpty else { return [] }

        switch policy.protection {
        case .retainData:
            for i in points.indices {
                decisions[i].action = .keep
                decisions[i].reasons = ["protection stopped, data retained"]
            }
            return decisions
        case .deleteData(let requestedAt, let days):
            let purge = policy.protection.purgeTime!
            for (i, point) in points.enumerated() {
                if point.isPinned {
                    decisions[i].action = .keep
                    decisions[i].reasons = ["pinned"]
                } else if now < purge {
                    decisions[i].action = .softDeleted
                    decisions[i].reasons = [
                        "protection stopped, data deleted at \(stamp(requestedAt)); "
                            + "soft-deleted for \(days) days"
                    ]
                    decisions[i].expiry = purge
                } else {
                    decisions[i].reasons = ["protection stopped, data deleted; soft delete ended"]
                    decisions[i].expiry = purge
                }
            }
            return decisions
        case .active:
            break
        }

        // On-demand points: their own retention.
        for (i, point) in points.enumerated() where point.kind == .onDemand {
            let expiry =
                point.retainUntil
                ?? addingDays(policy.onDemandRetentionDays, to: point.time, zone: zone)
            decisions[i].expiry = expiry
            if expiry > now {
                decisions[i].action = .keep
                decisions[i].reasons.append("on-demand until \(stamp(expiry))")
            } else {
                decisions[i].reasons.append("on-demand retention ended \(stamp(expiry))")
            }
        }

        // Scheduled points: the rules, newest first (ties in input order).
        let scheduled = points.indices.filter { points[$0].kind == .scheduled }
            .sorted {
                points[$0].time != points[$1].time ? points[$0].time > points[$1].time : $0 < $1
            }
        let list = scheduled.map { points[$0] }
        switch policy.rules {
        case .tiered(let tiered):
            evaluateTiered(list, scheduled, tiered, now: now, zone: zone, into: &decisions)
        case .count(let count):
            let outcomes = CountEvaluation.restic(list, count, now: now, zone: zone)
            apply(outcomes, scheduled, into: &decisions)
        case .nonOverlappingCount(let count):
            let outcomes = CountEvaluation.nonOverlapping(list, count, now: now, zone: zone)
            apply(outcomes, scheduled, into: &decisions)
        }

        // Pinned and latest override expiry.
        for (i, point) in points.enumerated() where point.isPinned {
            keep(&decisions[i], reason: "pinned")
        }
        let latest = points.indices.max {
            points[$0].time != points[$1].time ? points[$0].time < points[$1].time : $0 > $1
        }!
        if !decisions[latest].isKept {
            keep(&decisions[latest], reason: "latest point")
        }
        return decisions
    }

    private static func keep(_ decision: inout PointDecision, reason: String) {
        if decision.action != .keep {
            decision.action = .keep
            decision.reasons = []
        }
        decision.reasons.append(reason)
    }

    private static func apply(
        _ outcomes: [CountEvaluation.Outcome], _ indices: [Int],
        into decisions: inout [PointDecision]
    ) {
        for (k, outcome) in outcomes.enumerated() {
            let i = indices[k]
            decisions[i].action = outcome.kept ? .keep : .expire
            decisions[i].reasons = outcome.kept ? outcome.reasons : ["no rule keeps it"]
            decisions[i].counters = outcome.counters
        }
    }

    /// Tiered mode: `list` newest first, `indices` its positions in the caller's array.
    private static func evaluateTiered(
        _ list: [RetentionPoint], _ indices: [Int], _ tiered: TieredRetention, now: Date,
        zone: TimeZone, into decisions: inout [PointDecision]
    ) {
        // The first scheduled point of each civil day (list is newest first, so the last seen).
        var firstOfDay: [Int: Int] = [:]
        var days: [Int] = []
        for (k, point) in list.enumerated() {
            let day = LocalDateTime(point.time, in: zone).date.dayNumber
            days.append(day)
            firstOfDay[day] = k
        }
        for (k, point) in list.enumerated() {
            let i = indices[k]
            var tiers: Set<RetentionTier>
            if let recorded = point.tiers {
                tiers = recorded.filter { tiered.has($0) }
            } else {
                tiers = tiered.daily != nil ? [.daily] : []
                if firstOfDay[days[k]] == k {
                    tiers.formUnion(tiered.tiers(forFirstPointOn: CivilDate(dayNumber: days[k])))
                }
            }
            let ordered = tiers.sorted()
            decisions[i].tiers = ordered
            let expiries = ordered.compactMap { tier in
                tiered.expiry(of: tier, forPointAt: point.time, timeZone: zone).map { (tier, $0) }
            }
            decisions[i].expiry = expiries.map(\.1).max()
            let live = expiries.filter { $0.1 > now }
            if live.isEmpty {
                decisions[i].action = .expire
                decisions[i].reasons =
                    ordered.isEmpty
                    ? ["no tier applies"]
                    : ["retention ended \(stamp(decisions[i].expiry!))"]
            } else {
                decisions[i].action = .keep
                decisions[i].reasons = live.map { "\(tiered.describe($0.0)) until \(stamp($0.1))" }
            }
        }
    }

    /// `days` calendar days after `time` on the wall clock of `zone`.
    static func addingDays(_ days: Int, to time: Date, zone: TimeZone) -> Date {
        let local = LocalDateTime(time, in: zone)
        let fraction = time.timeIntervalSince1970 - time.timeIntervalSince1970.rounded(.down)
        return LocalDateTime(
            date: CivilDate(dayNumber: local.date.dayNumber + days), secondOfDay: local.secondOfDay
        ).instant(in: zone).addingTimeInterval(fraction)
    }

    /// An ISO 8601 UTC stamp for reasons.
    static func stamp(_ date: Date) -> String {
        let local = LocalDateTime(date, in: TimeZone(secondsFromGMT: 0)!)
        let d = local.date
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(d.year)-\(two(d.month))-\(two(d.day))T\(two(local.hour)):"
            + "\(two(local.secondOfDay / 60 % 60)):\(two(local.secondOfDay % 60))Z"
    }
}
