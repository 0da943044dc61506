import BlockStoreTesting
import Foundation
import Testing

@testable import Policy

/// Every number a policy file or a point carries is range-checked with an error naming its
/// field, and no value, however large, negative or odd, makes an evaluation trap (issue 13:
/// `"keepWithin": "300000000000y"` killed `blocksnap prune` with an overflow trap).
@Suite struct PolicyRangeTests {
    /// The policy error behind whatever decoding `json` as `T` threw (a `DecodingError` carrying
    /// it, or a `PolicyError` thrown directly), or nil when it decodes.
    func decodingError<T: Decodable>(
        _ decodable: T.Type, _ json: String, dates: JSONDecoder.DateDecodingStrategy = .iso8601
    ) -> PolicyError? {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = dates
        do {
            _ = try decoder.decode(decodable, from: Data(json.utf8))
            return nil
        } catch let error as DecodingError {
            return PolicyError(error)
        } catch let error as PolicyError {
            return error
        } catch {
            Issue.record("\(json): unexpected \(type(of: error)) \(error)")
            return nil
        }
    }

    /// The error validating `policy` throws, or nil.
    func validationError(_ policy: RetentionPolicy) -> PolicyError? {
        do {
            try policy.validate()
            return nil
        } catch {
            return error
        }
    }

    /// The issue's reproduction, in both JSON forms the CLI reads: the error is a PolicyError
    /// naming `keepWithin`, whether it comes straight from the parser or through a decoder.
    @Test func anAbsurdKeepWithinIsOutOfRangeNamingTheField() throws {
        for json in [
            #"{"keepWithin": "300000000000y"}"#, #"{"keepWithin": "1y99999999999999999999999d"}"#,
            #"{"keepWithin": "-1d"}"#, #"{"keepWithin": "10001y"}"#,
        ] {
            let error = try #require(decodingError(CountRetention.self, json), "\(json) decoded")
            #expect(error.code == .outOfRange, "\(json): \(error)")
            #expect(error.field == "keepWithin", "\(json): \(error)")
            #expect(error.message.contains("keepWithin"), "\(json): \(error.message)")
        }
        let nested = try #require(
            decodingError(RetentionPolicy.self, #"{"count": {"keepWithinDaily": "300000000000y"}}"#))
        #expect(nested.code == .outOfRange && nested.field == "keepWithinDaily", "\(nested)")
        #expect {
            try KeepWithinDuration("300000000000y")
        } throws: { ($0 as? PolicyError)?.field == "keepWithin" && ($0 as? PolicyError)?.code == .outOfRange }
        #expect(decodingError(CountRetention.self, #"{"keepWithin": "1w"}"#)?.code == .invalidValue)
    }

