import Foundation
import Synchronization
import Testing

@testable import RecoveryChain

/// A participant that records its calls and fails or hangs where told.
final class ScriptedParticipant: QuiesceParticipant {
    let name: String
    let level: QuiesceLevel
    let failIn: String?
    let hangIn: String?
    let calls = Mutex<[String]>([])
    /// Phases whose call has returned (a hung phase never appears here while it hangs).
    let returned = Mutex<[String]>([])

    init(_ name: String, level: QuiesceLevel, failIn: String? = nil, hangIn: String? = nil) {
        self.name = name
        self.level = level
        self.failIn = failIn
        self.hangIn = hangIn
    }

    struct Failure: Error {}

    private func step(_ phase: String) async throws {
        calls.withLock { $0.append(phase) }
        if hangIn == phase {
            // Ignores cancellation on purpose: a hung writer must not hang the backup. It waits on
            // a task that is not cancelled with it (a loop around a cancelled `Task.sleep` would
            // spin and starve the other tests of the cooperative pool).
            await Task.detached { try? await Task.sleep(for: .seconds(600)) }.value
        }
        defer { returned.withLock { $0.append(phase) } }
        if failIn == phase { throw Failure() }
    }

    func prepare() async throws { try await step("prepare") }
    func freeze() async throws { try await step("freeze") }
    func thaw() async throws { try await step("thaw") }
    func postSnapshot() async throws { try await step("post") }
    var recorded: [String] { calls.withLock { $0 } }
    var finished: [String] { returned.withLock { $0 } }
}

@Suite struct QuiesceTests {
    @Test func allParticipantsSucceedingGiveApplicationConsistency() async throws {
        let app = ScriptedParticipant("sql", level: .application)
        let fs = ScriptedParticipant("fsfreeze", level: .fileSystem)
        let snapshots = Mutex(0)
        let outcome = try await QuiesceCoordinator(participants: [app, fs], phaseTimeout: .seconds(5)).run {
            snapshots.withLock { $0 += 1 }
        }
        #expect(outcome.consistency == .application)
        #expect(outcome.note == nil)
        #expect(snapshots.withLock { $0 } == 1)
        #expect(app.recorded == ["prepare", "freeze", "thaw", "post"])
    }

    @Test func aFailingApplicationFallsBackToFileSystemAndStillThaws() async throws {
        let app = ScriptedParticipant("sql", level: .application, failIn: "freeze")
        let fs = ScriptedParticipant("fsfreeze", level: .fileSystem)
        let outcome = try await QuiesceCoordinator(participants: [app, fs], phaseTimeout: .seconds(5)).run {}
        #expect(outcome.consistency == .fileSystem)
        #expect(outcome.note?.contains("sql failed to freeze") == true)
        #expect(app.recorded.contains("thaw"), "thaw always runs for a participant that tried to freeze")
        #expect(fs.recorded == ["prepare", "freeze", "thaw", "post"])
    }

    @Test func aTimedOutParticipantGivesCrashConsistencyWithoutHanging() async throws {
        let fs = ScriptedParticipant("fsfreeze", level: .fileSystem, hangIn: "freeze")
        let outcome = try await QuiesceCoordinator(participants: [fs], phaseTimeout: .milliseconds(200)).run {}
        // No clock involved: the hung freeze call is still running when the coordinator is done.
        #expect(!fs.finished.contains("freeze"), "the coordinator waited for the hung participant")
        #expect(outcome.consistency == .crash)
        #expect(outcome.note?.contains("did not finish within") == true)
        #expect(fs.recorded.contains("thaw"))
    }

    @Test func noParticipantsMeansCrashConsistent() async throws {
        let outcome = try await QuiesceCoordinator(participants: [], phaseTimeout: .seconds(1)).run {}
        #expect(outcome.consistency == .crash)
    }

    @Test func aFailedSnapshotFailsTheCallAfterThawing() async throws {
        let fs = ScriptedParticipant("fsfreeze", level: .fileSystem)
        struct SnapshotFailed: Error {}
        await #expect(throws: SnapshotFailed.self) {
            _ = try await QuiesceCoordinator(participants: [fs], phaseTimeout: .seconds(1)).run {
                throw SnapshotFailed()
            }
        }
        #expect(fs.recorded == ["prepare", "freeze", "thaw"])
    }
}
