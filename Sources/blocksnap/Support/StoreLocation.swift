import ArgumentParser
import BlockSnap
import BlockStoreS3
import Foundation
import Synchronization

/// The `--store` option shared by every command: a directory or an `s3://` URL.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: "The store: a local directory, or s3://BUCKET/PREFIX (AWS_* variables configure S3).")
    var store: String

    @Flag(name: .long, help: "Print machine-readable JSON on standard output.")
    var json = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Read an encrypted store's passphrase from the first line of this file (not readable by every user).",
            discussion: """
                The passphrase comes from the first of: --passphrase-file, the first line printed \
                by the command in BLOCKSNAP_PASSPHRASE_COMMAND (run with /bin/sh -c), the \
                BLOCKSNAP_PASSPHRASE variable, a prompt without echo when standard input is a \
                terminal.
                """,
            valueName: "path"))
    var passphraseFile: String?

    /// The store's passphrase from the first source that gives one (``Passphrase``), asking on
    /// the terminal when none does and standard input is one; nil when there is none.
    var passphrase: String? {
        get throws { try Passphrase.shared.resolve(file: passphraseFile, prompt: true) }
    }

    /// A new store's passphrase: as ``passphrase``, but a prompt asks twice.
    func newStorePassphrase() throws -> String? {
        try Passphrase.shared.resolve(file: passphraseFile, prompt: true, confirm: true)
    }

    func backend(create: Bool = false) throws -> any StorageBackend {
        if S3Configuration.isStoreURL(store) {
            let backend = S3Backend(configuration: try S3Configuration.fromStoreURL(store))
            OpenBackends.shared.register(backend)
            return backend
        }
        return try LocalDirectoryBackend(root: store, create: create)
    }

    /// Opens the store. Without a passphrase from a file, a command or the environment, it is
    /// opened without one, and only when that fails because the store is encrypted is the
    /// passphrase asked for on the terminal (an unencrypted store never prompts).
    func open(lock: StoreLockMode = .shared) async throws -> ChunkStore {
        var options = ChunkStoreOptions()
        options.lock = lock
        let backend = try backend()
        if let given = try Passphrase.shared.resolve(file: passphraseFile, prompt: false) {
            return try await ChunkStore.open(on: backend, passphrase: given, options: options)
        }
        do {
            return try await ChunkStore.open(on: backend, passphrase: nil, options: options)
        } catch let error as BlockStoreError where error.code == .wrongPassphrase && Passphrase.canPrompt {
            // Without a passphrase, wrongPassphrase means "encrypted: give one".
            let asked = try Passphrase.shared.resolve(file: passphraseFile, prompt: true)
            return try await ChunkStore.open(on: backend, passphrase: asked, options: options)
        }
    }
}

/// S3 backends opened by a command, shut down when it ends (their HTTP clients must be).
final class OpenBackends: Sendable {
    static let shared = OpenBackends()
    private let backends = Mutex<[S3Backend]>([])

    func register(_ backend: S3Backend) { backends.withLock { $0.append(backend) } }

    func shutdownAll() async {
        for backend in backends.withLock({ b -> [S3Backend] in
            defer { b = [] }; return b
        }) {
            try? await backend.shutdown()
        }
    }
}