    /// Each unit's bound is inclusive: the largest value parses, one more does not.
    @Test func durationBoundsAreInclusive() throws {
        let bounds: [(String, ClosedRange<Int>)] = [
            ("y", KeepWithinDuration.yearsRange), ("m", KeepWithinDuration.monthsRange),
            ("d", KeepWithinDuration.daysRange), ("h", KeepWithinDuration.hoursRange),
        ]
        for (unit, range) in bounds {
            let largest = try KeepWithinDuration("\(range.upperBound)\(unit)", field: "keepWithinYearly")
            #expect(throws: Never.self) { try largest.validate(field: "keepWithinYearly") }
            #expect {
                try KeepWithinDuration("\(range.upperBound + 1)\(unit)", field: "keepWithinYearly")
            } throws: { ($0 as? PolicyError)?.field == "keepWithinYearly" }
        }
    }

    /// Durations built in code skip the parser; validation and evaluation still catch them,
    /// naming the field, instead of overflowing in calendar arithmetic.
    @Test func programmaticDurationsAreValidatedBeforeArithmetic() {
        let huge = [
            KeepWithinDuration(years: Int.max), KeepWithinDuration(months: Int.min),
            KeepWithinDuration(days: 3_660_001), KeepWithinDuration(hours: Int.max / 2),
        ]
        let points = [point("a", at(2024, 1, 1)), point("b", at(2024, 6, 1))]
        for duration in huge {
            for (field, policy) in [
                ("keepWithin", CountRetention(keepWithin: duration)),
                ("keepWithinHourly", CountRetention(keepWithinHourly: duration)),
                ("keepWithinYearly", CountRetention(keepWithinYearly: duration)),
            ] {
                let error = validationError(RetentionPolicy(.count(policy)))
                #expect(
                    error?.code == .outOfRange && error?.field == field, "\(duration): \(String(describing: error))")
                #expect {
                    try RetentionPolicy(.nonOverlappingCount(CountRetention(keepWithin: duration))).evaluate(
                        points: points, now: at(2025, 1, 1), timeZone: utc)
                } throws: { ($0 as? PolicyError)?.field == "keepWithin" }
            }
        }
    }

    /// The largest durations allowed, applied at the ends of the time range in zones on both
    /// sides of UTC, evaluate without trapping: the bounds leave the arithmetic room.
    @Test func theLargestDurationsEvaluateAtTheEndsOfTime() throws {
        let largest = CountRetention(
            keepLast: CountRetention.countRange.upperBound,
            keepWithin: KeepWithinDuration(years: 10_000, months: 120_000, days: 3_660_000, hours: 87_840_000),
            keepWithinHourly: KeepWithinDuration(hours: 87_840_000),
            keepWithinYearly: KeepWithinDuration(years: 10_000))
        let points = [
            point("first", RetentionPoint.timeRange.lowerBound),
            point("mid", at(2024, 1, 1)),
            point("last", RetentionPoint.timeRange.upperBound),
        ]
        for zone in [utc, berlin, TimeZone(secondsFromGMT: -12 * 3600)!, TimeZone(secondsFromGMT: 14 * 3600)!] {
            let decisions = try RetentionPolicy(.count(largest)).evaluate(
                points: points, now: RetentionPoint.timeRange.upperBound, timeZone: zone)
            #expect(keptIDs(decisions) == ["first", "mid", "last"], "\(zone.identifier)")
        }
        let tiers = TieredRetention(
            daily: .init(days: 9999), weekly: .init(weeks: 5163, weekdays: [.sunday]),
            monthly: .init(months: 1188, days: [.last]), yearly: .init(years: 99, months: [.december], days: [.last]))
        let decisions = try RetentionPolicy(.tiered(tiers)).evaluate(
            points: points, now: RetentionPoint.timeRange.upperBound, timeZone: utc)
        #expect(decisions.count == 3)
    }

    /// Counts: −1…a million; past that, below −1, or not a whole number, an error names the count.
    @Test func countsAreRangeCheckedAndNamed() throws {
        for name in ["keepLast", "keepHourly", "keepDaily", "keepWeekly", "keepMonthly", "keepYearly"] {
            for (value, code) in [
                ("1000001", PolicyError.Code.outOfRange), ("-2", .outOfRange),
                ("9223372036854775807", .outOfRange), ("1e30", .invalidValue), ("3.5", .invalidValue),
                ("\"lots\"", .invalidValue), ("99999999999999999999999", .invalidValue),
            ] {
                let json = "{\"\(name)\": \(value)}"
                let error: PolicyError?
                if let decodeError = decodingError(CountRetention.self, json) {
                    error = decodeError
                } else {
                    let policy = try JSONDecoder().decode(CountRetention.self, from: Data(json.utf8))
                    error = validationError(RetentionPolicy(.count(policy)))
                }
                #expect(error?.code == code && error?.field == name, "\(json): \(String(describing: error))")
                #expect(error?.message.contains(name) == true, "\(json): \(String(describing: error))")
            }
            let largest = try JSONDecoder().decode(CountRetention.self, from: Data("{\"\(name)\": 1000000}".utf8))
            #expect(validationError(RetentionPolicy(.count(largest))) == nil)
        }
    }

    /// Tier lengths and the on-demand default: numbers past Int name their JSON path, numbers in
    /// Int but out of range name the field, and `expiry(of:)` on an unvalidated tier returns nil
    /// instead of overflowing.
    @Test func tierLengthsAndDaysAreRangeChecked() throws {
        let path = try #require(
            decodingError(RetentionPolicy.self, #"{"tiered": {"daily": {"days": 1e30}}}"#))
        #expect(path.field == "tiered.daily.days", "\(path)")
        for (json, field) in [
            (#"{"tiered": {"daily": {"days": 99999999999}}}"#, "daily.days"),
            (#"{"tiered": {"weekly": {"weeks": -3, "weekdays": ["sunday"]}}}"#, "weekly.weeks"),
            (#"{"tiered": {"monthly": {"months": 9223372036854775807, "days": ["1"]}}}"#, "monthly.months"),
            (#"{"tiered": {"yearly": {"years": 100, "months": ["may"], "days": ["1"]}}}"#, "yearly.years"),
            (#"{"tiered": {"daily": {"days": 7}}, "onDemandRetentionDays": 36501}"#, "onDemandRetentionDays"),
            (
                #"{"tiered": {"daily": {"days": 7}}, "protection": {"state": "deleteData", "requestedAt": "2026-01-01T00:00:00Z", "softDeleteDays": 9223372036854775807}}"#,
                "protection.softDeleteDays"
            ),
        ] {
            let policy = try JSONDecoder.iso.decode(RetentionPolicy.self, from: Data(json.utf8))
            let error = validationError(policy)
            #expect(error?.code == .outOfRange && error?.field == field, "\(json): \(String(describing: error))")
        }
        let unchecked = TieredRetention(
            daily: .init(days: Int.max), weekly: .init(weeks: Int.max, weekdays: [.monday]),
            monthly: .init(months: Int.min, days: [.last]),
            yearly: .init(years: Int.max / 6, months: [.may], days: [.last]))
        for tier in RetentionTier.allCases {
            #expect(unchecked.expiry(of: tier, forPointAt: at(2024, 1, 1), timeZone: utc) == nil, "\(tier)")
            #expect(
                TieredRetention(daily: .init(days: 7)).expiry(
                    of: .daily, forPointAt: Date(timeIntervalSince1970: 1e200), timeZone: utc) == nil)
        }
    }

    /// Point times come from stores and hosts; one outside the years 1…9999 (or NaN) is refused
    /// as invalidPoints naming the field, never converted to a calendar date.
    @Test func pointTimesOutsideTheYearsOneToNineThousandNineHundredNinetyNineAreRefused() throws {
        let policies = [
            RetentionPolicy(.count(CountRetention(keepDaily: 3, keepWithin: KeepWithinDuration(days: 2)))),
            RetentionPolicy(.tiered(TieredRetention(daily: .init(days: 7)))),
        ]
        let bad: [(RetentionPoint, String)] = [
            (point("far", Date(timeIntervalSince1970: 1e300)), "time"),
            (point("nan", Date(timeIntervalSince1970: .nan)), "time"),
            (point("before", Date(timeIntervalSince1970: -1e15)), "time"),
            (
                RetentionPoint(
                    id: "od", time: at(2024, 1, 1), kind: .onDemand, retainUntil: Date(timeIntervalSince1970: 1e200)),
                "retainUntil"
            ),
        ]
        for policy in policies {
            for (p, field) in bad {
                #expect {
                    try policy.evaluate(points: [point("ok", at(2024, 2, 1)), p], now: at(2024, 3, 1), timeZone: utc)
                } throws: { error in
                    let e = error as? PolicyError
                    return e?.code == .invalidPoints && e?.field == field && e?.message.contains(p.id) == true
                }
            }
        }
        for now in [Date(timeIntervalSince1970: .nan), Date(timeIntervalSince1970: 1e300)] {
            for policy in policies {
                #expect {
                    try policy.evaluate(points: [point("ok", at(2024, 2, 1))], now: now, timeZone: utc)
                } throws: { error in
                    (error as? PolicyError)?.code == .invalidPoints && (error as? PolicyError)?.field == "now"
                }
            }
        }
        let far = #"{"tiered": {"daily": {"days": 7}}, "protection": {"state": "deleteData", "requestedAt": 1e300}}"#
        let policy = try JSONDecoder.seconds.decode(RetentionPolicy.self, from: Data(far.utf8))
        #expect(validationError(policy)?.field == "protection.requestedAt")
        #expect(throws: PolicyError.self) {
            try policy.evaluate(points: [point("a", at(2024, 1, 1))], now: at(2024, 3, 1), timeZone: utc)
        }
    }

    /// A number that is not a whole Int (a fraction, 1e30, too many digits), which JSONDecoder
    /// reports as "not valid JSON" without a place, names its field wherever it is.
    @Test func numbersThatAreNotWholeIntsNameTheirPath() throws {
        let cases: [(String, String)] = [
            (#"{"tiered": {"daily": {"days": 1.5}}}"#, "tiered.daily.days"),
            (#"{"tiered": {"weekly": {"weeks": 1e300, "weekdays": ["sunday"]}}}"#, "tiered.weekly.weeks"),
            (#"{"tiered": {"monthly": {"months": 99999999999999999999, "days": ["1"]}}}"#, "tiered.monthly.months"),
            (#"{"tiered": {"yearly": {"years": "ten", "months": ["may"], "days": ["1"]}}}"#, "tiered.yearly.years"),
            (#"{"tiered": {"daily": {"days": 7}}, "onDemandRetentionDays": 1e30}"#, "onDemandRetentionDays"),
            (
                #"{"tiered": {"daily": {"days": 7}}, "protection": {"state": "deleteData", "requestedAt": "2026-01-01T00:00:00Z", "softDeleteDays": 0.5}}"#,
                "protection.softDeleteDays"
            ),
            (
                #"{"tiered": {"daily": {"days": 7}}, "schedule": {"frequency": "enhanced", "everyHours": 4.5, "start": "02:00"}}"#,
                "schedule.everyHours"
            ),
        ]
        for (json, field) in cases {
            let error = try #require(decodingError(RetentionPolicy.self, json), "\(json) decoded")
            #expect(error.code == .invalidValue && error.field == field, "\(json): \(error)")
            #expect(error.message.contains(field), "\(json): \(error.message)")
        }
        // Whole numbers still decode, and an absent or null optional one takes its default.
        let fine = #"{"tiered": {"daily": {"days": 7}}, "onDemandRetentionDays": null}"#
        let policy = try JSONDecoder.iso.decode(RetentionPolicy.self, from: Data(fine.utf8))
        #expect(policy.onDemandRetentionDays == RetentionPolicy.defaultOnDemandRetentionDays)
    }

    /// A schedule mutated past validation neither overflows nor builds an inverted range in the
    /// functions that do arithmetic on its numbers.
    @Test func mutatedScheduleNumbersDoNotTrap() throws {
        var schedule = try BackupSchedule(.enhanced(everyHours: 4, start: try TimeOfDay("01:00")))
        for hours in [-5, 0, Int.min, Int.max] {
            schedule.frequency = .enhanced(everyHours: hours, start: try TimeOfDay("01:00"))
            #expect(schedule.timesOfDay.count <= 24)
            #expect(throws: PolicyError.self) { try schedule.validate() }
        }
        schedule.startWindowMinutes = Int.max
        #expect(schedule.startWindow(forRunAt: at(2024, 1, 1)).duration > 0)
        #expect(
            decodingError(
                BackupSchedule.self,
                #"{"frequency": "daily", "times": ["02:00"], "startWindowMinutes": 9223372036854775807}"#)?.field
                == "schedule.startWindowMinutes")
        #expect(
            decodingError(
                BackupSchedule.self, #"{"frequency": "enhanced", "everyHours": 99999999999, "start": "02:00"}"#)?.field
                == "schedule.everyHours")
    }

    /// Seeded sweep: any count and any duration part, from the whole Int range and near the
    /// bounds, either validates and evaluates or fails validation naming its field: never a trap.
    @Test(arguments: [UInt64(13), 1313, 131_313])
    func randomNumbersEitherValidateOrNameTheirField(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        func number() -> Int {
            switch rng.next() % 4 {
            case 0: return Int(bitPattern: UInt(rng.next()))
            case 1: return Int(rng.next() % 2_000_000) - 1000
            case 2: return 1_000_000 + Int(rng.next() % 3) - 1
            default: return [0, -1, -2, Int.max, Int.min, 10_000, 10_001, 87_840_000, 87_840_001][Int(rng.next() % 9)]
            }
        }
        let points = (0..<40).map { k in point("p\(k)", at(2023, 1, 1).addingTimeInterval(Double(k) * 86_400 * 9.5)) }
        for round in 0..<300 {
            let duration = KeepWithinDuration(years: number(), months: number(), days: number(), hours: number())
            let counts = (0..<6).map { _ in rng.next() % 2 == 0 ? number() : Int(rng.next() % 5) }
            let policy = CountRetention(
                keepLast: counts[0], keepHourly: counts[1], keepDaily: counts[2], keepWeekly: counts[3],
                keepMonthly: counts[4], keepYearly: counts[5],
                keepWithin: rng.next() % 2 == 0 ? duration : nil,
                keepWithinWeekly: rng.next() % 2 == 0 ? duration : nil)
            let context = "seed \(seed) round \(round): \(policy)"
            do {
                let decisions = try RetentionPolicy(.count(policy)).evaluate(
                    points: points, now: at(2024, 2, 1), timeZone: berlin)
                #expect(decisions.count == points.count, "\(context)")
                // It validated, so every number was in range.
                #expect(policy.counts.allSatisfy { CountRetention.countRange.contains($0.value) }, "\(context)")
            } catch {
                #expect(error.code == .outOfRange || error.code == .missingValue, "\(context): \(error)")
                if error.code == .outOfRange {
                    let field = try #require(error.field, "\(context)")
                    #expect(error.message.contains(field), "\(context): \(error)")
                }
            }
        }
    }
}

extension JSONDecoder {
    /// A decoder reading ISO 8601 dates.
    static var iso: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }

    /// A decoder reading dates as seconds since 1970 (which can name any instant).
    static var seconds: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        return decoder
    }
}
