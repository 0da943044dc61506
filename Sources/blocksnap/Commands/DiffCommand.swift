import ArgumentParser
import BlockSnap
import Foundation

struct DiffCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff", abstract: "List the byte ranges that differ between two points (Get Page Ranges style).")

    @OptionGroup var options: StoreOptions
    @Option(name: .long, help: "The item.") var item: ItemName
    @Option(name: .long, help: "The older (or other) point; omit to list the ranges holding data.") var from: PointID?
    @Option(name: .long, help: "The point whose state is described.") var to: PointID
    @Option(name: .long, help: "The disk number (default 0).") var disk: DiskIndex = 0
    @Option(name: .long, help: "START-END: only these bytes; END is inclusive, as Azure's x-ms-range (e.g. 0-1048575).")
    var range: String?
    @Flag(name: .long, help: "Refine changed blocks to the 512-byte pages that really differ.") var exact = false
    @Option(name: .long, help: "Ranges per page (default 10000).") var maxResults: Int = 10_000
    @Option(name: .long, help: "The nextMarker of the previous page.") var marker: String?

    func run() async throws {
        let (options, item, from, to, disk, range, exact, maxResults, marker) = (
            options, item, from, to, disk, range, exact, maxResults, marker
        )
        await runCommand(json: options.json) {
            var byteRange: Range<UInt64>? = nil
            if let range {
                let parts = range.split(separator: "-")
                guard parts.count == 2, let start = UInt64(parts[0]), let end = UInt64(parts[1]), end >= start,
                    end < UInt64.max
                else {
                    throw CLIError(
                        "invalidArgument", "--range \(range) is not START-END with END inclusive, e.g. 0-1048575")
                }
                byteRange = start..<(end + 1)
            }
            let parsedMarker: DiffMarker?
            do { parsedMarker = try marker.map { try DiffMarker(parsing: $0) } } catch {
                throw CLIError("invalidArgument", "--marker is not a marker this diff returned: \(error)")
            }
            let store = try await options.open(lock: .none)
            let chains = ChainStore(store: store)
            let page = try await chains.diff(
                item: item, from: from, to: to, disk: disk, in: byteRange, maxResults: maxResults, marker: parsedMarker,
                exact: exact)
            let blockSize = try await chains.point(item: item, point: to).blockSizeBytes
            if options.json {
                struct R: Encodable { var start: UInt64; var end: UInt64; var kind: String }
                struct Out: Encodable {
                    var blockSize: Int
                    var ranges: [R]
                    var nextMarker: String?
                    enum CodingKeys: String, CodingKey { case blockSize, ranges, nextMarker }
                    func encode(to encoder: any Encoder) throws {
                        var c = encoder.container(keyedBy: CodingKeys.self)
                        try c.encode(blockSize, forKey: .blockSize)
                        try c.encode(ranges, forKey: .ranges)
                        try c.encode(nextMarker, forKey: .nextMarker)
                    }
                }
                try Output.json(
                    Out(
                        blockSize: blockSize,
                        ranges: page.ranges.map {
                            R(start: $0.start, end: $0.end, kind: $0.kind == .changed ? "changed" : "cleared")
                        },
                        nextMarker: page.nextMarker.map { String(describing: $0) }))
            } else {
                for r in page.ranges {
                    Output.line(
                        "\(r.kind == .changed ? "changed" : "cleared") \(r.start)-\(r.end) (\(ByteSize.format(r.byteCount)))"
                    )
                }
                if let next = page.nextMarker { Output.line("more: --marker \(next)") }
            }
        }
    }
}
