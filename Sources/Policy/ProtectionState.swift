import Foundation

/// Whether a protected item is still under its policy, and if not, what happens to its points.
///
/// JSON:
/// ```json
/// {"state": "active"}
/// {"state": "retainData"}
/// {"state": "deleteData", "requestedAt": "2026-05-01T10:00:00Z", "softDeleteDays": 14}
/// ```
/// Resuming protection is setting the state back to `active`: the next evaluation applies the
/// policy again (points whose retention ran out meanwhile expire then).
public enum ProtectionState: Hashable, Sendable, Codable {
    /// The policy applies.
    case active
    /// Protection stopped, data retained: nothing expires any more; the chain stays restorable.
    case retainData
    /// Protection stopped, data deleted: every point that is not pinned is soft-deleted at
    /// `requestedAt` (recoverable, not restorable) and purged `softDeleteDays` days later.
    case deleteData(requestedAt: Date, softDeleteDays: Int)

    /// The default soft-delete period, in days.
    public static let defaultSoftDeleteDays = 14
    /// The allowed soft-delete period, in days.
    public static let softDeleteDaysRange = 14...180

    /// Stops protection and deletes data with the default soft-delete period.
    public static func deleteData(requestedAt: Date) -> ProtectionState {
        .deleteData(requestedAt: requestedAt, softDeleteDays: defaultSoftDeleteDays)
    }

    /// When soft-deleted points are purged, for ``deleteData(requestedAt:softDeleteDays:)``.
    public var purgeTime: Date? {
        guard case .deleteData(let at, let days) = self else { return nil }
        return at.addingTimeInterval(TimeInterval(days) * 86_400)
    }

    /// Checks the soft-delete period and the request time.
    /// - Throws: ``PolicyError/Code/outOfRange`` naming `protection.softDeleteDays` or
    ///   `protection.requestedAt` (a time outside ``RetentionPoint/timeRange``).
    public func validate() throws(PolicyError) {
        if case .deleteData(let requestedAt, let days) = self {
            try PolicyError.check(
                "protection.softDeleteDays", days, Self.softDeleteDaysRange, "days")
            if !RetentionPoint.isInTimeRange(requestedAt) {
                throw PolicyError(
                    .outOfRange,
                    "protection.requestedAt is \(requestedAt.timeIntervalSince1970) seconds since 1970, "
                        + "outside the years 1...9999",
                    field: "protection.requestedAt")
            }
        }
    }

    private enum Key: String, CodingKey { case state, requestedAt, softDeleteDays }

    /// Decodes the JSON form shown in the type's documentation.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        switch try c.decode(String.self, forKey: .state) {
        case "active": self = .active
        case "retainData": self = .retainData
        case "deleteData":
            self = .deleteData(
                requestedAt: try c.decode(Date.self, forKey: .requestedAt),
                softDeleteDays: try c.decodeWholeNumberIfPresent(forKey: .softDeleteDays)
                    ?? Self.defaultSoftDeleteDays)
        default:
            throw DecodingError.dataCorruptedError(
                forKey: .state, in: c,
                debugDescription: "state must be active, retainData or deleteData")
        }
    }

    /// Encodes the JSON form shown in the type's documentation.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        switch self {
        case .active: try c.encode("active", forKey: .state)
        case .retainData: try c.encode("retainData", forKey: .state)
        case .deleteData(let at, let days):
            try c.encode("deleteData", forKey: .state)
            try c.encode(at, forKey: .requestedAt)
            try c.encode(days, forKey: .softDeleteDays)
        }
    }
}
