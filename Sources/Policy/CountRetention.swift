/// Retention by count, with restic `forget` semantics (and, through
/// ``RetentionPolicy/Rules/nonOverlappingCount(_:)``, the non-overlapping borg/Proxmox variant).
///
/// A count of `0` switches its rule off, `-1` (``unlimited``) keeps one point for every period.
/// A `nil` or zero duration switches its rule off.
///
/// It decodes directly from a flat JSON object with exactly these keys, all optional:
/// ```json
/// {"keepLast": 3, "keepHourly": 24, "keepDaily": 7, "keepWeekly": 5, "keepMonthly": 12,
///  "keepYearly": -1, "keepWithin": "1y2m3d4h", "keepWithinHourly": "2d",
///  "keepWithinDaily": "7d", "keepWithinWeekly": "1m", "keepWithinMonthly": "1y",
///  "keepWithinYearly": "75y", "keepTags": [["a", "b"], ["c"]], "timeZone": "+01:00"}
/// ```
/// A count may also be the string `"unlimited"`. Unknown keys are rejected (a misspelt rule
/// must not silently keep less). `timeZone` accepts `"+01:00"`, `"Z"`, `"UTC"` or an IANA name
/// and, when present, is the zone in which hours, days, ISO weeks, months and years are cut.
///
/// ```swift
/// let policy = try JSONDecoder().decode(CountRetention.self, from: data)
/// let decisions = try RetentionPolicy(.count(policy)).evaluate(
///     points: points, now: now, timeZone: .gmt)
/// ```
public struct CountRetention: Hashable, Sendable, Codable {
    /// The count meaning "every period".
    public static let unlimited = -1
    /// Allowed counts: −1 (``unlimited``), 0 (off), or up to a million periods (a million hours
    /// is 114 years; for more, use ``unlimited``).
    public static let countRange = -1...1_000_000

    /// Keep the `n` most recent points.
    public var keepLast: Int
    /// For the last `n` hours that have points, keep the newest point of each.
    public var keepHourly: Int
    /// For the last `n` days that have points, keep the newest point of each.
    public var keepDaily: Int
    /// For the last `n` ISO weeks (Monday to Sunday) that have points, keep the newest of each.
    public var keepWeekly: Int
    /// For the last `n` months that have points, keep the newest point of each.
    public var keepMonthly: Int
    /// For the last `n` years that have points, keep the newest point of each.
    public var keepYearly: Int
    /// Keep every point newer than this duration before the newest point not in the future.
    public var keepWithin: KeepWithinDuration?
    /// Within this duration of the newest point, keep the newest point of every hour.
    public var keepWithinHourly: KeepWithinDuration?
    /// Within this duration of the newest point, keep the newest point of every day.
    public var keepWithinDaily: KeepWithinDuration?
    /// Within this duration of the newest point, keep the newest point of every ISO week.
    public var keepWithinWeekly: KeepWithinDuration?
    /// Within this duration of the newest point, keep the newest point of every month.
    public var keepWithinMonthly: KeepWithinDuration?
    /// Within this duration of the newest point, keep the newest point of every year.
    public var keepWithinYearly: KeepWithinDuration?
    /// Keep every point that has all tags of any one of these sets. `[""]` matches untagged points.
    public var keepTags: [[String]]
    /// The zone in which periods are cut; when `nil` the evaluation's zone is used.
    public var timeZone: PolicyTimeZone?

    /// Creates a count policy; every rule is off unless given.
    public init(
        keepLast: Int = 0, keepHourly: Int = 0, keepDaily: Int = 0, keepWeekly: Int = 0,
        keepMonthly: Int = 0, keepYearly: Int = 0, keepWithin: KeepWithinDuration? = nil,
        keepWithinHourly: KeepWithinDuration? = nil, keepWithinDaily: KeepWithinDuration? = nil,
        keepWithinWeekly: KeepWithinDuration? = nil, keepWithinMonthly: KeepWithinDuration? = nil,
        keepWithinYearly: KeepWithinDuration? = nil, keepTags: [[String]] = [],
        timeZone: PolicyTimeZone? = nil
    ) {
        self.keepLast = keepLast
        self.keepHourly = keepHourly
        self.keepDaily = keepDaily
        self.keepWeekly = keepWeekly
        self.keepMonthly = keepMonthly
        self.keepYearly = keepYearly
        self.keepWithin = keepWithin
        self.keepWithinHourly = keepWithinHourly
        self.keepWithinDaily = keepWithinDaily
        self.keepWithinWeekly = keepWithinWeekly
        self.keepWithinMonthly = keepWithinMonthly
        self.keepWithinYearly = keepWithinYearly
        self.keepTags = keepTags
        self.timeZone = timeZone
    }

    /// The counts with their JSON names, in restic's order (last, hourly … yearly).
    var counts: [(name: String, value: Int)] {
        [
            ("keepLast", keepLast), ("keepHourly", keepHourly), ("keepDaily", keepDaily),
            ("keepWeekly", keepWeekly), ("keepMonthly", keepMonthly), ("keepYearly", keepYearly),
        ]
    }

