import ArgumentParser
import BlockSnap
import Foundation

struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "init", abstract: "Create a new store.")

    @OptionGroup var options: StoreOptions

    @Option(name: .long, help: "Block size of new chains: a power of two from 4KiB to 4MiB.")
    var blockSize = "64KiB"

    @Flag(
        name: .long,
        help:
            "Create an unencrypted store (otherwise a passphrase is required: --passphrase-file, BLOCKSNAP_PASSPHRASE_COMMAND, BLOCKSNAP_PASSPHRASE or the prompt)."
    )
    var noEncryption = false

    func run() async throws {
        let options = options
        let blockSize = blockSize
        let noEncryption = noEncryption
        await runCommand(json: options.json) {
            let size = try ByteSize.parse(blockSize, option: "--block-size", range: 4096...(4 << 20))
            guard size & (size - 1) == 0 else {
                throw CLIError("invalidArgument", "--block-size \(blockSize) is not a power of two from 4KiB to 4MiB")
            }
            let encryption: StoreEncryption
            if noEncryption {
                encryption = .none
            } else {
                guard let passphrase = try options.newStorePassphrase() else {
                    throw CLIError(
                        "invalidArgument",
                        "an encrypted store needs a passphrase: --passphrase-file FILE, BLOCKSNAP_PASSPHRASE_COMMAND, BLOCKSNAP_PASSPHRASE, or run on a terminal to be asked; or pass --no-encryption"
                    )
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
