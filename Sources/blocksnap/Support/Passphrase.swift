import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Where the passphrase of an encrypted store comes from, resolved once per process.
///
/// The sources, first match wins:
/// 1. `--passphrase-file PATH`: the file's first line (a trailing `\r` dropped). The file must
///    not be readable by every user (`chmod 600`); a FIFO such as `<(pass show backup)` works.
/// 2. `BLOCKSNAP_PASSPHRASE_COMMAND`: run with `/bin/sh -c`; the first line of its standard
///    output. Standard input and error stay the terminal's, so the command may prompt itself.
///    A command that fails is an error, never an empty passphrase.
/// 3. `BLOCKSNAP_PASSPHRASE`: the variable's value (an empty value counts as unset).
/// 4. A prompt on the terminal, without echo, when standard input is a terminal; `init` asks
///    twice.
///
/// Never from the command line (others can read a process's arguments), and never printed:
/// messages name the source, not what it gave.
final class Passphrase: Sendable {
    /// The process's resolver: a passphrase read once is not asked for again (prune opens its
    /// store twice; a command runs once).
    static let shared = Passphrase()

    /// The longest passphrase accepted from a file, a command or the prompt, in bytes.
    static let byteCountMax = 4096

    /// The environment variable holding a passphrase.
    static let environmentVariable = "BLOCKSNAP_PASSPHRASE"
    /// The environment variable holding a command that prints the passphrase.
    static let commandVariable = "BLOCKSNAP_PASSPHRASE_COMMAND"

    private let resolved = Mutex<String?>(nil)

    /// Whether a prompt is possible: standard input is a terminal.
    static var canPrompt: Bool { isatty(STDIN_FILENO) == 1 }

    /// The passphrase from the first source that gives one.
    /// - Parameters:
    ///   - file: `--passphrase-file`, if given.
    ///   - prompt: Whether to ask on the terminal when no other source gives one (only when
    ///     standard input is a terminal).
    ///   - confirm: Ask twice at the prompt (a new store's passphrase).
    /// - Returns: The passphrase, or nil when no source gives one.
    /// - Throws: `invalidArgument` for an unusable file, a failing command or an empty answer;
    ///   `cancelled` for Ctrl-C at the prompt.
    func resolve(file: String?, prompt: Bool, confirm: Bool = false) throws -> String? {
        if let known = resolved.withLock({ $0 }) { return known }
        let environment = ProcessInfo.processInfo.environment
        var found: String?
        if let file {
            found = try Self.read(file: file)
        } else if let command = environment[Self.commandVariable], !command.isEmpty {
            found = try Self.run(command: command)
        } else if let value = environment[Self.environmentVariable], !value.isEmpty {
            found = value
        } else if prompt && Self.canPrompt {
            found = try Self.ask(confirm: confirm)
        }
        if let found { resolved.withLock { $0 = found } }
        return found
    }

    /// The first line of a passphrase file.
    static func read(file path: String) throws -> String {
        let what = "passphrase file \(path)"
        let line = try InputFile.read(path, what: what, byteCountMax: byteCountMax, stopAtNewline: true) { st in
            guard st.st_mode & S_IROTH != 0 else { return nil }
            return CLIError(
                "invalidArgument",
                "\(what) is readable by every user (mode \(String(st.st_mode & 0o777, radix: 8))); "
                    + "chmod 600 it, or read it with BLOCKSNAP_PASSPHRASE_COMMAND='cat \(path)'")
        }
        return try text(line, from: what)
    }

    /// The first line a command prints on standard output.
    static func run(command: String) throws -> String {
        let what = "the command in \(commandVariable)"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        let output = Pipe()
        process.standardOutput = output
        do { try process.run() } catch {
            throw CLIError("invalidArgument", "\(what) could not be started: \(error.localizedDescription)")
        }
        // Read the whole output (bounded), so the command never blocks on a full pipe.
        var bytes: [UInt8] = []
        let reader = output.fileHandleForReading
        while let chunk = try? reader.read(upToCount: 64 << 10), !chunk.isEmpty {
            if bytes.count <= byteCountMax { bytes += chunk }
        }
        process.waitUntilExit()
        switch process.terminationReason {
        case .uncaughtSignal:
            throw CLIError("invalidArgument", "\(what) was killed by signal \(process.terminationStatus)")
        default:
            guard process.terminationStatus == 0 else {
                throw CLIError("invalidArgument", "\(what) failed with exit status \(process.terminationStatus)")
            }
        }
        let line = bytes.prefix { $0 != UInt8(ascii: "\n") }
        guard line.count <= byteCountMax else {
            throw CLIError("invalidArgument", "\(what) printed a first line longer than \(byteCountMax) bytes")
        }
        return try text(Array(line), from: what)
    }

    /// Asks on the terminal without echo; twice when `confirm`.
    static func ask(confirm: Bool) throws -> String {
        let first = try TerminalPrompt.readSecret(prompt: confirm ? "New store passphrase: " : "Passphrase: ")
        if confirm {
            let second = try TerminalPrompt.readSecret(prompt: "Repeat the passphrase: ")
            guard first == second else {
                throw CLIError("invalidArgument", "the two passphrases typed differ; nothing was created")
            }
        }
        return try text(first, from: "the prompt")
    }

    /// A passphrase line as text: a trailing `\r` dropped, UTF-8, not empty.
    static func text(_ line: [UInt8], from what: String) throws -> String {
        var line = line
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        guard !line.isEmpty else { throw CLIError("invalidArgument", "\(what) gave an empty passphrase") }
        guard let text = String(validating: line, as: UTF8.self) else {
            throw CLIError("invalidArgument", "\(what) gave a passphrase that is not UTF-8 text")
        }
        return text
    }
}
