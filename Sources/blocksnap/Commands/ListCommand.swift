import ArgumentParser
import BlockSnap
import Foundation

struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List items and their recovery points.")

    @OptionGroup var options: StoreOptions

    @Option(name: .long, help: "Only this item.")
    var item: ItemName?

    func run() async throws {
        let (options, only) = (options, item)
        await runCommand(json: options.json) {
            let store = try await options.open(lock: .none)
            let chains = ChainStore(store: store)
            let items: [ItemName]
            if let only { items = [only] } else { items = try await chains.items() }
            struct PointOut: Encodable {
                var point: PointID
                var time: String
                var kind: String
                var consistency: String
                var introducedBlocks: Int
                var introducedBytes: UInt64
                var expires: String?
                enum CodingKeys: String, CodingKey {
                    case point, time, kind, consistency, introducedBlocks, introducedBytes, expires
                }
                func encode(to encoder: any Encoder) throws {
                    var c = encoder.container(keyedBy: CodingKeys.self)
                    try c.encode(point, forKey: .point)
                    try c.encode(time, forKey: .time)
                    try c.encode(kind, forKey: .kind)
                    try c.encode(consistency, forKey: .consistency)
                    try c.encode(introducedBlocks, forKey: .introducedBlocks)
                    try c.encode(introducedBytes, forKey: .introducedBytes)
                    try c.encode(expires, forKey: .expires)  // null when none
                }
            }
            // A point that cannot be read is listed as damaged, never left out.
            struct DamagedOut: Encodable { var point: PointID; var reason: String }
            struct ItemOut: Encodable { var item: ItemName; var points: [PointOut]; var damaged: [DamagedOut] }
            var out: [ItemOut] = []
            for item in items {
                let listing = try await chains.pointListing(item: item)
                let summaries = try await chains.summaries(in: listing)
                out.append(
                    ItemOut(
                        item: item,
                        points: summaries.map {
                            PointOut(
                                point: $0.point.id, time: Output.iso($0.point.time), kind: $0.kind.rawValue,
                                consistency: $0.point.consistency.rawValue, introducedBlocks: $0.introducedBlocks,
                                introducedBytes: $0.introducedBytes, expires: $0.point.retainUntil.map(Output.iso))
                        },
                        damaged: listing.damaged.map { DamagedOut(point: $0.point, reason: $0.reason) }))
            }
            if options.json {
                struct Out: Encodable { var items: [ItemOut] }
                try Output.json(Out(items: out))
                return
            }
            for item in out {
                Output.line("\(item.item)")
                Output.line(
                    "  point                        time                  kind         consistency  blocks     stored")
                var total: UInt64 = 0
                for p in item.points {
                    total += p.introducedBytes
                    Output.line(
                        "  \(p.point.rawValue.padding(toLength: 28, withPad: " ", startingAt: 0)) \(p.time.prefix(20).padding(toLength: 21, withPad: " ", startingAt: 0)) \(p.kind.padding(toLength: 12, withPad: " ", startingAt: 0)) \(p.consistency.padding(toLength: 12, withPad: " ", startingAt: 0)) \(String(p.introducedBlocks).padding(toLength: 10, withPad: " ", startingAt: 0)) \(ByteSize.format(p.introducedBytes))"
                    )
                }
                Output.line("  total stored: \(ByteSize.format(total))")
                for d in item.damaged {
                    Output.line("  DAMAGED \(d.point): \(d.reason)")
                }
                if !item.damaged.isEmpty {
                    Output.line(
                        "  backup, expire and prune of \(item.item) refuse until the damaged points are repaired or removed; run `blocksnap verify`"
                    )
                }
            }
        }
    }
}
