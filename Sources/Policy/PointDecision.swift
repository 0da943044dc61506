import Foundation

/// What an evaluation decided for one point, and why.
public struct PointDecision: Hashable, Sendable, Codable {
    /// The decision.
    public enum Action: String, Hashable, Sendable, Codable {
        /// The point stays.
        case keep
        /// The point goes (merge-on-expire and GC happen in RecoveryChain).
        case expire
        /// Protection stopped with "delete data": the point is recoverable but not restorable
        /// until ``PointDecision/expiry``, then it goes.
        case softDeleted
    }

    /// The point's ``RetentionPoint/id``.
    public var pointID: String
    /// Keep, expire or soft-deleted.
    public var action: Action
    /// Why: for a kept point every rule that keeps it (restic's exact wording in count mode, e.g.
    /// `"daily snapshot"`, `"oldest monthly snapshot"`, `"within 1y2m"`, `"has tags [a, b]"`);
    /// for an expired point what ended it.
    public var reasons: [String]
    /// The tiers the point carries (tiered mode; empty otherwise).
    public var tiers: [RetentionTier]
    /// When the point expires (or expired) by time: the longest tier, the on-demand retention, or
    /// the purge after soft delete. `nil` when only counts decide (count modes) or nothing will
    /// (data retained). A latest point is kept past its expiry while it is the latest.
    public var expiry: Date?
    /// The restic counters after this point (restic mode, kept points only).
    public var counters: ForgetCounters?

    /// Whether the point stays.
    public var isKept: Bool { action == .keep }

    /// Creates a decision.
    public init(
        pointID: String, action: Action, reasons: [String], tiers: [RetentionTier] = [],
        expiry: Date? = nil, counters: ForgetCounters? = nil
    ) {
        self.pointID = pointID
        self.action = action
        self.reasons = reasons
        self.tiers = tiers
        self.expiry = expiry
        self.counters = counters
    }
}
