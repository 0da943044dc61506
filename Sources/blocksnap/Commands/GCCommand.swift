import ArgumentParser
import BlockSnap
import Foundation

struct GCCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc", abstract: "Delete chunks no point reaches; rewrite mostly-empty packs.")

    @OptionGroup var options: StoreOptions
    @Flag(name: .long, help: "Report what would be freed without changing anything.") var dryRun = false

    func run() async throws {
        let (options, dryRun) = (options, dryRun)
        await runCommand(json: options.json) {
            let store = try await options.open(lock: .exclusive)
            let report: GarbageCollectionReport
            do {
                report = try await store.collectGarbage(dryRun: dryRun)
                try await store.close()
            } catch {
                try? await store.close()
                throw error
            }
            if options.json {
                struct Out: Encodable {
                    var liveChunks: Int; var deletedChunks: Int; var deletedPacks: Int; var repackedPacks: Int;
                    var freedBytes: Int64; var dryRun: Bool
                }
                try Output.json(
                    Out(
                        liveChunks: report.liveChunks, deletedChunks: report.deletedChunks,
                        deletedPacks: report.deletedPacks, repackedPacks: report.repackedPacks,
                        freedBytes: report.freedBytes, dryRun: dryRun))
            } else {
                Output.line(
                    "\(dryRun ? "would delete" : "deleted") \(report.deletedChunks) chunks (\(report.deletedPacks) packs deleted, \(report.repackedPacks) repacked), \(ByteSize.format(UInt64(max(0, report.freedBytes)))) freed; \(report.liveChunks) chunks live"
                )
            }
        }
    }
}
