import ArgumentParser
import BlockSnap
import Foundation

/// `blocksnap key add|list|remove`: the passphrases (key files) of an encrypted store.
struct KeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key",
        abstract: "Add, list or remove the passphrases of an encrypted store.",
        discussion: """
            Each passphrase is a key file that seals the store's master key; adding or removing one
            never re-encrypts data. The store's current passphrase is given as for every command;
            the new one comes from BLOCKSNAP_NEW_PASSPHRASE or --new-passphrase-file.
            """,
        subcommands: [KeyAddCommand.self, KeyListCommand.self, KeyRemoveCommand.self]
    )
}

/// `blocksnap key add`: adds a passphrase.
struct KeyAddCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add", abstract: "Add a passphrase (read from BLOCKSNAP_NEW_PASSPHRASE or a file).")

    @OptionGroup var options: StoreOptions

    @Option(name: .long, help: "Read the new passphrase from this file (one trailing newline is dropped).")
    var newPassphraseFile: String?

    @Option(name: .long, help: "A note kept with the key, such as who holds the passphrase.")
    var label = ""

    func run() async throws {
        let (options, file, label) = (options, newPassphraseFile, label)
        await runCommand(json: options.json) {
            let newPassphrase = try NewPassphrase.read(file: file)
            let store = try await options.open(lock: .none)
            KeyOutput.warn(store.openWarnings)
            let id = try await store.addPassphrase(newPassphrase, label: label)
            try await store.close()
            if options.json {
                struct Out: Encodable { var id: String; var label: String }
                try Output.json(Out(id: id, label: label))
            } else {
                Output.line("added key \(id)\(label.isEmpty ? "" : " (\(label))")")
            }
        }
    }
}

/// `blocksnap key list`: lists the key files.
struct KeyListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List the store's keys, and key files that cannot be used.")

    @OptionGroup var options: StoreOptions

    func run() async throws {
        let options = options
        await runCommand(json: options.json) {
            let store = try await options.open(lock: .none)
            KeyOutput.warn(store.openWarnings)
            let listing = try await store.keyListing()
            try await store.close()
            if options.json {
                struct KeyOut: Encodable { var id: String; var label: String; var created: Date }
                struct DamagedOut: Encodable { var id: String; var code: String; var message: String }
                struct Out: Encodable { var keys: [KeyOut]; var damaged: [DamagedOut] }
                try Output.json(
                    Out(
                        keys: listing.keys.map { KeyOut(id: $0.id, label: $0.label, created: $0.created) },
                        damaged: listing.damaged.map {
                            DamagedOut(id: $0.id, code: $0.error.code.description, message: $0.error.message)
                        }))
            } else {
                for key in listing.keys {
                    Output.line("\(key.id)  \(Output.iso(key.created))  \(key.label)")
                }
                for key in listing.damaged {
                    Output.line("\(key.id)  cannot be used: \(key.error.message)")
                }
            }
        }
    }
}

/// `blocksnap key remove`: removes a key file; the last key is refused.
struct KeyRemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove", abstract: "Remove a key (its passphrase stops opening the store); never the last one.")

    @OptionGroup var options: StoreOptions

    @Argument(help: "The key's ID, as `key list` shows it.")
    var id: String

    func run() async throws {
        let (options, id) = (options, id)
        await runCommand(json: options.json) {
            // Exclusive: two removals at once must not each leave the other's key as the last.
            let store = try await options.open(lock: .exclusive)
            KeyOutput.warn(store.openWarnings)
            do {
                try await store.removeKey(id: id)
                try await store.close()
            } catch {
                try? await store.close()
                throw error
            }
            if options.json {
                struct Out: Encodable { var removed: String }
                try Output.json(Out(removed: id))
            } else {
                Output.line("removed key \(id)")
            }
        }
    }
}

/// Where `key add` reads the new passphrase: `--new-passphrase-file` or BLOCKSNAP_NEW_PASSPHRASE.
enum NewPassphrase {
    /// The largest passphrase file read.
    static let fileBytesMax = 64 * 1024

    static func read(file: String?) throws -> String {
        let environment = ProcessInfo.processInfo.environment["BLOCKSNAP_NEW_PASSPHRASE"]
        let passphrase: String
        switch (file, environment) {
        case (let path?, nil):
            passphrase = try readFile(path)
        case (nil, let value?):
            passphrase = value
        case (.some, .some):
            throw CLIError(
                "invalidArgument",
                "both --new-passphrase-file and BLOCKSNAP_NEW_PASSPHRASE are set: give the new passphrase one way")
        case (nil, nil):
            throw CLIError(
                "invalidArgument", "give the new passphrase in BLOCKSNAP_NEW_PASSPHRASE or with --new-passphrase-file")
        }
        guard !passphrase.isEmpty else {
            throw CLIError("invalidArgument", "the new passphrase is empty: choose a non-empty passphrase")
        }
        return passphrase
    }

    /// The file's text without one trailing newline; a regular file of at most 64 KiB.
    private static func readFile(_ path: String) throws -> String {
        let attributes: [FileAttributeKey: Any]
        do {
            attributes = try FileManager.default.attributesOfItem(atPath: path)
        } catch {
            throw CLIError(
                "invalidArgument", "cannot read the new passphrase file \(path): \(error.localizedDescription)")
        }
        guard attributes[.type] as? FileAttributeType == .typeRegular else {
            throw CLIError("invalidArgument", "the new passphrase file \(path) is not a regular file")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw CLIError("invalidArgument", "cannot open the new passphrase file \(path)")
        }
        defer { try? handle.close() }
        var bytes = Array(try handle.read(upToCount: fileBytesMax + 1) ?? Data())
        guard bytes.count <= fileBytesMax else {
            throw CLIError("invalidArgument", "the new passphrase file \(path) is larger than 64 KiB")
        }
        if bytes.last == UInt8(ascii: "\n") {
            bytes.removeLast()
            if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw CLIError("invalidArgument", "the new passphrase file \(path) is not UTF-8 text")
        }
        return text
    }
}

/// Warnings of the key commands.
enum KeyOutput {
    /// Reports what opening skipped (damaged or over-cap key files) on standard error.
    static func warn(_ warnings: [BlockStoreError]) {
        for warning in warnings {
            FileHandle.standardError.write(Data("blocksnap: warning: \(warning.message)\n".utf8))
        }
    }
}
