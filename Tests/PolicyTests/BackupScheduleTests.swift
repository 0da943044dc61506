import Foundation
import Testing

@testable import Policy

@Suite struct BackupScheduleTests {
    func t(_ s: String) -> TimeOfDay { try! TimeOfDay(s) }

    /// Hand-worked next runs. Each row: schedule, zone, after, expected next run.
    @Test func nextRunTable() throws {
        let daily2 = try BackupSchedule(.daily(times: [t("02:00")]))
        let dailyTwice = try BackupSchedule(.daily(times: [t("14:00"), t("02:00")]))
        let daily0230 = try BackupSchedule(.daily(times: [t("02:30")]))
        let midnight = try BackupSchedule(.daily(times: [t("00:00")]))
        let enhanced4 = try BackupSchedule(.enhanced(everyHours: 4, start: t("08:00")))
        let enhanced8 = try BackupSchedule(.enhanced(everyHours: 8, start: t("20:00")))
        let thursdays = try BackupSchedule(.weekly(weekdays: [.thursday], times: [t("12:00")]))
        let sundays = try BackupSchedule(
            .weekly(weekdays: [.sunday, .wednesday], times: [t("23:30")]))
        let rows: [(BackupSchedule, TimeZone, Date, Date, String)] = [
            (daily2, utc, at(2024, 5, 1, 1, 59), at(2024, 5, 1, 2), "same day"),
            (daily2, utc, at(2024, 5, 1, 2), at(2024, 5, 2, 2), "strictly after"),
            (dailyTwice, utc, at(2024, 5, 1, 3), at(2024, 5, 1, 14), "second time of day"),
            // Spring gap: 02:00 does not exist on 2024-03-31 in Berlin → 03:00 CEST = 01:00Z.
            (daily2, berlin, at(2024, 3, 30, 3), at(2024, 3, 31, 1), "DST gap shifts forward"),
            (
                daily2, berlin, at(2024, 3, 31, 1), at(2024, 4, 1, 0),
                "day after the gap: 02:00 CEST"
            ),
            // Autumn overlap: 02:30 exists twice on 2024-10-27 → once, the first (CEST) = 00:30Z.
            (daily0230, berlin, at(2024, 10, 26, 12), at(2024, 10, 27, 0, 30), "overlap: first"),
            (daily0230, berlin, at(2024, 10, 27, 0, 30), at(2024, 10, 28, 1, 30), "overlap: once"),
            // New York: 2024-03-10 02:30 does not exist → 03:30 EDT = 07:30Z.
            (daily0230, newYork, at(2024, 3, 9, 12), at(2024, 3, 10, 7, 30), "NY gap"),
            (midnight, utc, at(2023, 12, 31, 23, 59), at(2024, 1, 1), "year end"),
            (midnight, utc, at(2024, 2, 28, 23), at(2024, 2, 29), "leap day"),
            (midnight, utc, at(2023, 2, 28, 23), at(2023, 3, 1), "no leap day"),
            (enhanced4, utc, at(2024, 5, 1, 9), at(2024, 5, 1, 12), "every 4 h"),
            (enhanced4, utc, at(2024, 5, 1, 21), at(2024, 5, 2, 0), "every 4 h wraps at midnight"),
            (enhanced8, utc, at(2024, 5, 1, 0, 30), at(2024, 5, 1, 4), "every 8 h from 20:00"),
            (thursdays, utc, at(2024, 2, 28, 12), at(2024, 2, 29, 12), "weekly on a leap day"),
            (thursdays, utc, at(2024, 2, 29, 12), at(2024, 3, 7, 12), "weekly: next week"),
            (
                sundays, newYork, at(2024, 11, 1), at(2024, 11, 4, 4, 30),
                "Sunday 23:30 EST after fall back"
            ),
        ]
        for (schedule, zone, after, expected, note) in rows {
            #expect(schedule.nextRun(after: after, timeZone: zone) == expected, "\(note)")
        }
    }

