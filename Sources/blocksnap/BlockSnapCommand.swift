import ArgumentParser
import Foundation

/// `blocksnap`: block-level incremental snapshots of disks, from the command line.
@main
struct BlockSnapCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "blocksnap",
        abstract: "Block-level incremental snapshots of disks: back up, diff, restore, expire, prune.",
        discussion: """
            Stores are local directories or s3://BUCKET/PREFIX URLs. An encrypted store's \
            passphrase comes from the first of: --passphrase-file PATH (its first line; the file \
            must not be readable by every user), the first line printed by the command in \
            BLOCKSNAP_PASSPHRASE_COMMAND (run with /bin/sh -c), the BLOCKSNAP_PASSPHRASE variable, \
            and a prompt without echo when standard input is a terminal (init asks twice). It is \
            never taken from the command line.

            Every command takes --json for machine-readable output with stable field names. Errors \
            are one line on standard error and, with --json, {"error":{"code":…,"message":…}} on \
            standard output. Exit status: 0 success, 1 error, 2 usage error (unknown option, \
            missing or malformed value; verify and repair also exit 2 when they find damage), \
            130 cancelled (Ctrl-C).
            """,
        subcommands: [
            InitCommand.self, BackupCommand.self, ListCommand.self, DiffCommand.self, RestoreCommand.self,
            ExpireCommand.self, PruneCommand.self, GCCommand.self, VerifyCommand.self, RepairCommand.self,
            StatsCommand.self, KeyCommand.self,
        ]
    )

    /// Parses the command line and runs the command, with the tool's own error contract instead
    /// of ArgumentParser's: a usage error (unknown option, missing or malformed value) prints one
    /// line on standard error, with `--json` also `{"error":{"code":"usage","message":…}}` on
    /// standard output, and exits 2. Help and `--version` print as usual and exit 0.
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        var command: any ParsableCommand
        do {
            command = try await asyncParseAsRoot(arguments)
        } catch {
            if exitCode(for: error) == .success { exit(withError: error) }  // help, version
            Output.usageError(Self.usageMessage(for: error), json: arguments.contains("--json"))
        }
        do {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)
        } catch {
            // Commands report their own errors (runCommand); this is what escapes them, and what
            // ArgumentParser's own commands throw (the help command throws to print help).
            switch exitCode(for: error) {
            case .success: exit(withError: error)
            case .validationFailure:
                Output.usageError(Self.usageMessage(for: error), json: arguments.contains("--json"))
            default: Output.fail(error, json: arguments.contains("--json"))
            }
        }
    }

    /// ArgumentParser's message for a parse error on one line, with where to find help.
    static func usageMessage(for error: any Error) -> String {
        let message = Self.message(for: error).split(whereSeparator: \.isNewline).joined(separator: "; ")
        let hint = fullMessage(for: error, columns: 1000).split(whereSeparator: \.isNewline).last {
            $0.contains("--help")
        }
        guard let hint else { return message }
        return "\(message) (\(hint.trimmingCharacters(in: .whitespaces)))"
    }
}
