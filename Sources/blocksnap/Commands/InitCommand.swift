import ArgumentParser
import BlockSnap
import Foundation

struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "init", abstract: "Create a new store.")

    @OptionGroup var options: StoreOptions

    @Option(name: .long, help: "Block size of new chains: a power of two from 4KiB to 4MiB.")
    var blockSize = "64KiB"

    @Flag(name: .long, help: "Create an unencrypted store (otherwise BLOCKSNAP_PASSPHRASE is required).")
    var noEncryption = false

    func run() async throws {
        let options = options
        let blockSize = blockSize
        let noEncryption = noEncryption
        await runCommand(json: options.json) {
            guard let size = ByteSize.parse(blockSize), size >= 4096, size <= 4 << 20, size & (size - 1) == 0 else {
                throw CLIError("invalidArgument", "--block-size \(blockSize) is not a power of two from 4KiB to 4MiB")
            }
            let encryption: StoreEncryption
            if noEncryption {
                encryption = .none
            } else {
                guard let passphrase = options.passphrase, !passphrase.isEmpty else {
                    throw CLIError(
                        "invalidArgument", "set BLOCKSNAP_PASSPHRASE to encrypt the store, or pass --no-encryption")
                }
                encryption = .passphrase(passphrase)
            }
            var storeOptions = ChunkStoreOptions()
            storeOptions.defaultBlockSizeBytes = size
            let store = try await ChunkStore.create(
                on: try options.backend(create: true), encryption: encryption, options: storeOptions)
            try await store.close()
            if options.json {
                struct Out: Encodable { var store: String; var encrypted: Bool; var blockSize: Int }
                try Output.json(Out(store: options.store, encrypted: store.isEncrypted, blockSize: size))
            } else {
                Output.line(
                    "created \(store.isEncrypted ? "an encrypted" : "an unencrypted") store in \(options.store) (block size \(ByteSize.format(UInt64(size))))"
                )
            }
        }
    }
}
