import Foundation
import Testing

@testable import Policy

/// The non-overlapping (borg / Proxmox prune) variant, contrasted with restic.
@Suite struct NonOverlappingCountTests {
    func prune(_ points: [RetentionPoint], _ p: CountRetention) throws -> [PointDecision] {
        try RetentionPolicy(.nonOverlappingCount(p)).evaluate(
            points: points, now: at(2100, 1, 1), timeZone: utc)
    }

    /// Points D3 10:00, D3 08:00, D2 10:00, D1 10:00 with keep-last 2, keep-daily 2.
    /// restic: last keeps D3 10 and D3 08, daily keeps D3 10 and D2 → 3 kept.
    /// Non-overlapping: last keeps D3 10, D3 08; daily passes over day 3 (its newest is already
    /// kept), then keeps D2 (#1) and D1 (#2) → all 4 kept.
    @Test func rulesDoNotShareCounts() throws {
        let points = [
            point("d1", at(2024, 1, 1, 10)), point("d2", at(2024, 1, 2, 10)),
            point("d3a", at(2024, 1, 3, 8)), point("d3b", at(2024, 1, 3, 10)),
        ]
        let policy = CountRetention(keepLast: 2, keepDaily: 2)
        #expect(keptIDs(try forget(points, policy)) == ["d2", "d3a", "d3b"])
        let d = try prune(points, policy)
        #expect(keptIDs(d) == ["d1", "d2", "d3a", "d3b"])
        #expect(decision(d, "d3b").reasons == ["last #1"])
        #expect(decision(d, "d2").reasons == ["daily #1"])
        #expect(decision(d, "d1").reasons == ["daily #2"])
    }

    /// Daily for 10 days, keep-daily 3 and keep-weekly 2 (2024-01-01 is a Monday; Jan 10 a
    /// Wednesday): daily keeps Jan 10, 9, 8; weekly passes over week 2 (Jan 8–10, newest kept)
    /// and keeps Jan 7 (#1, week 1) — then runs out of weeks with count left, and the oldest
    /// (Jan 1) is kept as "oldest weekly".
    @Test func oldestWhenCountIsLeft() throws {
        let points = (1...10).map { point("j\($0)", at(2024, 1, $0, 12)) }
        let d = try prune(points, CountRetention(keepDaily: 3, keepWeekly: 2))
        #expect(keptIDs(d) == ["j1", "j7", "j8", "j9", "j10"])
        #expect(decision(d, "j7").reasons == ["weekly #1"])
        #expect(decision(d, "j1").reasons == ["oldest weekly"])
    }

    /// Tags and within come first and are not counted by the later rules.
    @Test func tagsAndWithinFirst() throws {
        let points = [
            point("a", at(2024, 1, 1), tags: ["keep"]), point("b", at(2024, 1, 2)),
            point("c", at(2024, 1, 3)),
        ]
        let d = try prune(
            points,
            CountRetention(
                keepLast: 1, keepWithin: KeepWithinDuration(days: 1), keepTags: [["keep"]]))
        #expect(decision(d, "a").reasons == ["has tags [keep]"])
        #expect(decision(d, "c").reasons == ["within 1d"])
        #expect(decision(d, "b").reasons == ["last #1"])
    }
}