    /// The within-period durations with their JSON names, hourly … yearly.
    var withinPeriods: [(name: String, value: KeepWithinDuration?)] {
        [
            ("keepWithinHourly", keepWithinHourly), ("keepWithinDaily", keepWithinDaily),
            ("keepWithinWeekly", keepWithinWeekly), ("keepWithinMonthly", keepWithinMonthly),
            ("keepWithinYearly", keepWithinYearly),
        ]
    }

    /// Whether no rule is on (restic refuses such a policy: it would forget everything).
    public var isEmpty: Bool {
        counts.allSatisfy { $0.value == 0 } && (keepWithin?.isZero ?? true)
            && withinPeriods.allSatisfy { $0.value?.isZero ?? true } && keepTags.isEmpty
    }

    /// Checks the policy.
    /// - Throws: ``PolicyError/Code/outOfRange`` for a count outside ``countRange`` or a duration
    ///   with a negative or too large part (``KeepWithinDuration/validate(field:)``), naming the
    ///   field; ``PolicyError/Code/missingValue`` for an empty policy.
    public func validate() throws(PolicyError) {
        for (name, value) in counts where !Self.countRange.contains(value) {
            throw PolicyError(
                .outOfRange,
                "\(name) is \(value) but must be -1 (unlimited), 0 (off) or 1...\(Self.countRange.upperBound)",
                field: name)
        }
        for (name, value) in [("keepWithin", keepWithin)] + withinPeriods {
            try value?.validate(field: name)
        }
        if isEmpty {
            throw PolicyError(
                .missingValue,
                "the count policy keeps nothing; set at least one of keepLast, keepHourly, "
                    + "keepDaily, keepWeekly, keepMonthly, keepYearly, keepWithin…, keepTags")
        }
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    private static let keys: Set<String> = [
        "keepLast", "keepHourly", "keepDaily", "keepWeekly", "keepMonthly", "keepYearly",
        "keepWithin", "keepWithinHourly", "keepWithinDaily", "keepWithinWeekly",
        "keepWithinMonthly", "keepWithinYearly", "keepTags", "timeZone",
    ]

    /// Decodes the flat JSON form; unknown keys are an error.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: AnyKey.self)
        for key in c.allKeys where !Self.keys.contains(key.stringValue) {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: c,
                debugDescription: "unknown key \"\(key.stringValue)\"; expected one of "
                    + Self.keys.sorted().joined(separator: ", "))
        }
        // A count is a whole number in countRange or "unlimited"; anything else (a string, a
        // fraction, a number past Int) names the field. The range itself is validate()'s.
        func count(_ name: String) throws -> Int {
            let key = AnyKey(stringValue: name)
            guard c.contains(key) else { return 0 }
            let wrong = PolicyError(
                .invalidValue,
                "\(name) must be a whole number from -1 to \(Self.countRange.upperBound) or \"unlimited\"",
                field: name)
            if let text = try? c.decode(String.self, forKey: key) {
                guard text == "unlimited" else {
                    throw DecodingError.dataCorrupted(
                        .init(
                            codingPath: c.codingPath + [key], debugDescription: wrong.message,
                            underlyingError: wrong))
                }
                return Self.unlimited
            }
            guard let value = try? c.decode(Int.self, forKey: key) else {
                throw DecodingError.dataCorrupted(
                    .init(
                        codingPath: c.codingPath + [key], debugDescription: wrong.message,
                        underlyingError: wrong))
            }
            return value
        }
        func duration(_ name: String) throws -> KeepWithinDuration? {
            let key = AnyKey(stringValue: name)
            guard let text = try c.decodeIfPresent(String.self, forKey: key) else { return nil }
            do { return try KeepWithinDuration(text, field: name) } catch {
                throw DecodingError.dataCorrupted(
                    .init(
                        codingPath: c.codingPath + [key], debugDescription: error.message,
                        underlyingError: error))
            }
        }
        self.init(
            keepLast: try count("keepLast"), keepHourly: try count("keepHourly"),
            keepDaily: try count("keepDaily"), keepWeekly: try count("keepWeekly"),
            keepMonthly: try count("keepMonthly"), keepYearly: try count("keepYearly"),
            keepWithin: try duration("keepWithin"),
            keepWithinHourly: try duration("keepWithinHourly"),
            keepWithinDaily: try duration("keepWithinDaily"),
            keepWithinWeekly: try duration("keepWithinWeekly"),
            keepWithinMonthly: try duration("keepWithinMonthly"),
            keepWithinYearly: try duration("keepWithinYearly"),
            keepTags: try c.decodeIfPresent(
                [[String]].self, forKey: AnyKey(stringValue: "keepTags"))
                ?? [],
            timeZone: try c.decodeIfPresent(
                PolicyTimeZone.self, forKey: AnyKey(stringValue: "timeZone")))
    }

    /// Encodes the flat JSON form, leaving out rules that are off.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        for (name, value) in counts where value != 0 {
            try c.encode(value, forKey: AnyKey(stringValue: name))
        }
        for (name, value) in [("keepWithin", keepWithin)] + withinPeriods {
            if let value, !value.isZero { try c.encode(value, forKey: AnyKey(stringValue: name)) }
        }
        if !keepTags.isEmpty { try c.encode(keepTags, forKey: AnyKey(stringValue: "keepTags")) }
        if let timeZone { try c.encode(timeZone, forKey: AnyKey(stringValue: "timeZone")) }
    }
}
