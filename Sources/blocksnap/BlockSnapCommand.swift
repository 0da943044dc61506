import ArgumentParser
import Foundation

/// `blocksnap`: block-level incremental snapshots of disks, from the command line.
@main
struct BlockSnapCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "blocksnap",
        abstract: "Block-level incremental snapshots of disks: back up, diff, restore, expire, prune.",
        discussion: """
            Stores are local directories or s3://BUCKET/PREFIX URLs. Encrypted stores read their
            passphrase from the BLOCKSNAP_PASSPHRASE environment variable. Every command takes
            --json for machine-readable output with stable field names.
            """,
        subcommands: [
            InitCommand.self, BackupCommand.self, ListCommand.self, DiffCommand.self, RestoreCommand.self,
            ExpireCommand.self, PruneCommand.self, GCCommand.self, VerifyCommand.self, RepairCommand.self,
            StatsCommand.self, KeyCommand.self,
        ]
    )
}
