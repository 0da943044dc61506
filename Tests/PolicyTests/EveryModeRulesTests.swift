import Foundation
import Testing

@testable import Policy

/// Rules that hold in every mode: on-demand retention, latest point, pinned points, stop
/// protection with soft delete, resume.
@Suite struct EveryModeRulesTests {
    let daily7 = RetentionPolicy(.tiered(TieredRetention(daily: .init(days: 7))))
    let last1 = RetentionPolicy(.count(CountRetention(keepLast: 1)))

    /// On-demand default: 30 calendar days. Taken Jan 1 10:00 → kept until Jan 31 10:00.
    @Test func onDemandDefaultThirtyDays() throws {
        let points = [
            RetentionPoint(id: "od", time: at(2024, 1, 1, 10), kind: .onDemand),
            point("s", at(2024, 2, 15)),
        ]
        for policy in [daily7, last1] {
            let before = try policy.evaluate(
                points: points, now: at(2024, 1, 31, 9, 59), timeZone: utc)
            #expect(decision(before, "od").action == .keep)
            #expect(decision(before, "od").expiry == at(2024, 1, 31, 10))
            #expect(decision(before, "od").reasons == ["on-demand until 2024-01-31T10:00:00Z"])
            let after = try policy.evaluate(
                points: points, now: at(2024, 1, 31, 10), timeZone: utc)
            #expect(decision(after, "od").action == .expire)
        }
    }

    /// Own retention and a configured default.
    @Test func onDemandOwnRetention() throws {
        let points = [
            RetentionPoint(
                id: "own", time: at(2024, 1, 1), kind: .onDemand, retainUntil: at(2025, 1, 1)),
            RetentionPoint(id: "dflt", time: at(2024, 1, 1), kind: .onDemand),
            point("s", at(2024, 6, 1)),
        ]
        var policy = daily7
        policy.onDemandRetentionDays = 90
        let d = try policy.evaluate(
            points: points, now: at(2024, 3, 31), timeZone: utc)
        #expect(decision(d, "own").action == .keep)
        #expect(decision(d, "dflt").expiry == at(2024, 3, 31))
        #expect(decision(d, "dflt").action == .expire)
    }

    /// On-demand points are not counted: keep-last 1 keeps the newest *scheduled* point, and the
    /// newer on-demand point stays on its own retention.
    @Test func onDemandIsNotCounted() throws {
        let points = [
            point("s1", at(2024, 1, 1)), point("s2", at(2024, 1, 2)),
            RetentionPoint(id: "od", time: at(2024, 1, 3), kind: .onDemand),
        ]
        let d = try last1.evaluate(
            points: points, now: at(2024, 1, 4), timeZone: utc)
        #expect(keptIDs(d) == ["s2", "od"])
        #expect(decision(d, "s2").reasons == ["last snapshot"])
    }

    /// The latest point never expires while it is the latest, whatever its age.
    @Test func latestNeverExpires() throws {
        let d = try daily7.evaluate(
            points: [point("only", at(2020, 1, 1))], now: at(2024, 1, 1),
            timeZone: utc)
        #expect(decision(d, "only").action == .keep)
        #expect(decision(d, "only").reasons == ["latest point"])
        #expect(decision(d, "only").expiry == at(2020, 1, 8))
        let od = try daily7.evaluate(
            points: [RetentionPoint(id: "od", time: at(2020, 1, 1), kind: .onDemand)],
            now: at(2024, 1, 1), timeZone: utc)
        #expect(od[0].isKept)
    }

    /// Pinned points are kept by every mode, with "pinned" among the reasons.
    @Test func pinnedIsKept() throws {
        let points = [point("pin", at(2020, 1, 1), pinned: true), point("s", at(2024, 1, 1))]
        for policy in [
            daily7, last1, RetentionPolicy(.nonOverlappingCount(CountRetention(keepLast: 1))),
        ] {
            let d = try policy.evaluate(
                points: points, now: at(2024, 2, 1), timeZone: utc)
            #expect(decision(d, "pin").action == .keep)
            #expect(decision(d, "pin").reasons == ["pinned"])
        }
    }

    /// Stop protection, retain data: nothing expires.
    @Test func retainDataKeepsEverything() throws {
        var policy = daily7
        policy.protection = .retainData
        let points = (0..<10).map { point("p\($0)", at(2020, 1, 1 + $0)) }
        let d = try policy.evaluate(
            points: points, now: at(2030, 1, 1), timeZone: utc)
        #expect(d.allSatisfy { $0.isKept && $0.reasons == ["protection stopped, data retained"] })
    }

