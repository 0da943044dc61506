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
    @Flag(
        name: .long,
        help:
            "Overwrite a target that exists (a file or block device); without it the restore refuses. A failed restore leaves an overwritten target partly written; a file the restore created is removed."
    )
    var force = false
    @Flag(name: .long, help: "The target holds another point of this chain: write only the blocks that differ.")
    var inPlace = false
    @Option(name: .long, help: "With --in-place: the point the target holds now (default: the latest point).") var from:
        PointID?

    func run() async throws {
        let (options, item, point, disk, to, inPlace, from, force) = (
            options, item, point, disk, to, inPlace, from, force
        )
        await runCommand(json: options.json) {
            // Checked before the store is opened, so a refusal costs nothing and changes nothing.
            if !inPlace && !force, let kind = Self.existingKind(to) {
                throw CLIError(
                    "alreadyExists",
                    "--to \(to) already exists (\(kind)); pass --force to overwrite it, or --in-place to revert it from the point it holds"
                )
            }
            if inPlace && Self.existingKind(to) == nil {
                throw CLIError("notFound", "--in-place target \(to) does not exist; restore without --in-place")
            }
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

    /// What is at `path`, if anything (a dangling symbolic link counts: writing would create its
    /// target).
    static func existingKind(_ path: String) -> String? {
        var st = stat()
        if stat(path, &st) == 0 {
            switch st.st_mode & S_IFMT {
            case S_IFREG: return "a file of \(st.st_size) bytes"
            case S_IFBLK: return "a block device"
            case S_IFDIR: return "a directory"
            default: return "a special file"
            }
        }
        return lstat(path, &st) == 0 ? "a symbolic link to nothing" : nil
    }
}
