import ArgumentParser
import BlockSnap
import Foundation

struct ExpireCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "expire", abstract: "Expire one point (merge-on-expire).")

    @OptionGroup var options: StoreOptions
    @Option(name: .long, help: "The item.") var item: String
    @Option(name: .long, help: "The point to expire.") var point: String

    func run() async throws {
        let (options, item, point) = (options, item, point)
        await runCommand(json: options.json) {
            let store = try await options.open()
            try await ChainStore(store: store).expire(point, of: item)
            try await store.close()
            if options.json {
                struct Out: Encodable { var expired: String }
                try Output.json(Out(expired: point))
            } else {
                Output.line("expired \(point); run `blocksnap gc` to free its space")
            }
        }
    }
}
