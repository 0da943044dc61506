import ArgumentParser
import BlockSnap
import Foundation

struct ExpireCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "expire", abstract: "Expire one point (merge-on-expire).")

    @OptionGroup var options: StoreOptions
    @Option(name: .long, help: "The item.") var item: ItemName
    @Option(name: .long, help: "The point to expire.") var point: PointID
    @Flag(
        name: .long,
        help: "Remove a point that `list` reports as damaged (it cannot be read, so it cannot expire normally).")
    var damaged = false

    func run() async throws {
        let (options, item, point, damaged) = (options, item, point, damaged)
        await runCommand(json: options.json) {
            let store = try await options.open()
            do {
                if damaged {
                    try await ChainStore(store: store).removeDamagedPoint(item: item, point: point)
                } else {
                    try await ChainStore(store: store).expire(item: item, point: point)
                }
            } catch {
                try? await store.close()
                throw error
            }
            try await store.close()
            if options.json {
                struct Out: Encodable { var expired: PointID }
                try Output.json(Out(expired: point))
            } else {
                Output.line("expired \(point); run `blocksnap gc` to free its space")
            }
        }
    }
}
