import ArgumentParser
import BlockSnap
import Foundation

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "verify", abstract: "Read and check the store; report damaged points.")

    @OptionGroup var options: StoreOptions
    @Option(name: .long, help: "Only this item's points.") var item: String?
    @Option(name: .long, help: "Only this point (with --item).") var point: String?

    func run() async throws {
        let (options, item, point) = (options, item, point)
        await runCommand(json: options.json) {
            let store = try await options.open(lock: .none)
            let chains = ChainStore(store: store)
            var roots: [String]? = nil
            if let item {
                let points = try await chains.points(of: item).map(\.id).filter { point == nil || $0 == point }
                if let point, points.isEmpty { throw CLIError("notFound", "item \(item) has no point \(point)") }
                roots = points.map { "points/\(item)/\($0)" }
            } else if point != nil {
                throw CLIError("invalidArgument", "--point needs --item")
            }
            let report = try await store.verify(roots: roots)
            let damaged: [(item: String, point: String)] = report.damagedRoots.compactMap { name in
                let parts = name.split(separator: "/")
                guard parts.count == 3, parts[0] == "points" else { return nil }
                return (String(parts[1]), String(parts[2]))
            }
            if options.json {
                struct Damaged: Encodable { var item: String; var point: String }
                struct Out: Encodable { var ok: Bool; var damagedPoints: [Damaged]; var damagedObjects: Int }
                try Output.json(Out(ok: report.isClean, damagedPoints: damaged.map { Damaged(item: $0.item, point: $0.point) }, damagedObjects: report.damagedObjects.count))
            } else if report.isClean {
                Output.line("ok: \(report.checkedChunks) chunks checked, \(ByteSize.format(report.checkedBytes)) read, no damage")
            } else {
                Output.line("DAMAGED: \(report.damagedObjects.count) objects, \(report.damagedChunks.count) damaged and \(report.missingChunks.count) missing chunks")
                for d in damaged { Output.line("  point \(d.point) of \(d.item) is damaged") }
            }
            if !report.isClean { throw ExitCode(2) }
        }
    }
}
