// A host-side agent protecting a two-disk VM for three simulated weeks with a fake clock: a
// database (application) and a file system quiesce participant, a daily schedule, a
// daily + weekly retention policy applied after every backup, and at the end a file-level read
// from an old point through the random-access reader — no full restore.
//
//   swift run vm-agent
import BlockSnap
import Foundation
import Synchronization

/// A database that flushes and freezes; on the days listed it fails to freeze, as a busy VSS
/// writer does, so those points are only file-system-consistent.
final class Database: QuiesceParticipant {
    let name = "database"
    let level = QuiesceLevel.application
    let failingDays: Set<Int>
    let day = Mutex(0)
    init(failingDays: Set<Int>) { self.failingDays = failingDays }
    struct Busy: Error, CustomStringConvertible {
        var description: String { "writer busy (timeout waiting for a checkpoint)" }
    }
    func freeze() async throws { if failingDays.contains(day.withLock { $0 }) { throw Busy() } }
    func thaw() async throws {}
}

/// fsfreeze on the guest's file systems.
struct FileSystemFreeze: QuiesceParticipant {
    let name = "fsfreeze"
    let level = QuiesceLevel.fileSystem
    func freeze() async throws {}
    func thaw() async throws {}
}

/// A VM's two disks in memory, with a "file" whose contents change every day.
struct VirtualMachine {
    var os = [UInt8](repeating: 0, count: 8 << 20)
    var data = [UInt8](repeating: 0, count: 16 << 20)
    static let fileOffset = 5 << 20 + 4096 * 3 + 100  // a file inside the data disk
    var rng: UInt64 = 42

    mutating func next() -> UInt64 {
        rng = rng &* 6364136223846793005 &+ 1442695040888963407
        return rng >> 11
    }

    mutating func install() {
        for i in 0..<(2 << 20) { os[i] = UInt8(truncatingIfNeeded: i % 251) }  // "system files"
        for i in 0..<(4 << 20) { data[i] = UInt8(truncatingIfNeeded: next()) }  // a database
    }

    /// A day of work: scattered database pages, a log append, and today's report file.
    mutating func work(day: Int) {
        for _ in 0..<40 {
            let page = Int(next() % UInt64(4 << 20 / 4096)) * 4096
            for k in 0..<64 { data[page + k] = UInt8(truncatingIfNeeded: next()) }
        }
        let log = (6 << 20) + day * 65536
        for k in 0..<65536 { os[log % os.count + k % (os.count - log % os.count)] = UInt8(ascii: "a") + UInt8(k % 26) }
        let report = Array("daily report for day \(day): all systems nominal\n".utf8)
        data.replaceSubrange(Self.fileOffset..<(Self.fileOffset + report.count), with: report)
    }
}

@main
struct VMAgent {
    static func main() async throws {
        let zone = TimeZone(identifier: "Europe/Berlin")!
        let schedule = try BackupSchedule(.daily(times: [TimeOfDay("02:00")]))
        let policy = RetentionPolicy(
            .tiered(TieredRetention(daily: .init(days: 7), weekly: .init(weeks: 4, weekdays: [.sunday]))),
            schedule: schedule, timeZone: try PolicyTimeZone("Europe/Berlin"))

        let chains = ChainStore(
            store: try await ChunkStore.create(on: MemoryBackend(), encryption: .passphrase("agent")))
        let database = Database(failingDays: [4, 11])
        var vm = VirtualMachine()
        vm.install()

        print(
            "Protecting vm1 (os 8 MiB + data 16 MiB): daily at 02:00 Europe/Berlin, keep dailies 7 days and Sunday points 4 weeks.\n"
        )
        print("day  run (UTC)          consistency   changed  stored     kept  expired")
        var clock = Date(timeIntervalSince1970: 1_794_000_000)  // the fake clock
        var reports: [PointID: String] = [:]
        for day in 1...21 {
            vm.work(day: day)
            database.day.withLock { $0 = day }
            let run = schedule.nextRun(after: clock, timeZone: zone)
            clock = run
            var request = BackupRequest(
                item: "vm1",
                disks: [
                    DiskInput(disk: 0, name: "os", source: MemoryDiskSource(bytes: vm.os)),
                    DiskInput(disk: 1, name: "data", source: MemoryDiskSource(bytes: vm.data)),
                ])
            request.participants = [database, FileSystemFreeze()]
            request.time = run
            request.blockSizeBytes = 16 * 1024
            let result = try await chains.backup(request)
            reports[result.point.id] = String(
                decoding: vm.data[VirtualMachine.fileOffset..<(VirtualMachine.fileOffset + 45)], as: UTF8.self)
            let forgotten = try await chains.forget(
                item: "vm1", policy: policy, now: run, timeZone: zone, dryRun: false)
            let local = run.formatted(
                .iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: false).timeZone(
                    separator: .omitted))
            let changed = result.point.disks.reduce(0) { $0 + $1.changedBlocks }
            let stored = result.point.disks.reduce(UInt64(0)) { $0 + $1.storedBytes }
            print(
                String(
                    format: "%3d  %@  %-12@  %7d  %7.1f KiB  %4d  %d", day, local,
                    result.point.consistency.rawValue as NSString, changed, Double(stored) / 1024,
                    forgotten.decisions.count - forgotten.expired.count, forgotten.expired.count))
            if let note = result.point.consistencyNote { print("     ↳ \(note)") }
        }

        print("\nPoints kept after three weeks, with the policy's reasons:")
        let points = try await chains.points(item: "vm1")
        let decisions = try policy.evaluate(
            points: points.map { RetentionPoint(id: $0.id.rawValue, time: $0.time) }, now: clock, timeZone: zone)
        for (point, decision) in zip(points, decisions) {
            let expiry = decision.expiry.map { $0.formatted(.iso8601.year().month().day()) } ?? "—"
            print(
                "  \(point.id)  \(point.consistency.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0))  until \(expiry)  \(decision.reasons.joined(separator: ", "))"
            )
        }

        // File-level recovery: read the report file of the oldest kept point straight from the
        // store, through the random-access reader.
        let oldest = points[0]
        let reader = try await chains.reader(item: "vm1", point: oldest.id, disk: 1)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 45, alignment: 1)
        defer { buffer.deallocate() }
        _ = try await reader.read(at: UInt64(VirtualMachine.fileOffset), into: buffer)
        let text = String(decoding: buffer, as: UTF8.self)
        print("\nFile-level read from \(oldest.id), disk 1 at offset \(VirtualMachine.fileOffset):")
        print(
            "  \"\(text.trimmingCharacters(in: .newlines))\"  \(text == reports[oldest.id] ? "(matches what the VM held that day ✔)" : "(MISMATCH ✘)")"
        )
        guard text == reports[oldest.id] else { exit(1) }
    }
}
