import Foundation
import Testing

@testable import Policy

@Suite struct ProgrammerErrorTests {
    /// A schedule mutated past validation into one that never fires traps in `nextRun`.
    @Test func nextRunOnAnInvalidScheduleTraps() async {
        await #expect(processExitsWith: .failure) {
            var schedule = try! BackupSchedule(.daily(times: [try! TimeOfDay("02:00")]))
            schedule.frequency = .weekly(weekdays: [], times: [try! TimeOfDay("02:00")])
            _ = schedule.nextRun(
                after: Date(timeIntervalSince1970: 0), timeZone: TimeZone(secondsFromGMT: 0)!)
        }
    }
}
