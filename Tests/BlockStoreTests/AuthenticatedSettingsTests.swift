import BlockStore
import BlockStoreTesting
import Foundation
import Testing

/// S48: whether a store is encrypted, and its settings, are authenticated. A config swapped,
/// altered or downgraded is refused before anything is read or written.
@Suite struct AuthenticatedSettingsTests {
    /// A store with one published root over a few chunks.
    static func makeStore(encrypted: Bool, passphrase: String = "pw") async throws -> MemoryBackend {
        let backend = MemoryBackend()
        let store = try await ChunkStore.create(
            on: backend, encryption: encrypted ? .passphrase(passphrase) : .none, options: fastOptions())
        var rng = SplitMix64(seed: encrypted ? 11 : 12)
        var entries: [StoreNode.Entry] = []
        for i in 0..<4 {
            entries.append(
                .init(slot: UInt32(i), id: try await store.putBlock(Blocks.make(4096, kind: i, rng: &rng)).id))
        }
        try await store.publishRoot("points/one", id: try await store.putNode(StoreNode(entries: entries)))
        try await store.close()
        return backend
    }

    /// Every object of a backend, to show that a refused open wrote nothing.
    static func snapshot(_ backend: MemoryBackend) async throws -> [ObjectKey: [UInt8]] {
        var out: [ObjectKey: [UInt8]] = [:]
        for key in backend.allKeys { out[key] = try await backend.get(key) }
        return out
    }

    /// Opens and expects a refusal with `code`; returns the error.
    @discardableResult
    static func expectRefused(
        _ backend: MemoryBackend, passphrase: String?, _ code: BlockStoreError.Code, _ context: String
    ) async throws -> BlockStoreError? {
        do {
            let store = try await ChunkStore.open(
                on: backend, passphrase: passphrase, options: fastOptions(lock: .none))
            try await store.close()
            Issue.record("\(context): the store opened")
            return nil
        } catch let error as BlockStoreError {
            #expect(error.code == code, "\(context): \(error)")
            return error
        }
    }

    @Test func newStoresAreFormatVersion2AndKeepTheirSettings() async throws {
        for encrypted in [false, true] {
            let backend = try await Self.makeStore(encrypted: encrypted)
            let store = try await ChunkStore.open(
                on: backend, passphrase: encrypted ? "pw" : nil, options: fastOptions(lock: .none))
            #expect(store.configuration.version == StoreConfiguration.formatVersion)
            #expect(StoreConfiguration.formatVersion == 2)
            #expect(store.configuration.encrypted == encrypted && store.isEncrypted == encrypted)
            #expect(store.configuration.packTargetBytes == fastOptions().packTargetBytes)
            #expect(store.openWarnings.isEmpty)
            let config = try await backend.get("config")
            #expect(Array(config.prefix(6)) == Array("BSCF".utf8) + [2, encrypted ? 1 : 0])
            try await store.close()
        }
    }

    /// The issue's reproduction: an encrypted store's config replaced by a plain store's.
    @Test func anEncryptedStoreWithAPlainStoresConfigIsTampered() async throws {
        let encrypted = try await Self.makeStore(encrypted: true)
        let plain = try await Self.makeStore(encrypted: false)
        encrypted.overwriteForTesting("config", with: try await plain.get("config"))
        let before = try await Self.snapshot(encrypted)
        let withPassphrase = try await Self.expectRefused(encrypted, passphrase: "pw", .tampered, "with the passphrase")
        #expect(withPassphrase?.message.contains("unencrypted") == true, "\(String(describing: withPassphrase))")
        // Without a passphrase the key files beside the plain config give it away.
        try await Self.expectRefused(encrypted, passphrase: nil, .tampered, "without a passphrase")
        #expect(try await Self.snapshot(encrypted) == before, "a refused open wrote to the store")
    }

    @Test func aPlainStoreIsNeverOpenedWithAPassphrase() async throws {
        let plain = try await Self.makeStore(encrypted: false)
        try await Self.expectRefused(plain, passphrase: "pw", .tampered, "a passphrase given")
        let store = try await ChunkStore.open(on: plain, passphrase: nil, options: fastOptions(lock: .none))
        #expect(!store.isEncrypted)
        try await store.close()
    }

    @Test func aConfigSealedByAnotherStoresKeyIsTampered() async throws {
        let a = try await Self.makeStore(encrypted: true, passphrase: "same")
        let b = try await Self.makeStore(encrypted: true, passphrase: "same")
        let configA = try await a.get("config")
        let configB = try await b.get("config")
        a.overwriteForTesting("config", with: configB)
        b.overwriteForTesting("config", with: configA)
        for (name, backend) in [("a", a), ("b", b)] {
            let error = try await Self.expectRefused(backend, passphrase: "same", .tampered, "store \(name)")
            #expect(error?.message.contains("does not authenticate") == true, "\(String(describing: error))")
        }
        // The other way round: a's key files beside b's own config (a key of another store).
        let c = try await Self.makeStore(encrypted: true, passphrase: "same")
        for key in c.allKeys where key.rawValue.hasPrefix("keys/") { try await c.delete(key) }
        for key in b.allKeys where key.rawValue.hasPrefix("keys/") { try await c.put(key, data: try await b.get(key)) }
        try await Self.expectRefused(c, passphrase: "same", .tampered, "another store's key file")
    }

