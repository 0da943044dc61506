import ArgumentParser
import BlockSnap
import Foundation

struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stats", abstract: "Sizes of the store.")

    @OptionGroup var options: StoreOptions

    func run() async throws {
        let options = options
        await runCommand(json: options.json) {
            let store = try await options.open(lock: .none)
            let chains = ChainStore(store: store)
            let items = try await chains.items()
            var points = 0
            var damagedPoints = 0
            for item in items {
                let listing = try await chains.pointListing(item: item)
                points += listing.points.count + listing.damaged.count
                damagedPoints += listing.damaged.count
            }
            let s = store.statistics
            if options.json {
                struct Out: Encodable {
                    var items: Int; var points: Int; var damagedPoints: Int; var chunks: Int; var packs: Int;
                    var storedBytes: UInt64; var rawBytes: UInt64; var encrypted: Bool
                }
                try Output.json(
                    Out(
                        items: items.count, points: points, damagedPoints: damagedPoints, chunks: s.chunkCount,
                        packs: s.packCount, storedBytes: s.storedBytes, rawBytes: s.rawBytes,
                        encrypted: store.isEncrypted))
            } else {
                Output.line(
                    "\(items.count) items, \(points) points\(damagedPoints > 0 ? " (\(damagedPoints) damaged)" : ""); \(s.chunkCount) chunks in \(s.packCount) packs; \(ByteSize.format(s.storedBytes)) stored for \(ByteSize.format(s.rawBytes)) of blocks\(store.isEncrypted ? "; encrypted" : "")"
                )
            }
        }
    }
}
