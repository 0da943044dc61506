import ArgumentParser
import BlockSnap
import Foundation

struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup", abstract: "Take a recovery point of an item's disks.")

    @OptionGroup var options: StoreOptions

    @Option(name: .long, help: "The protected item (e.g. a VM name).")
    var item: ItemName

    @Option(name: .long, help: "A disk image (regular file) or block device; repeat for disk 0, 1, …")
    var disk: [String]

    @Option(
        name: .long,
        help:
            "JSON file (at most 64 MiB) of host-tracked changed ranges: {\"disks\":[{\"disk\":0,\"ranges\":[[start,length],…]}]} (needs --base)"
    )
    var changed: String?

    @Option(
        name: .long,
        help:
            "The point the --changed ranges are relative to (the point whose snapshot reset the host's change tracking)."
    )
    var base: PointID?

    @Option(
        name: .long,
        help:
            "When --base is not the item's latest point with a disk: fail (default), or read the whole disk and compare."
    )
    var onBaseMismatch: String = "fail"

    @Flag(name: .long, help: "An on-demand point with its own retention.")
    var onDemand = false

    @Option(name: .long, help: "Retention of an on-demand point in days (default 30).")
    var retainDays: Int?

    @Option(name: .long, help: "A tag; repeat for more (at most 50).")
    var tag: [String] = []

    @Option(name: .long, help: "Record the point at this ISO 8601 time instead of now.")
    var time: String?

    func run() async throws {
        let (options, item, disks, changed, onDemand, retainDays, tags, time) = (
            options, item, disk, changed, onDemand, retainDays, tag, time
        )
        let (base, onBaseMismatch) = (base, onBaseMismatch)
        await runCommand(json: options.json) {
            let mismatchPolicy: BaseMismatchPolicy
            switch onBaseMismatch {
            case "fail": mismatchPolicy = .fail
            case "read": mismatchPolicy = .readWholeDisk
            default: throw CLIError("invalidArgument", "--on-base-mismatch \(onBaseMismatch) is not fail or read")
            }
            if changed != nil && base == nil {
                throw CLIError(
                    "invalidArgument",
                    "--changed needs --base POINT: the point the changed ranges are relative to (the point whose snapshot reset the host's change tracking); without tracked changes, leave both out and the disks are read and compared"
                )
            }
            if base != nil && changed == nil {
                throw CLIError(
                    "invalidArgument",
                    "--base names the point --changed ranges are relative to; give --changed FILE too")
            }
            // Disks first: each must be a regular file or block device (FileDiskSource refuses
            // /dev/null, a FIFO, a directory, a socket, an empty file) before anything is read.
            let sources = try disks.map { try FileDiskSource(path: $0) }
            let tracked = try changed.map {
                try ChangedRangesFile(path: $0, diskSizes: sources.map(\.sizeBytes)).ranges
            }
            // A disk the file does not list is read and compared, as without --changed.
            let inputs = zip(disks, sources).enumerated().map { i, disk in
                DiskInput(
                    disk: DiskIndex(i), name: URL(fileURLWithPath: disk.0).lastPathComponent, source: disk.1,
                    changes: tracked?[i].map { TrackedChanges(since: base, ranges: $0) })
            }
            var request = BackupRequest(item: item, disks: inputs)
            request.onBaseMismatch = mismatchPolicy
            request.onDemand = onDemand
            if let retainDays {
                guard onDemand, retainDays > 0, retainDays <= 99 * 366 else {
                    throw CLIError("invalidArgument", "--retain-days needs --on-demand and 1…36234 days")
                }
                request.onDemandRetention = .seconds(retainDays * 86_400)
            }
            request.tags = tags
            if let time {
                guard let date = try? Date(time, strategy: .iso8601) else {
                    throw CLIError(
                        "invalidArgument", "--time \(time) is not an ISO 8601 time such as 2026-01-31T02:00:00Z")
                }
                request.time = date
            }
            let store = try await options.open()
            request.blockSizeBytes = store.configuration.defaultBlockSizeBytes ?? request.blockSizeBytes
            let bar = ProgressBar(json: options.json)
            let result: BackupResult
            do {
                result = try await ChainStore(store: store).backup(request, progress: bar.handler)
                bar.finish()
                try await store.close()
            } catch {
                bar.finish()
                try? await store.close()
                throw error
            }
            if options.json {
                struct Disk: Encodable {
                    var disk: DiskIndex; var sizeBytes: UInt64; var changedBlocks: Int; var storedBytes: UInt64
                }
                struct Mismatch: Encodable { var disk: DiskIndex; var base: String; var latest: PointID? }
                struct Out: Encodable {
                    var point: PointID; var kind: String; var disks: [Disk]; var consistency: String;
                    var baseMismatches: [Mismatch]
                }
                try Output.json(
                    Out(
                        point: result.point.id, kind: result.kind.rawValue,
                        disks: result.point.disks.map {
                            Disk(
                                disk: $0.disk, sizeBytes: $0.sizeBytes, changedBlocks: $0.changedBlocks,
                                storedBytes: $0.storedBytes)
                        },
                        consistency: result.point.consistency.rawValue,
                        baseMismatches: result.baseMismatches.map {
                            Mismatch(disk: $0.disk, base: $0.named?.rawValue ?? "", latest: $0.latest)
                        }))
            } else {
                Output.line(result.point.id.rawValue)
                for m in result.baseMismatches {
                    FileHandle.standardError.write(
                        Data(
                            "disk \(m.disk): --base \(m.named?.rawValue ?? "") is not the latest point with the disk (\(m.latest?.rawValue ?? "none")); read the whole disk instead of the changed ranges\n"
                                .utf8))
                }
                for d in result.point.disks {
                    FileHandle.standardError.write(
                        Data(
                            "disk \(d.disk): \(d.changedBlocks) changed blocks, \(ByteSize.format(d.storedBytes)) stored (\(result.kind.rawValue), \(result.point.consistency.rawValue)-consistent)\n"
                                .utf8))
                }
            }
        }
    }
}
