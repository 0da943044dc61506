import ArgumentParser
import BlockSnap
import Foundation

struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore", abstract: "Restore a disk of a point to a file or device.")

    @OptionGroup var options: StoreOptions
    @Option(name: .long, help: "The item.") var item: ItemName
    @Option(name: .long, help: "The point to restore.") var point: PointID
    @Option(name: .long, help: "The disk number (default 0).") var disk: DiskIndex = 0
    @Option(name: .long, help: "The target file or block device.") var to: String
    @Flag(name: .long, help: "The target holds another point of this chain: write only the blocks that differ.")
    var inPlace = false
    @Option(name: .long, help: "With --in-place: the point the target holds now (default: the latest point).") var from:
        PointID?

    func run() async throws {
        let (options, item, point, disk, to, inPlace, from) = (options, item, point, disk, to, inPlace, from)
        await runCommand(json: options.json) {
            let store = try await options.open(lock: .none)
            let chains = ChainStore(store: store)
            let bar = ProgressBar(json: options.json)
            let result: RestoreResult
            if inPlace {
                let current: PointID
                if let from {
                    current = from
                } else {
                    guard let latest = try await chains.points(item: item).last else {
                        throw CLIError("notFound", "item \(item) has no points")
                    }
                    current = latest.id
                }
                result = try await chains.restoreInPlace(
                    item: item, point: point, disk: disk, target: to, holding: current, progress: bar.handler)
            } else {
                result = try await chains.restore(item: item, point: point, disk: disk, to: to, progress: bar.handler)
            }
            bar.finish()
            if options.json {
                struct Out: Encodable {
                    var point: PointID; var disk: DiskIndex; var sizeBytes: UInt64; var blocksWritten: Int;
                    var blocksZeroed: Int; var bytesWritten: UInt64
                }
                try Output.json(
                    Out(
                        point: point, disk: disk, sizeBytes: result.sizeBytes, blocksWritten: result.blocksWritten,
                        blocksZeroed: result.blocksZeroed, bytesWritten: result.bytesWritten))
            } else {
                Output.line(
                    "restored disk \(disk) of \(point) to \(to): \(result.blocksWritten) blocks written, \(result.blocksZeroed) zero blocks, \(ByteSize.format(result.bytesWritten))"
                )
            }
        }
    }
}