    /// A whole leap year of a daily 02:30 Berlin schedule: 366 runs, none lost to the gap,
    /// none doubled by the overlap; every run is 23, 24 or 25 hours after the previous one.
    @Test func yearOfDailyRunsAcrossDST() throws {
        let s = try BackupSchedule(.daily(times: [t("02:30")]))
        let runs = s.runs(
            from: wall(berlin, 2024, 1, 1, 0), to: wall(berlin, 2025, 1, 1, 0), timeZone: berlin)
        #expect(runs.count == 366)
        for (a, b) in zip(runs, runs.dropFirst()) {
            #expect([23.0, 24.0, 25.0].contains(b.timeIntervalSince(a) / 3600), "\(a) → \(b)")
        }
        var chained: [Date] = []
        var cursor = wall(berlin, 2024, 1, 1, 0)
        for _ in 0..<366 {
            cursor = s.nextRun(after: cursor, timeZone: berlin)
            chained.append(cursor)
        }
        #expect(chained == runs)
    }

    /// Enhanced every 4 h from 02:00 in Berlin on the gap day: 6 slots, the 02:00 slot at 03:00 CEST.
    @Test func enhancedOnTheGapDay() throws {
        let s = try BackupSchedule(.enhanced(everyHours: 4, start: t("02:00")))
        let runs = s.runs(from: at(2024, 3, 30, 23), to: at(2024, 3, 31, 22), timeZone: berlin)
        #expect(runs.count == 6)
        #expect(runs.first == at(2024, 3, 31, 1))
        #expect(
            s.timesOfDay.map(\.description) == [
                "02:00", "06:00", "10:00", "14:00", "18:00", "22:00",
            ])
    }

    /// The start window: default 2 h; configurable.
    @Test func startWindow() throws {
        let s = try BackupSchedule(.daily(times: [t("02:00")]))
        #expect(s.startWindow(forRunAt: at(2024, 1, 1, 2)).end == at(2024, 1, 1, 4))
        #expect(s.dueRun(at: at(2024, 1, 1, 3, 59), timeZone: utc) == at(2024, 1, 1, 2))
        #expect(s.dueRun(at: at(2024, 1, 1, 4, 1), timeZone: utc) == nil)
        #expect(s.dueRun(at: at(2024, 1, 1, 1, 59), timeZone: utc) == nil)
        let short = try BackupSchedule(.daily(times: [t("02:00")]), startWindowMinutes: 30)
        #expect(short.dueRun(at: at(2024, 1, 1, 2, 31), timeZone: utc) == nil)
        #expect(short.dueRun(at: at(2024, 1, 1, 2, 29), timeZone: utc) == at(2024, 1, 1, 2))
    }

    @Test func invalidSchedulesNameTheirField() {
        let cases: [(() throws(PolicyError) -> Void, String)] = [
            (
                { () throws(PolicyError) in
                    _ = try BackupSchedule(.enhanced(everyHours: 5, start: try TimeOfDay("00:00")))
                }, "schedule.everyHours"
            ),
            (
                { () throws(PolicyError) in _ = try BackupSchedule(.daily(times: [])) },
                "schedule.times (count)"
            ),
            (
                { () throws(PolicyError) in
                    _ = try BackupSchedule(.weekly(weekdays: [], times: [try TimeOfDay("01:00")]))
                }, "schedule.weekdays"
            ),
            (
                { () throws(PolicyError) in
                    _ = try BackupSchedule(
                        .daily(times: [try TimeOfDay("01:00")]), startWindowMinutes: 0)
                }, "schedule.startWindowMinutes"
            ),
            ({ () throws(PolicyError) in _ = try TimeOfDay("24:00") }, "hour"),
        ]
        for (make, field) in cases {
            #expect { try make() } throws: { ($0 as? PolicyError)?.field == field }
        }
    }

    @Test func scheduleJSONRoundTrips() throws {
        let json =
            #"{"frequency":"weekly","weekdays":["saturday","sunday"],"times":["23:30"],"startWindowMinutes":60}"#
        let s = try JSONDecoder().decode(BackupSchedule.self, from: Data(json.utf8))
        #expect(s.frequency == .weekly(weekdays: [.saturday, .sunday], times: [t("23:30")]))
        #expect(s.startWindowMinutes == 60)
        let again = try JSONDecoder().decode(BackupSchedule.self, from: JSONEncoder().encode(s))
        #expect(again == s)
        let enhanced = try JSONDecoder().decode(
            BackupSchedule.self,
            from: Data(#"{"frequency":"enhanced","everyHours":4,"start":"08:00"}"#.utf8))
        #expect(enhanced.startWindowMinutes == 120)
    }
}
