import ArgumentParser
import BlockSnap
import Foundation

struct RepairCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repair",
        abstract:
            "Rebuild the index from pack headers; set damaged packs aside; name the points that cannot be restored whole.",
        discussion: """
            Never deletes a point or a readable pack. Packs whose header is damaged are moved under
            quarantine/ in the store. Exits 0 when nothing is left damaged, 2 when some points
            cannot be restored whole (they are listed).
            """)

    @OptionGroup var options: StoreOptions
    @Flag(name: .long, help: "Report what would be done without changing anything.") var dryRun = false

    func run() async throws {
        let (options, dryRun) = (options, dryRun)
        await runCommand(json: options.json) {
            let store = try await options.open(lock: dryRun ? .none : .exclusive)
            let report: ChainRepairReport
            do {
                report = try await ChainStore(store: store).repair(dryRun: dryRun)
                try await store.close()
            } catch {
                try? await store.close()
                throw error
            }
            if options.json {
                struct Out: Encodable {
                    var rebuiltIndex: Bool
                    var indexObjects: Int
                    var removedIndexObjects: Int
                    var damagedIndexObjects: [String]
                    var damagedPacks: [String]
                    var damagedPoints: [PointReference]
                    var missingChunks: Int
                    var dryRun: Bool
                }
                try Output.json(
                    Out(
                        rebuiltIndex: report.store.rebuiltIndex, indexObjects: report.store.indexObjects,
                        removedIndexObjects: report.store.removedIndexObjects,
                        damagedIndexObjects: report.store.damagedIndexObjects.map(\.rawValue),
                        damagedPacks: report.store.damagedPacks.map(\.rawValue), damagedPoints: report.damagedPoints,
                        missingChunks: report.store.missingChunks.count, dryRun: dryRun))
            } else {
                let verb = dryRun ? "would rebuild" : "rebuilt"
                if report.store.rebuiltIndex {
                    Output.line(
                        "\(verb) the index: \(report.store.indexObjects) index objects written, \(report.store.removedIndexObjects) removed"
                    )
                } else {
                    Output.line("the index agrees with the pack headers; nothing to rebuild")
                }
                for pack in report.store.damagedPacks {
                    Output.line("  pack \(pack) is damaged\(dryRun ? "" : "; moved under quarantine/")")
                }
                for point in report.damagedPoints {
                    Output.line("  point \(point.point) of \(point.item) cannot be restored whole")
                }
            }
            if !report.damagedPoints.isEmpty || report.store.damagedRoots.count > report.damagedPoints.count {
                throw ExitCode(2)
            }
        }
    }
}