    /// Soft delete: requested May 1 10:00; with the default 14 days, points are soft-deleted until
    /// May 15 10:00 and expire from then on; pinned points stay; 30 days configurable.
    @Test func softDeleteTiming() throws {
        let requested = at(2024, 5, 1, 10)
        let points = [
            point("a", at(2024, 4, 1)), point("b", at(2024, 4, 30)),
            point("pin", at(2024, 3, 1), pinned: true),
        ]
        var policy = daily7
        policy.protection = .deleteData(requestedAt: requested)
        #expect(policy.protection.purgeTime == at(2024, 5, 15, 10))
        let during = try policy.evaluate(
            points: points, now: at(2024, 5, 15, 9, 59), timeZone: utc)
        #expect(decision(during, "a").action == .softDeleted)
        #expect(decision(during, "b").action == .softDeleted)  // even the latest
        #expect(decision(during, "a").expiry == at(2024, 5, 15, 10))
        #expect(decision(during, "pin").action == .keep)
        let after = try policy.evaluate(
            points: points, now: at(2024, 5, 15, 10), timeZone: utc)
        #expect(decision(after, "a").action == .expire)
        #expect(decision(after, "b").action == .expire)
        policy.protection = .deleteData(requestedAt: requested, softDeleteDays: 30)
        let longer = try policy.evaluate(
            points: points, now: at(2024, 5, 30), timeZone: utc)
        #expect(decision(longer, "a").action == .softDeleted)
        #expect(decision(longer, "a").expiry == at(2024, 5, 31, 10))
        policy.protection = .deleteData(requestedAt: requested, softDeleteDays: 13)
        #expect(throws: PolicyError.self) { try policy.validate() }
        policy.protection = .deleteData(requestedAt: requested, softDeleteDays: 181)
        #expect(throws: PolicyError.self) { try policy.validate() }
    }

    /// Resume (back to active) during soft delete re-applies the policy: within retention kept,
    /// past retention expired (but never the latest).
    @Test func resumeReappliesThePolicy() throws {
        var policy = daily7
        policy.protection = .deleteData(requestedAt: at(2024, 5, 1))
        let points = [
            point("a", at(2024, 4, 1)), point("b", at(2024, 5, 3)), point("c", at(2024, 5, 4)),
        ]
        let now = at(2024, 5, 5)
        #expect(
            keptIDs(try policy.evaluate(points: points, now: now, timeZone: utc))
                .isEmpty)
        policy.protection = .active
        #expect(
            keptIDs(try policy.evaluate(points: points, now: now, timeZone: utc))
                == ["b", "c"])
    }

    /// Invalid inputs: duplicate ids, an empty count policy, a bad on-demand default,
    /// within-period rules in the non-overlapping mode.
    @Test func invalidInputsAreRejected() throws {
        let dup = [point("x", at(2024, 1, 1)), point("x", at(2024, 1, 2))]
        #expect {
            try daily7.evaluate(points: dup, now: at(2024, 2, 1), timeZone: utc)
        } throws: { ($0 as? PolicyError)?.code == .invalidPoints }
        let cases: [(RetentionPolicy, String?)] = [
            (RetentionPolicy(.count(CountRetention())), nil),
            (RetentionPolicy(.count(CountRetention(keepDaily: -2))), "keepDaily"),
            (
                RetentionPolicy(.count(CountRetention(keepWithin: KeepWithinDuration(days: -1)))),
                "keepWithin"
            ),
            (
                RetentionPolicy(
                    .tiered(TieredRetention(daily: .init(days: 7))), onDemandRetentionDays: 0),
                "onDemandRetentionDays"
            ),
            (
                RetentionPolicy(
                    .nonOverlappingCount(
                        CountRetention(keepLast: 1, keepWithinDaily: KeepWithinDuration(days: 7)))),
                "keepWithinDaily"
            ),
        ]
        for (policy, field) in cases {
            #expect { try policy.validate() } throws: { ($0 as? PolicyError)?.field == field }
        }
        #expect(
            try daily7.evaluate(points: [], now: at(2024, 1, 1), timeZone: utc)
                .isEmpty)
    }

    /// The calendar overload uses the calendar's zone.
    @Test func calendarOverloadUsesItsZone() throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = berlin
        let points = [point("a", at(2024, 1, 1, 23, 30)), point("b", at(2024, 1, 2, 12))]
        let d = try RetentionPolicy(.count(CountRetention(keepDaily: 1))).evaluate(
            points: points, now: at(2024, 2, 1), calendar: calendar)
        #expect(keptIDs(d) == ["b"])
    }
}
