import Foundation
import Testing

@testable import Policy

@Suite struct PolicyJSONTests {
    /// The CLI's flat count-policy file decodes directly, with every key.
    @Test func flatCountPolicyDecodes() throws {
        let json = """
            {"keepLast": 3, "keepHourly": 24, "keepDaily": 7, "keepWeekly": 5, "keepMonthly": 12,
             "keepYearly": -1, "keepWithin": "1y2m3d4h", "keepWithinHourly": "2d",
             "keepWithinDaily": "7d", "keepWithinWeekly": "1m", "keepWithinMonthly": "1y",
             "keepWithinYearly": "75y", "keepTags": [["a","b"],["c"]], "timeZone": "+01:00"}
            """
        let p = try JSONDecoder().decode(CountRetention.self, from: Data(json.utf8))
        #expect(p.keepLast == 3 && p.keepHourly == 24 && p.keepDaily == 7 && p.keepWeekly == 5)
        #expect(p.keepMonthly == 12 && p.keepYearly == CountRetention.unlimited)
        #expect(p.keepWithin == KeepWithinDuration(years: 1, months: 2, days: 3, hours: 4))
        #expect(p.keepWithinHourly?.days == 2 && p.keepWithinDaily?.days == 7)
        #expect(p.keepWithinWeekly?.months == 1 && p.keepWithinMonthly?.years == 1)
        #expect(p.keepWithinYearly?.years == 75)
        #expect(p.keepTags == [["a", "b"], ["c"]])
        #expect(p.timeZone?.timeZone.secondsFromGMT(for: at(2024, 1, 1)) == 3600)
        let again = try JSONDecoder().decode(CountRetention.self, from: JSONEncoder().encode(p))
        #expect(again == p)
    }

    @Test(arguments: [
        ("Z", 0), ("UTC", 0), ("+01:00", 3600), ("-05:30", -19_800), ("+0200", 7200),
        ("Europe/Berlin", 3600),
    ])
    func timeZoneSpellings(spelling: String, offsetInJanuary: Int) throws {
        let p = try JSONDecoder().decode(
            CountRetention.self, from: Data(#"{"keepLast": 1, "timeZone": "\#(spelling)"}"#.utf8))
        #expect(p.timeZone?.timeZone.secondsFromGMT(for: at(2024, 1, 15)) == offsetInJanuary)
        #expect(p.timeZone?.spelling == spelling)
    }

    @Test func badCountFilesAreRejected() {
        for json in [
            #"{"keepDayly": 7}"#, #"{"keepWithin": "1w"}"#, #"{"timeZone": "Mars/Olympus"}"#,
            #"{"keepDaily": "lots"}"#, #"{"timeZone": "+25:00"}"#,
        ] {
            #expect(throws: DecodingError.self, "\(json)") {
                try JSONDecoder().decode(CountRetention.self, from: Data(json.utf8))
            }
        }
        let unlimited = try? JSONDecoder().decode(
            CountRetention.self, from: Data(#"{"keepDaily": "unlimited"}"#.utf8))
        #expect(unlimited?.keepDaily == -1)
    }

    /// The tiered form as documented in docs/POLICY.md.
    @Test func tieredPolicyDecodesAndRoundTrips() throws {
        let json = """
            {"schedule": {"frequency": "daily", "times": ["02:00"]},
             "timeZone": "Europe/Berlin",
             "tiered": {"daily": {"days": 30},
                        "weekly": {"weeks": 12, "weekdays": ["sunday"]},
                        "monthly": {"months": 60, "days": ["1", "last", "first sunday"]},
                        "yearly": {"years": 10, "months": ["december"], "days": ["last"]}},
             "onDemandRetentionDays": 45,
             "protection": {"state": "active"}}
            """
        let p = try JSONDecoder().decode(RetentionPolicy.self, from: Data(json.utf8))
        try p.validate()
        guard case .tiered(let t) = p.rules else {
            Issue.record("not tiered")
            return
        }
        #expect(t.monthly?.days == [.day(1), .last, .weekday(.first, .sunday)])
        #expect(t.yearly?.months == [.december])
        #expect(p.onDemandRetentionDays == 45)
        #expect(p.effectiveTimeZone(fallback: utc).identifier == "Europe/Berlin")
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        let again = try JSONDecoder().decode(RetentionPolicy.self, from: encoder.encode(p))
        #expect(again == p)
    }

    @Test func protectionAndPointsDecode() throws {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let policy = try decoder.decode(
            RetentionPolicy.self,
            from: Data(
                """
                {"count": {"keepLast": 2}, "protection": {"state": "deleteData", "requestedAt": "2026-05-01T10:00:00Z"}}
                """.utf8))
        #expect(
            policy.protection == .deleteData(requestedAt: at(2026, 5, 1, 10), softDeleteDays: 14))
        let points = try decoder.decode(
            [RetentionPoint].self,
            from: Data(
                """
                [{"id": "a", "time": "2026-03-29T02:00:00Z"},
                 {"id": "b", "time": "2026-03-30T02:00:00Z", "kind": "onDemand", "tags": ["x"], "isPinned": true,
                  "retainUntil": "2026-06-01T00:00:00Z", "tiers": ["daily"]}]
                """.utf8))
        #expect(points[0] == RetentionPoint(id: "a", time: at(2026, 3, 29, 2)))
        #expect(points[1].kind == .onDemand && points[1].isPinned && points[1].tiers == [.daily])
        #expect(throws: DecodingError.self) {
            try decoder.decode(
                RetentionPolicy.self,
                from: Data(#"{"count": {"keepLast": 1}, "tiered": {"daily": {"days": 7}}}"#.utf8))
        }
        #expect(throws: DecodingError.self) {
            try decoder.decode(DayRule.self, from: Data(#""31""#.utf8))
        }
    }
}
