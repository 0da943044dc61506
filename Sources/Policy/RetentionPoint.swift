import Foundation

/// What the policy needs to know about one recovery point (the chain itself lives elsewhere;
/// `RecoveryChain.RecoveryPoint` is the full point).
///
/// JSON (only `id` and `time` required):
/// ```json
/// {"id": "rp-0042", "time": "2026-03-29T02:00:00Z", "kind": "scheduled",
///  "tags": ["nightly"], "isPinned": false, "retainUntil": null, "tiers": ["daily", "weekly"]}
/// ```
/// (`time` and `retainUntil` use the decoder's date strategy; hosts use `.iso8601`.)
public struct RetentionPoint: Hashable, Sendable, Codable, Identifiable {
    /// How the point came to be.
    public enum Kind: String, Hashable, Sendable, Codable {
        /// Made by the schedule; governed by the policy's tiers or counts.
        case scheduled
        /// Made on request; carries its own retention (``RetentionPoint/retainUntil`` or the
        /// policy's ``RetentionPolicy/onDemandRetentionDays``) and is never counted by the rules.
        case onDemand
    }

    /// The times a point, its ``retainUntil`` and a stop-protection request may have: years 1
    /// to 9999 (what ISO 8601 writes with four digits). An evaluation refuses others with
    /// ``PolicyError/Code/invalidPoints``, so calendar arithmetic never meets a time it cannot
    /// represent (a point of the year 10²⁰ from a hostile or broken source, or NaN).
    public static let timeRange =
        Date(timeIntervalSince1970: -62_135_596_800)...Date(timeIntervalSince1970: 253_402_300_799)

    /// Whether `time` lies in ``timeRange``. NaN does not, although `timeRange.contains` says it
    /// does (`Date`'s `<=` is `!(>)`, true for NaN), so every check goes through this.
    static func isInTimeRange(_ time: Date) -> Bool {
        let seconds = time.timeIntervalSince1970
        return seconds >= timeRange.lowerBound.timeIntervalSince1970
            && seconds <= timeRange.upperBound.timeIntervalSince1970
    }

    /// A unique identifier within the evaluated set.
    public var id: String
    /// When the point was taken.
    public var time: Date
    /// Scheduled or on demand.
    public var kind: Kind
    /// Free-form tags, matched by ``CountRetention/keepTags``.
    public var tags: [String]
    /// A pinned (protected) point is never expired by any rule.
    public var isPinned: Bool
    /// For an on-demand point: when its own retention ends. `nil` means the policy's default.
    public var retainUntil: Date?
    /// The tiers recorded when the point was made (tiered mode). `nil` means "derive from the
    /// point's time under the current policy". Recording them keeps a later change to the tier
    /// rules (say, a new yearly day) from re-tagging old points, as Azure does; the tiers' lengths
    /// always come from the current policy.
    public var tiers: Set<RetentionTier>?

    /// Creates a point.
    public init(
        id: String, time: Date, kind: Kind = .scheduled, tags: [String] = [],
        isPinned: Bool = false, retainUntil: Date? = nil, tiers: Set<RetentionTier>? = nil
    ) {
        self.id = id
        self.time = time
        self.kind = kind
        self.tags = tags
        self.isPinned = isPinned
        self.retainUntil = retainUntil
        self.tiers = tiers
    }

    private enum Key: String, CodingKey {
        case id, time, kind, tags, isPinned, retainUntil, tiers
    }

    /// Decodes the JSON form; absent optional keys take their defaults.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        self.init(
            id: try c.decode(String.self, forKey: .id),
            time: try c.decode(Date.self, forKey: .time),
            kind: try c.decodeIfPresent(Kind.self, forKey: .kind) ?? .scheduled,
            tags: try c.decodeIfPresent([String].self, forKey: .tags) ?? [],
            isPinned: try c.decodeIfPresent(Bool.self, forKey: .isPinned) ?? false,
            retainUntil: try c.decodeIfPresent(Date.self, forKey: .retainUntil),
            tiers: try c.decodeIfPresent(Set<RetentionTier>.self, forKey: .tiers))
    }

    /// Whether the point has every tag of `set` (restic's rule: a set holding `""` matches a
    /// point without tags; an empty set matches every point).
    func hasTags(_ set: [String]) -> Bool {
        for tag in set {
            if tag.isEmpty && tags.isEmpty { return true }
            if !tags.contains(tag) { return false }
        }
        return true
    }
}
