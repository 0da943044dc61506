import ArgumentParser
import BlockSnap
import Foundation

/// The `--store` option shared by every command: a directory or an `s3://` URL.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: "The store: a local directory, or s3://BUCKET/PREFIX (AWS_* variables configure S3).")
    var store: String

    @Flag(name: .long, help: "Print machine-readable JSON on standard output.")
    var json = false

    /// The passphrase from BLOCKSNAP_PASSPHRASE, if set.
    var passphrase: String? { ProcessInfo.processInfo.environment["BLOCKSNAP_PASSPHRASE"] }

    func backend(create: Bool = false) throws -> any StorageBackend {
        if store.hasPrefix("s3://") {
            throw CLIError("invalidArgument", "s3:// stores are not available in this build yet")
        }
        return try LocalDirectoryBackend(root: store, create: create)
    }

    func open(lock: StoreLockMode = .shared) async throws -> ChunkStore {
        var options = ChunkStoreOptions()
        options.lock = lock
        return try await ChunkStore.open(on: try backend(), passphrase: passphrase, options: options)
    }
}
