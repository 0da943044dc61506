import Foundation
import Testing

@testable import Policy

/// UTC.
let utc = TimeZone(secondsFromGMT: 0)!
/// A zone with a spring gap (last Sunday of March, 02:00→03:00) and autumn overlap.
let berlin = TimeZone(identifier: "Europe/Berlin")!
/// A zone with a spring gap (second Sunday of March) and autumn overlap (first Sunday of November).
let newYork = TimeZone(identifier: "America/New_York")!

/// An instant given as UTC fields.
func at(_ y: Int, _ mo: Int, _ d: Int, _ h: Int = 0, _ mi: Int = 0, _ s: Int = 0) -> Date {
    Date(
        timeIntervalSince1970: TimeInterval(
            CivilDate(year: y, month: mo, day: d).dayNumber * 86_400 + h * 3600 + mi * 60 + s))
}

/// An instant given as wall-clock fields in `zone` (independent: uses Foundation's Calendar).
func wall(_ zone: TimeZone, _ y: Int, _ mo: Int, _ d: Int, _ h: Int, _ mi: Int = 0) -> Date {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = zone
    return calendar.date(
        from: DateComponents(year: y, month: mo, day: d, hour: h, minute: mi))!
}

/// A scheduled point.
func point(_ id: String, _ time: Date, tags: [String] = [], pinned: Bool = false) -> RetentionPoint {
    RetentionPoint(id: id, time: time, tags: tags, isPinned: pinned)
}

/// The ids kept, in input order.
func keptIDs(_ decisions: [PointDecision]) -> [String] {
    decisions.filter(\.isKept).map(\.pointID)
}

/// The decision for `id`.
func decision(_ decisions: [PointDecision], _ id: String) -> PointDecision {
    decisions.first { $0.pointID == id }!
}

/// Evaluates a restic count policy in `zone` (UTC by default) with `now` after every point.
func forget(
    _ points: [RetentionPoint], _ policy: CountRetention, now: Date = at(2100, 1, 1),
    zone: TimeZone = utc
) throws -> [PointDecision] {
    try RetentionPolicy(.count(policy)).evaluate(
        points: points, now: now,
        timeZone: zone)
}