    @Test(arguments: [false, true])
    func everyFlippedByteOfTheConfigIsRefused(encrypted: Bool) async throws {
        let backend = try await Self.makeStore(encrypted: encrypted)
        let original = try await backend.get("config")
        var rng = SplitMix64(seed: encrypted ? 0xC0F1 : 0xC0F2)
        for position in original.indices {
            var damaged = original
            let mask = UInt8(truncatingIfNeeded: rng.next() % 255 + 1)
            damaged[position] ^= mask
            backend.overwriteForTesting("config", with: damaged)
            let context = "seed \(encrypted ? 0xC0F1 : 0xC0F2): byte \(position) ^ \(mask)"
            do {
                let store = try await ChunkStore.open(
                    on: backend, passphrase: encrypted ? "pw" : nil, options: fastOptions(lock: .none))
                try await store.close()
                Issue.record("\(context): a damaged config opened")
            } catch let error as BlockStoreError {
                if position >= 6 {
                    // The body: a sealed config fails authentication, a plain one its checksum.
                    #expect(error.code == (encrypted ? .tampered : .corruptObject), "\(context): \(error)")
                } else {
                    #expect(
                        [.corruptObject, .unsupportedFormat, .tampered].contains(error.code), "\(context): \(error)")
                    #expect(error.code != .wrongPassphrase, "\(context): \(error)")
                }
            }
        }
        // Truncations too.
        for length in [0, 5, 6, 20, original.count - 1] {
            backend.overwriteForTesting("config", with: Array(original.prefix(length)))
            await #expect(throws: BlockStoreError.self, "truncated to \(length)") {
                _ = try await ChunkStore.open(
                    on: backend, passphrase: encrypted ? "pw" : nil, options: fastOptions(lock: .none))
            }
        }
        backend.overwriteForTesting("config", with: original)
        try await ChunkStore.open(on: backend, passphrase: encrypted ? "pw" : nil, options: fastOptions(lock: .none))
            .close()
    }

    @Test func keyFilesBesideAPlainConfigAreTampered() async throws {
        let plain = try await Self.makeStore(encrypted: false)
        let other = try await Self.makeStore(encrypted: true)
        let keyFile = try #require(other.allKeys.first { $0.rawValue.hasPrefix("keys/") })
        try await plain.put(keyFile, data: try await other.get(keyFile))
        let error = try await Self.expectRefused(plain, passphrase: nil, .tampered, "no passphrase")
        #expect(error?.message.contains("key file") == true, "\(String(describing: error))")
        try await Self.expectRefused(plain, passphrase: "pw", .tampered, "with a passphrase")
        // Even a file under keys/ that is no key file at all.
        try await plain.delete(keyFile)
        try await plain.put("keys/junk", data: [1, 2, 3])
        try await Self.expectRefused(plain, passphrase: nil, .tampered, "junk under keys/")
    }

    @Test func creatingAPlainStoreOverLeftoverKeyFilesIsRefused() async throws {
        let other = try await Self.makeStore(encrypted: true)
        let keyFile = try #require(other.allKeys.first { $0.rawValue.hasPrefix("keys/") })
        let backend = MemoryBackend()
        try await backend.put(keyFile, data: try await other.get(keyFile))
        do {
            _ = try await ChunkStore.create(on: backend, encryption: .none, options: fastOptions(lock: .none))
            Issue.record("a plain store was created beside key files")
        } catch let error as BlockStoreError {
            #expect(error.code == .alreadyExists, "\(error)")
        }
        #expect(backend.allKeys == [keyFile])
    }

    @Test func aVersion1StoreIsUnsupported() async throws {
        for encrypted in [false, true] {
            let backend = try await Self.makeStore(encrypted: encrypted)
            var config = try await backend.get("config")
            config[4] = 1
            backend.overwriteForTesting("config", with: config)
            let error = try await Self.expectRefused(
                backend, passphrase: encrypted ? "pw" : nil, .unsupportedFormat, "version 1")
            #expect(error?.message.contains("version 1") == true, "\(String(describing: error))")
        }
    }

    @Test func anEncryptedConfigWithoutKeyFilesIsDamageNotAWrongPassphrase() async throws {
        let backend = try await Self.makeStore(encrypted: true)
        for key in backend.allKeys where key.rawValue.hasPrefix("keys/") { try await backend.delete(key) }
        try await Self.expectRefused(backend, passphrase: nil, .corruptObject, "no passphrase, no keys")
        try await Self.expectRefused(backend, passphrase: "pw", .corruptObject, "passphrase, no keys")
    }
}
