import BlockStoreTesting
import Crypto
import Foundation
import Testing

@testable import BlockStore

/// S49 for key files: the key-derivation cost a key file asks for is capped and checked before
/// scrypt runs; a key file that is malformed, beyond the caps or another store's is skipped with
/// a warning, never fatal to opening with another key.
@Suite struct KeyFileLimitTests {
    /// An encrypted store with one key ("pw"), and that key file's JSON.
    static func makeStore() async throws -> (backend: MemoryBackend, keyFile: ObjectKey, json: [String: Any]) {
        let backend = MemoryBackend()
        try await ChunkStore.create(on: backend, encryption: .passphrase("pw"), options: fastOptions(lock: .none))
            .close()
        let keyFile = try #require(backend.allKeys.first { $0.rawValue.hasPrefix("keys/") })
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(try await backend.get(keyFile))) as? [String: Any])
        return (backend, keyFile, json)
    }

    /// Stores a key file with these bytes under its proper name (the SHA-256 of its bytes).
    @discardableResult
    static func plant(_ bytes: [UInt8], in backend: MemoryBackend) async throws -> ObjectKey {
        let key = try ObjectKey(validating: "keys/\(ChunkHasher.sha256.dataID(bytes).hex)")
        try await backend.put(key, data: bytes)
        return key
    }

    /// The store's own key file with other scrypt parameters (so it would still open with "pw"
    /// if scrypt ran with them and the caps did not exist).
    static func withParameters(_ json: [String: Any], n: Int, r: Int, p: Int) throws -> [UInt8] {
        var edited = json
        edited["parameters"] = ["n": n, "r": r, "p": p]
        return Array(try JSONSerialization.data(withJSONObject: edited, options: [.sortedKeys]))
    }

    static let overCap: [(n: Int, r: Int, p: Int)] = [
        (1 << 30, 8, 1),  // 128 GiB
        (1 << 19, 8, 1),  // 512 MiB: memory just over the cap
        (1 << 16, 8, 16),  // work 2^23: just over the cap
        (1 << 10, 64, 1),  // r beyond 1…32
        (Int.max / 2 + 1, 8, 1),  // 2^62: no overflow on the way to refusing it
    ]

    @Test func theCapsAreExactAndNeverOverflow() {
        let accepted: [(Int, Int, Int)] = [
            (1 << 15, 8, 1), (1 << 18, 8, 1), (1 << 18, 8, 2), (1 << 21, 1, 2), (2, 1, 1), (1 << 10, 32, 16),
        ]
        for (n, r, p) in accepted {
            #expect(KeyDerivation(n: n, r: r, p: p).problem() == nil, "n=\(n) r=\(r) p=\(p)")
        }
        #expect(128 * (1 << 18) * 8 == KeyDerivation.memoryBytesMax)
        #expect((1 << 18) * 8 * 2 == KeyDerivation.workMax)
        for (n, r, p) in Self.overCap + [(1 << 18, 8, 3), (1 << 22, 1, 1), (1 << 10, 8, 17)] {
            #expect(KeyDerivation(n: n, r: r, p: p).problem()?.code == .limitExceeded, "n=\(n) r=\(r) p=\(p)")
        }
        for (n, r, p) in [(0, 8, 1), (1, 8, 1), (3, 8, 1), (-(1 << 10), 8, 1), (Int.min, 8, 1), (1 << 10, 0, 1)] {
            #expect(KeyDerivation(n: n, r: r, p: p).problem()?.code == .corruptObject, "n=\(n) r=\(r) p=\(p)")
        }
    }

    @Test func anOverCapKeyFileIsSkippedWithAWarningBesideAGoodKey() async throws {
        for (n, r, p) in Self.overCap {
            let (backend, _, json) = try await Self.makeStore()
            let hostile = try await Self.plant(try Self.withParameters(json, n: n, r: r, p: p), in: backend)
            let store = try await ChunkStore.open(on: backend, passphrase: "pw", options: fastOptions(lock: .none))
            let context = "n=\(n) r=\(r) p=\(p)"
            // Listed before the good key or after, it is checked before anything runs for it.
            #expect(store.openWarnings.count == 1, "\(context): \(store.openWarnings)")
            let warning = try #require(store.openWarnings.first)
            #expect(warning.code == .limitExceeded, "\(context): \(warning)")
            #expect(warning.message.contains(hostile.rawValue), "\(context): \(warning)")
            #expect(warning.message.contains("256 MiB"), "\(context): \(warning)")
            let listing = try await store.keyListing()
            #expect(listing.keys.count == 1 && listing.damaged.map(\.id) == [String(hostile.lastSegment)])
            let report = try await store.verify()
            #expect(report.damagedObjects == [hostile], "\(context): \(report)")
            try await store.close()
        }
    }

    @Test func anOverCapKeyFileAloneIsATypedErrorNamingIt() async throws {
        for (n, r, p) in Self.overCap {
            let (backend, keyFile, json) = try await Self.makeStore()
            let hostile = try await Self.plant(try Self.withParameters(json, n: n, r: r, p: p), in: backend)
            try await backend.delete(keyFile)
            let context = "n=\(n) r=\(r) p=\(p)"
            do {
                _ = try await ChunkStore.open(on: backend, passphrase: "pw", options: fastOptions(lock: .none))
                Issue.record("\(context): the store opened")
            } catch let error as BlockStoreError {
                #expect(error.code == .limitExceeded, "\(context): \(error)")
                #expect(error.message.contains(hostile.rawValue), "\(context): \(error)")
                #expect(error.message.contains("skipped"), "\(context): \(error)")
            }
        }
    }

    @Test func malformedKeyFilesAreSkippedNotFatal() async throws {
        let (backend, _, json) = try await Self.makeStore()
        var version1 = json
        version1["version"] = 1
        var badSalt = json
        badSalt["salt"] = "not base64!"
        var shortSecret = json
        shortSecret["sealedMasterSecret"] = Data([1, 2, 3]).base64EncodedString()
        var planted: [ObjectKey] = []
        for bad in [version1, badSalt, shortSecret] {
            planted.append(
                try await Self.plant(
                    Array(try JSONSerialization.data(withJSONObject: bad, options: [.sortedKeys])), in: backend))
        }
        planted.append(try await Self.plant(Array("not json".utf8), in: backend))
        // A key file that does not hash to its name.
        let misnamed = try ObjectKey(validating: "keys/" + String(repeating: "0", count: 64))
        try await backend.put(misnamed, data: Array(try JSONSerialization.data(withJSONObject: json)))
        planted.append(misnamed)
        let store = try await ChunkStore.open(on: backend, passphrase: "pw", options: fastOptions(lock: .none))
        // Every one is named, whether it is listed before the good key or after it.
        #expect(store.openWarnings.count == planted.count, "\(store.openWarnings)")
        for key in planted {
            #expect(store.openWarnings.contains { $0.message.contains(key.rawValue) }, "\(key): \(store.openWarnings)")
        }
        let listing = try await store.keyListing()
        #expect(Set(listing.damaged.map(\.id)) == Set(planted.map { String($0.lastSegment) }), "\(listing.damaged)")
        #expect(listing.damaged.first { $0.id == String(planted[0].lastSegment) }?.error.code == .unsupportedFormat)
        // The damaged ones can be removed; the last good key cannot.
        for key in planted { try await store.removeKey(id: String(key.lastSegment)) }
        let last = try #require(try await store.keys().first)
        await #expect(throws: BlockStoreError.self) { try await store.removeKey(id: last.id) }
        try await store.close()
    }

    @Test func noUsableKeyNamesEverySkippedFile() async throws {
        let (backend, keyFile, json) = try await Self.makeStore()
        let overCap = try await Self.plant(try Self.withParameters(json, n: 1 << 30, r: 8, p: 1), in: backend)
        let junk = try await Self.plant(Array("{}".utf8), in: backend)
        try await backend.delete(keyFile)
        do {
            _ = try await ChunkStore.open(on: backend, passphrase: "pw", options: fastOptions(lock: .none))
            Issue.record("the store opened without a usable key")
        } catch let error as BlockStoreError {
            // Two different reasons: the code is the general one.
            #expect(error.code == .corruptObject, "\(error)")
            #expect(error.message.contains(overCap.rawValue) && error.message.contains(junk.rawValue), "\(error)")
        }
    }

    @Test func aWrongPassphraseBesideADamagedKeyStillSaysWhichWasSkipped() async throws {
        let (backend, _, _) = try await Self.makeStore()
        let junk = try await Self.plant(Array("[]".utf8), in: backend)
        do {
            _ = try await ChunkStore.open(on: backend, passphrase: "wrong", options: fastOptions(lock: .none))
            Issue.record("the store opened with a wrong passphrase")
        } catch let error as BlockStoreError {
            #expect(error.code == .corruptObject, "\(error)")
            #expect(error.message.contains(junk.rawValue), "\(error)")
        }
    }

    @Test func newKeysBeyondTheCapsAreRefusedBeforeAnythingIsWritten() async throws {
        for (n, r, p) in Self.overCap + [(3, 8, 1)] {
            var options = fastOptions(lock: .none)
            options.keyDerivation = KeyDerivation(n: n, r: r, p: p)
            let backend = MemoryBackend()
            do {
                _ = try await ChunkStore.create(on: backend, encryption: .passphrase("pw"), options: options)
                Issue.record("n=\(n) r=\(r) p=\(p): a store was created")
            } catch let error as BlockStoreError {
                #expect(error.code == .invalidArgument, "n=\(n) r=\(r) p=\(p): \(error)")
            }
            #expect(backend.allKeys.isEmpty)
        }
        let (backend, _, _) = try await Self.makeStore()
        var options = fastOptions(lock: .none)
        options.keyDerivation = KeyDerivation(n: 1 << 30, r: 8, p: 1)
        let store = try await ChunkStore.open(on: backend, passphrase: "pw", options: options)
        await #expect(throws: BlockStoreError.self) { _ = try await store.addPassphrase("second") }
        #expect(try await store.keys().count == 1)
        let long = String(repeating: "x", count: ChunkStore.keyLabelBytesMax + 1)
        var ok = fastOptions(lock: .none)
        ok.keyDerivation = .fastForTesting
        let store2 = try await ChunkStore.open(on: backend, passphrase: "pw", options: ok)
        await #expect(throws: BlockStoreError.self) { _ = try await store2.addPassphrase("second", label: long) }
        try await store.close()
        try await store2.close()
    }

    @Test func anotherStoresKeyFileIsListedAsTampered() async throws {
        let (backend, _, _) = try await Self.makeStore()
        let (other, otherKey, _) = try await Self.makeStore()
        try await backend.put(otherKey, data: try await other.get(otherKey))
        // Same passphrase: whichever is tried first, the store opens with its own key.
        let store = try await ChunkStore.open(on: backend, passphrase: "pw", options: fastOptions(lock: .none))
        #expect(store.openWarnings.map(\.code) == [.tampered], "\(store.openWarnings)")
        #expect(store.openWarnings.first?.message.contains(otherKey.rawValue) == true)
        let listing = try await store.keyListing()
        #expect(listing.keys.count == 1)
        #expect(listing.damaged.map(\.id) == [String(otherKey.lastSegment)])
        #expect(listing.damaged.first?.error.code == .tampered)
        // It is not counted as a key: the store's own one is still the last.
        await #expect(throws: BlockStoreError.self) { try await store.removeKey(id: listing.keys[0].id) }
        try await store.removeKey(id: String(otherKey.lastSegment))
        try await store.close()
    }
}
