import ArgumentParser
import BlockSnap
import Foundation

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Read and check the store; report damaged points.")

    @OptionGroup var options: StoreOptions
    @Option(name: .long, help: "Only this item's points.") var item: ItemName?
    @Option(name: .long, help: "Only this point (with --item).") var point: PointID?
    @Option(
        name: .long,
        help:
            "Read the data of only slice N of M of the packs (e.g. 1/10); headers, index and points are still checked in full."
    )
    var readDataSubset: String?

    func run() async throws {
        let (options, item, point, readDataSubset) = (options, item, point, readDataSubset)
        await runCommand(json: options.json) {
            let subset = try readDataSubset.map { try PackSubset(parsing: $0) }
            if subset != nil && item != nil {
                throw CLIError(
                    "invalidArgument", "--read-data-subset verifies the whole store; it cannot be combined with --item")
            }
            let store = try await options.open(lock: .none)
            var roots: [String]? = nil
            if let item {
                // Damaged roots are listed too: verifying them is how they get reported.
                let listing = try await store.rootListing(prefix: "points/\(item)/")
                let names = (listing.records.map(\.name) + listing.damaged.map(\.name)).sorted()
                    .filter { point == nil || $0 == "points/\(item)/\(point!)" }
                if let point, names.isEmpty { throw CLIError("notFound", "item \(item) has no point \(point)") }
                roots = names
            } else if point != nil {
                throw CLIError("invalidArgument", "--point needs --item")
            }
            let report = try await store.verify(roots: roots, dataSubset: subset)
            let damaged: [(item: String, point: String)] = report.damagedRoots.compactMap { name in
                let parts = name.split(separator: "/")
                guard parts.count == 3, parts[0] == "points" else { return nil }
                return (String(parts[1]), String(parts[2]))
            }
            if options.json {
                struct Damaged: Encodable { var item: String; var point: String }
                struct Out: Encodable {
                    var ok: Bool
                    var damagedPoints: [Damaged]
                    var damagedObjects: Int
                    var damagedObjectKeys: [String]
                    var damagedChunks: Int
                    var missingChunks: Int
                    var indexMismatches: Int
                    var danglingIndexEntries: Int
                    var unindexedChunks: Int
                    var checkedPacks: Int
                    var packCount: Int
                }
                try Output.json(
                    Out(
                        ok: report.isClean, damagedPoints: damaged.map { Damaged(item: $0.item, point: $0.point) },
                        damagedObjects: report.damagedObjects.count,
                        damagedObjectKeys: report.damagedObjects.map(\.rawValue),
                        damagedChunks: report.damagedChunks.count, missingChunks: report.missingChunks.count,
                        indexMismatches: report.indexMismatches.count,
                        danglingIndexEntries: report.danglingIndexEntries.count,
                        unindexedChunks: report.unindexedChunks, checkedPacks: report.checkedPacks,
                        packCount: report.packCount))
            } else if report.isClean {
                let slice =
                    subset.map { " (data of pack slice \($0): \(report.checkedPacks) of \(report.packCount) packs)" }
                    ?? ""
                Output.line(
                    "ok: \(report.checkedChunks) chunks checked, \(ByteSize.format(report.checkedBytes)) read\(slice), no damage"
                )
            } else {
                Output.line(
                    "DAMAGED: \(report.damagedObjects.count) objects, \(report.damagedChunks.count) damaged and \(report.missingChunks.count) missing chunks, \(report.indexMismatches.count + report.danglingIndexEntries.count) index entries that disagree with the packs"
                )
                for key in report.damagedObjects.prefix(20) { Output.line("  object \(key) is damaged") }
                for d in damaged { Output.line("  point \(d.point) of \(d.item) is damaged") }
            }
            if !report.isClean { throw ExitCode(2) }
        }
    }
}
