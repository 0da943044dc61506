import BlockStore
import Foundation
import RecoveryChain
import Synchronization
import Testing

/// S18 through a real backup: the point records the consistency the quiesce achieved and why it
/// is lower than asked for; thaw always runs; the snapshot is taken between freeze and thaw.
@Suite struct BackupConsistencyTests {
    func backup(_ participants: [ScriptedParticipant], timeout: Duration = .seconds(5)) async throws -> RecoveryPoint {
        let store = try await ChunkStore.create(on: MemoryBackend(), encryption: .none, options: testOptions())
        let chains = ChainStore(store: store, workerCount: 2)
        let disk = (0..<(16 * 4096)).map { UInt8(truncatingIfNeeded: $0 / 4096 + 1) }
        var request = BackupRequest(item: "vm", disks: [DiskInput(disk: 0, source: MemoryDiskSource(bytes: disk))])
        request.blockSizeBytes = 4096
        request.participants = participants
        request.participantTimeout = timeout
        request.takeSnapshot = {
            for p in participants { p.calls.withLock { $0.append("snapshot") } }
        }
        let result = try await chains.backup(request)
        // What was recorded is what is listed.
        let listed = try await chains.point(item: "vm", point: result.point.id)
        #expect(
            listed.consistency == result.point.consistency && listed.consistencyNote == result.point.consistencyNote)
        let scratch = ScratchDirectory()
        #expect(try await restoredBytes(chains, item: "vm", point: result.point.id, scratch: scratch) == disk)
        return listed
    }

    @Test func applicationParticipantsThatSucceedGiveAnApplicationConsistentPoint() async throws {
        let sql = ScriptedParticipant("sql", level: .application)
        let mail = ScriptedParticipant("mail", level: .application)
        let point = try await backup([sql, mail])
        #expect(point.consistency == .application)
        #expect(point.consistencyNote == nil)
        #expect(sql.recorded == ["prepare", "freeze", "snapshot", "thaw", "post"])
        #expect(mail.recorded == ["prepare", "freeze", "snapshot", "thaw", "post"])
    }

    @Test func aFailingParticipantGivesACrashConsistentPointWithANoteAndStillThaws() async throws {
        let fs = ScriptedParticipant("fsfreeze", level: .fileSystem, failIn: "freeze")
        let point = try await backup([fs])
        #expect(point.consistency == .crash)
        #expect(
            point.consistencyNote?.contains("fsfreeze failed to freeze") == true,
            "\(point.consistencyNote ?? "no note")")
        #expect(fs.recorded == ["prepare", "freeze", "snapshot", "thaw"], "thaw runs after a failed freeze")
    }

    @Test func aParticipantFailingToPrepareGivesACrashConsistentPoint() async throws {
        let sql = ScriptedParticipant("sql", level: .application, failIn: "prepare")
        let point = try await backup([sql])
        #expect(point.consistency == .crash)
        #expect(
            point.consistencyNote?.contains("sql failed to prepare") == true, "\(point.consistencyNote ?? "no note")")
        #expect(!sql.recorded.contains("freeze"), "a participant that did not prepare is not frozen: \(sql.recorded)")
    }

    @Test func aTimedOutParticipantGivesACrashConsistentPointWithoutHangingTheBackup() async throws {
        let fs = ScriptedParticipant("fsfreeze", level: .fileSystem, hangIn: "freeze")
        let point = try await backup([fs], timeout: .milliseconds(200))
        // No clock involved: the hung freeze call is still running when the backup is done.
        #expect(!fs.finished.contains("freeze"), "the backup waited for the hung participant")
        #expect(point.consistency == .crash)
        #expect(
            point.consistencyNote?.contains("did not finish within") == true, "\(point.consistencyNote ?? "no note")")
        #expect(fs.recorded.contains("thaw"), "thaw runs after a timed-out freeze: \(fs.recorded)")
        #expect(fs.recorded.contains("snapshot"))
    }

    @Test func aFailedSnapshotRecordsNoPointAndStillThaws() async throws {
        let store = try await ChunkStore.create(on: MemoryBackend(), encryption: .none, options: testOptions())
        let chains = ChainStore(store: store, workerCount: 2)
        let fs = ScriptedParticipant("fsfreeze", level: .fileSystem)
        var request = BackupRequest(
            item: "vm", disks: [DiskInput(disk: 0, source: MemoryDiskSource(bytes: [UInt8](repeating: 1, count: 8192)))]
        )
        request.blockSizeBytes = 4096
        request.participants = [fs]
        struct HostSnapshotFailed: Error {}
        request.takeSnapshot = { throw HostSnapshotFailed() }
        await #expect(throws: RecoveryChainError.self) { _ = try await chains.backup(request) }
        #expect(fs.recorded == ["prepare", "freeze", "thaw"])
        #expect(try await chains.points(item: "vm").isEmpty)
    }
}
