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

    /// The passphrase from BLOCKSNAP_PASSPHRASE, if set.
    var passphrase: String? { ProcessInfo.processInfo.environment["BLOCKSNAP_PASSPHRASE"] }

    func backend(create: Bool = false) throws -> any StorageBackend {
        if S3Configuration.isStoreURL(store) {
            let backend = S3Backend(configuration: try S3Configuration.fromStoreURL(store))
            OpenBackends.shared.register(backend)
            return backend
        }
        return try LocalDirectoryBackend(root: store, create: create)
    }

    func open(lock: StoreLockMode = .shared) async throws -> ChunkStore {
        var options = ChunkStoreOptions()
        options.lock = lock
        return try await ChunkStore.open(on: try backend(), passphrase: passphrase, options: options)
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
