import Foundation

/// A complete policy: the rules (tiered, restic count, or non-overlapping count), the schedule,
/// the on-demand default, and the protection state.
///
/// JSON (exactly one of `tiered`, `count`, `nonOverlappingCount`):
/// ```json
/// {"schedule": {"frequency": "daily", "times": ["02:00"]},
///  "timeZone": "Europe/Berlin",
///  "tiered": {"daily": {"days": 30},
///             "weekly": {"weeks": 12, "weekdays": ["sunday"]},
///             "monthly": {"months": 60, "days": ["last"]},
///             "yearly": {"years": 10, "months": ["december"], "days": ["last"]}},
///  "onDemandRetentionDays": 30,
///  "protection": {"state": "active"}}
/// ```
/// `count` and `nonOverlappingCount` hold the flat ``CountRetention`` object.
///
/// Policy changes need nothing special: evaluation derives everything from the current policy,
/// so a longer retention extends existing points and a shorter one prunes them at the next
/// evaluation, and new points follow the new policy at once.
///
/// ```swift
/// let policy = RetentionPolicy(
///     .tiered(TieredRetention(daily: .init(days: 30), weekly: .init(weeks: 12, weekdays: [.sunday]))))
/// let decisions = try policy.evaluate(points: points, now: now, timeZone: zone)
/// ```
public struct RetentionPolicy: Hashable, Sendable, Codable {
    /// Which rules decide the scheduled points.
    public enum Rules: Hashable, Sendable {
        /// Azure-style tiers with expiry times.
        case tiered(TieredRetention)
        /// restic `forget` semantics: every rule sees every point; rules overlap.
        case count(CountRetention)
        /// borg/Proxmox `prune` semantics: rules run in the order tags, within, last, hourly,
        /// daily, weekly, monthly, yearly, and each counts only periods whose newest point no
        /// earlier rule kept. `keepWithinHourly` … `keepWithinYearly` are not available here.
        case nonOverlappingCount(CountRetention)
    }

    /// The default of ``onDemandRetentionDays``: an on-demand point without its own retention
    /// is kept for 30 days.
    public static let defaultOnDemandRetentionDays = 30
    /// Allowed on-demand retention, in days.
    public static let onDemandRetentionDaysRange = 1...36_500

    /// Which rules decide the scheduled points.
    public var rules: Rules
    /// The schedule that makes the points, if known (checked against the tiers).
    public var schedule: BackupSchedule?
    /// The zone of the policy's calendar; when `nil` the evaluation's zone is used. A count
    /// policy's own ``CountRetention/timeZone`` takes precedence over both.
    public var timeZone: PolicyTimeZone?
    /// How long an on-demand point without ``RetentionPoint/retainUntil`` is kept (default 30).
    public var onDemandRetentionDays: Int
    /// Whether protection is active, stopped with data retained, or stopped with data deleted.
    public var protection: ProtectionState

    /// Creates a policy.
    public init(
        _ rules: Rules, schedule: BackupSchedule? = nil, timeZone: PolicyTimeZone? = nil,
        onDemandRetentionDays: Int = RetentionPolicy.defaultOnDemandRetentionDays,
        protection: ProtectionState = .active
    ) {
        self.rules = rules
        self.schedule = schedule
        self.timeZone = timeZone
        self.onDemandRetentionDays = onDemandRetentionDays
        self.protection = protection
    }

    /// Checks every field and their agreement.
    /// - Throws: ``PolicyError`` naming the field and the allowed range.
    public func validate() throws(PolicyError) {
        try schedule?.validate()
        try protection.validate()
        try PolicyError.check(
            "onDemandRetentionDays", onDemandRetentionDays, Self.onDemandRetentionDaysRange, "days")
        switch rules {
        case .tiered(let tiered):
            try tiered.validate(schedule: schedule)
        case .count(let count):
            try count.validate()
        case .nonOverlappingCount(let count):
            try count.validate()
            for (name, value) in count.withinPeriods where !(value?.isZero ?? true) {
                throw PolicyError(
                    .contradictory,
                    "\(name) has no meaning in the non-overlapping mode; use count or remove it",
                    field: name)
            }
        }
    }

    /// The zone evaluation uses: the count policy's, else this policy's, else `fallback`.
    public func effectiveTimeZone(fallback: TimeZone) -> TimeZone {
        switch rules {
        case .count(let c), .nonOverlappingCount(let c):
            if let zone = c.timeZone { return zone.timeZone }
        case .tiered: break
        }
        return timeZone?.timeZone ?? fallback
    }

    private enum Key: String, CodingKey {
        case tiered, count, nonOverlappingCount, schedule, timeZone, onDemandRetentionDays
        case protection
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Decodes the JSON form shown in the type's documentation; unknown keys are an error.
    public init(from decoder: any Decoder) throws {
        let names = try decoder.container(keyedBy: AnyKey.self)
        for key in names.allKeys where Key(rawValue: key.stringValue) == nil {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: names,
                debugDescription: "unknown policy key \"\(key.stringValue)\"")
        }
        let c = try decoder.container(keyedBy: Key.self)
        let present = [Key.tiered, .count, .nonOverlappingCount].filter { c.contains($0) }
        guard present.count == 1 else {
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: c.codingPath,
                    debugDescription:
                        "a policy needs exactly one of tiered, count, nonOverlappingCount"))
        }
        let rules: Rules
        switch present[0] {
        case .tiered: rules = .tiered(try c.decode(TieredRetention.self, forKey: .tiered))
        case .count: rules = .count(try c.decode(CountRetention.self, forKey: .count))
        default:
            rules = .nonOverlappingCount(
                try c.decode(CountRetention.self, forKey: .nonOverlappingCount))
        }
        self.init(
            rules,
            schedule: try c.decodeIfPresent(BackupSchedule.self, forKey: .schedule),
            timeZone: try c.decodeIfPresent(PolicyTimeZone.self, forKey: .timeZone),
            onDemandRetentionDays: try c.decodeWholeNumberIfPresent(forKey: .onDemandRetentionDays)
                ?? Self.defaultOnDemandRetentionDays,
            protection: try c.decodeIfPresent(ProtectionState.self, forKey: .protection) ?? .active)
    }

    /// Encodes the JSON form shown in the type's documentation.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        switch rules {
        case .tiered(let t): try c.encode(t, forKey: .tiered)
        case .count(let r): try c.encode(r, forKey: .count)
        case .nonOverlappingCount(let r): try c.encode(r, forKey: .nonOverlappingCount)
        }
        try c.encodeIfPresent(schedule, forKey: .schedule)
        try c.encodeIfPresent(timeZone, forKey: .timeZone)
        try c.encode(onDemandRetentionDays, forKey: .onDemandRetentionDays)
        try c.encode(protection, forKey: .protection)
    }
}
