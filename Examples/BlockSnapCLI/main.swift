import ArgumentParser
import BlockSnap

struct BlockSnapCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "blocksnap", abstract: "Block-level incremental snapshots of disks.")
}
BlockSnapCommand.main()
