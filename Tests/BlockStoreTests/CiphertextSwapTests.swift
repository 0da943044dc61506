import BlockStoreTesting
import Crypto
import Foundation
import Testing

@testable import BlockStore

/// S48: every sealed object is bound to its role and name, so one valid object cannot stand in
/// for another. Encrypted stores refuse a swap with `authenticationFailed`, unencrypted ones with
/// `corruptObject` (keyless checksums, chunk hashes); no swap ever yields wrong bytes.
@Suite struct CiphertextSwapTests {
    struct Fixture {
        let backend: MemoryBackend
        let encrypted: Bool
        /// Every stored block by ID: incompressible 8 KiB blocks, so their sealed forms are all
        /// the same length.
        let blocks: [ChunkID: [UInt8]]
        /// The node each root names.
        let nodes: [String: ChunkID]

        var passphrase: String? { encrypted ? "pw" : nil }
        /// The code a swapped object fails with.
        var refusal: BlockStoreError.Code { encrypted ? .authenticationFailed : .corruptObject }

        func open() async throws -> ChunkStore {
            try await ChunkStore.open(on: backend, passphrase: passphrase, options: fastOptions(lock: .none))
        }

        func keys(_ prefix: String) -> [ObjectKey] {
            backend.allKeys.filter { $0.rawValue.hasPrefix(prefix) }.sorted()
        }

        /// Every block reads back exactly, or fails with an error: never other bytes.
        func expectNoWrongBytes(_ context: String) async throws {
            let store = try await open()
            for (id, block) in blocks {
                do {
                    let bytes = try await store.chunk(id)
                    #expect(bytes == block, "\(context): chunk \(id.shortHex) read back other bytes")
                } catch is BlockStoreError {}
            }
            try await store.close()
        }
    }

    /// Two roots, each over 12 random 8 KiB blocks in packs of their own (64 KiB target: two
    /// packs per root).
    static func makeFixture(encrypted: Bool) async throws -> Fixture {
        let backend = MemoryBackend()
        let store = try await ChunkStore.create(
            on: backend, encryption: encrypted ? .passphrase("pw") : .none,
            options: fastOptions(packTargetBytes: 64 << 10))
        var blocks: [ChunkID: [UInt8]] = [:]
        var nodes: [String: ChunkID] = [:]
        for (n, name) in ["points/one", "points/two"].enumerated() {
            var rng = SplitMix64(seed: encrypted ? UInt64(700 + n) : UInt64(800 + n))
            var entries: [StoreNode.Entry] = []
            for i in 0..<12 {
                let block = Blocks.make(8192, kind: 0, rng: &rng)
                let id = try await store.putBlock(block).id
                blocks[id] = block
                entries.append(.init(slot: UInt32(i), id: id))
            }
            try await store.flush()
            let node = try await store.putNode(StoreNode(entries: entries))
            try await store.publishRoot(name, id: node)
            nodes[name] = node
        }
        try await store.close()
        return Fixture(backend: backend, encrypted: encrypted, blocks: blocks, nodes: nodes)
    }

    /// The pack's chunk area (before the header) and its header with the trailer.
    static func split(_ pack: [UInt8]) -> (chunks: [UInt8], tail: [UInt8]) {
        let n = pack.count
        let headerLength =
            Int(pack[n - 12]) | Int(pack[n - 11]) << 8 | Int(pack[n - 10]) << 16 | Int(pack[n - 9]) << 24
        let start = n - 12 - headerLength
        return (Array(pack[..<start]), Array(pack[start...]))
    }

    /// Expects garbage collection's dry run to refuse, naming `key` among the damaged objects.
    static func expectDamageNamed(_ key: ObjectKey, in f: Fixture, _ context: String) async throws {
        let store = try await f.open()
        let report = try await store.verify()
        #expect(report.damagedObjects.contains(key), "\(context): verify: \(report)")
        do {
            _ = try await store.collectGarbage(dryRun: true)
            Issue.record("\(context): garbage collection ran on a store with a swapped object")
        } catch let error as BlockStoreError {
            #expect(error.code == .damaged, "\(context): \(error)")
            let damage = try #require(error.underlying as? DamageReport)
            #expect(damage.damagedObjects.contains(key), "\(context): \(damage)")
        }
        try await store.close()
    }

    @Test(arguments: [true, false])
    func aPackHeaderUnderAnotherPacksNameIsRefused(encrypted: Bool) async throws {
        let f = try await Self.makeFixture(encrypted: encrypted)
        let packs = f.keys("data/")
        #expect(packs.count >= 2)
        let (source, target) = (packs[0], packs[1])
        let sourceBytes = try await f.backend.get(source)
        let targetBytes = try await f.backend.get(target)
        let store = try await f.open()

        // The source's header (and trailer) after the target's own chunks.
        let transplanted = Self.split(targetBytes).chunks + Self.split(sourceBytes).tail
        for (what, bytes) in [("header transplanted", transplanted), ("whole pack copied", sourceBytes)] {
            f.backend.overwriteForTesting(target, with: bytes)
            do {
                _ = try await store.packEntries(target, sizeBytes: UInt64(bytes.count))
                Issue.record("\(what): a pack header opened under another pack's name")
            } catch let error as BlockStoreError {
                #expect(error.code == f.refusal, "\(what): \(error)")
            }
            try await Self.expectDamageNamed(target, in: f, what)
            try await f.expectNoWrongBytes(what)
        }
        f.backend.overwriteForTesting(target, with: targetBytes)
        #expect(try await store.packEntries(target, sizeBytes: UInt64(targetBytes.count)).count > 0)
        try await store.close()
    }

    @Test(arguments: [true, false])
    func aSealedChunkInAnotherChunksPlaceIsRefused(encrypted: Bool) async throws {
        let f = try await Self.makeFixture(encrypted: encrypted)
        let store = try await f.open()
        let ids = f.blocks.keys.sorted()
        // Two chunks in different packs, their sealed forms of equal length.
        let x = ids[0]
        let xAt = try #require(store.packLocation(of: x))
        let y = try #require(
            ids.first { id in
                guard let at = store.packLocation(of: id) else { return false }
                return at.pack != xAt.pack && at.range.count == xAt.range.count
            })
        let yAt = try #require(store.packLocation(of: y))
        let sealedX = try await f.backend.get(xAt.pack, range: xAt.range)
        var pack = try await f.backend.get(yAt.pack)
        pack.replaceSubrange(Int(yAt.range.lowerBound)..<Int(yAt.range.upperBound), with: sealedX)
        f.backend.overwriteForTesting(yAt.pack, with: pack)

        let reader = try await f.open()
        do {
            _ = try await reader.chunk(y)
            Issue.record("chunk \(y.shortHex) read back another chunk's sealed bytes")
        } catch let error as BlockStoreError {
            // Encrypted: the seal is bound to Y's ID. Plain: X's content does not hash to Y.
            #expect(error.code == f.refusal, "\(error)")
        }
        #expect(try await reader.chunk(x) == f.blocks[x])
        let report = try await reader.verify()
        #expect(report.damagedChunks == [y], "\(report)")
        try await reader.close()
        try await store.close()
        try await f.expectNoWrongBytes("sealed chunk swapped")
    }

    @Test(arguments: [true, false])
    func aSealedChunkReadAsAnotherKindIsRefused(encrypted: Bool) async throws {
        let f = try await Self.makeFixture(encrypted: encrypted)
        let store = try await f.open()
        let node = try #require(f.nodes["points/one"])
        // Rewrite the index from the pack headers, with the node listed as a data chunk.
        var packs: [(packID: ChunkID, entries: [PackEntry])] = []
        for key in f.keys("data/") {
            let size = try #require(try await f.backend.size(key))
            var entries = try await store.packEntries(key, sizeBytes: size)
            for i in entries.indices where entries[i].id == node { entries[i].kind = .data }
            packs.append((try #require(ChunkID(hex: key.lastSegment)), entries))
        }
        #expect(packs.contains { $0.entries.contains { $0.id == node && $0.kind == .data } })
        for key in f.keys("index/") { try await f.backend.delete(key) }
        let index = try IndexFile(packs: packs).encoded(crypto: store.crypto)
        try await f.backend.put(ChunkStore.indexKey(ChunkHasher.sha256.dataID(index)), data: index)
        try await store.close()

        let reader = try await f.open()
        #expect(reader.kind(of: node) == .data)
        do {
            _ = try await reader.chunk(node)
            Issue.record("a node read back as a data chunk")
        } catch let error as BlockStoreError {
            // Encrypted: the seal binds the kind. Plain: a node's ID is domain-separated.
            #expect(error.code == f.refusal, "\(error)")
        }
        try await reader.close()
    }

    @Test(arguments: [true, false])
    func rootsAndIndexObjectsCannotStandInForEachOther(encrypted: Bool) async throws {
        let f = try await Self.makeFixture(encrypted: encrypted)
        let store = try await f.open()
        let root = try await f.backend.get("roots/points/one")
        let indexKey = try #require(f.keys("index/").first)
        let index = try await f.backend.get(indexKey)

        // A root's sealed body behind an index header, named as an index object must be.
        let forgedIndex = Array("BSIX".utf8) + [IndexFile.version, root[5]] + Array(root[6...])
        let forgedIndexKey = ChunkStore.indexKey(ChunkHasher.sha256.dataID(forgedIndex))
        do {
            _ = try IndexFile.decode(forgedIndex, key: forgedIndexKey, crypto: store.crypto)
            Issue.record("a root's body decoded as an index object")
        } catch let error as BlockStoreError {
            #expect(error.code == f.refusal, "\(error)")
        }
        // The root as it is, under an index name: not an index object.
        let rootAsIndexKey = ChunkStore.indexKey(ChunkHasher.sha256.dataID(root))
        for (key, bytes) in [(forgedIndexKey, forgedIndex), (rootAsIndexKey, root)] {
            try await f.backend.put(key, data: bytes)
            let reader = try await f.open()
            #expect(reader.statistics.chunkCount == f.blocks.count + f.nodes.count)
            let report = try await reader.verify()
            #expect(report.damagedObjects.contains(key), "\(report)")
            try await reader.close()
            try await f.backend.delete(key)
        }

        // An index object's sealed body behind a root header.
        let forgedRoot = Array("BSRT".utf8) + [ChunkStore.rootVersion, index[5]] + Array(index[6...])
        try await f.backend.put("roots/points/forged", data: forgedRoot)
        do {
            _ = try await store.root("points/forged")
            Issue.record("an index object's body decoded as a root")
        } catch let error as BlockStoreError {
            #expect(error.code == f.refusal, "\(error)")
        }
        let listing = try await store.rootListing()
        #expect(listing.damaged.map(\.name) == ["points/forged"])
        #expect(listing.records.map(\.name) == ["points/one", "points/two"])
        try await f.backend.delete("roots/points/forged")

        // A root moved to another name (plain stores too: the checksum binds the name).
        try await f.backend.put("roots/points/three", data: try await f.backend.get("roots/points/two"))
        do {
            _ = try await store.root("points/three")
            Issue.record("a root opened under another name")
        } catch let error as BlockStoreError {
            #expect(error.code == f.refusal, "\(error)")
        }
        try await f.backend.delete("roots/points/three")

        // A root's body behind a config header: the store does not open.
        let config = try await f.backend.get("config")
        let forgedConfig = Array(config.prefix(6)) + Array(root[6...])
        f.backend.overwriteForTesting("config", with: forgedConfig)
        do {
            _ = try await f.open()
            Issue.record("a root's body opened as the config")
        } catch let error as BlockStoreError {
            #expect(error.code == (encrypted ? .tampered : .corruptObject), "\(error)")
        }
        f.backend.overwriteForTesting("config", with: config)
        try await store.close()
        try await f.expectNoWrongBytes("roots and index objects swapped")
    }

    @Test(arguments: [true, false])
    func aRenamedIndexObjectIsRefused(encrypted: Bool) async throws {
        let f = try await Self.makeFixture(encrypted: encrypted)
        let store = try await f.open()
        let original = try #require(f.keys("index/").first)
        let bytes = try await f.backend.get(original)
        let renamed = ChunkStore.indexKey(ChunkID(bytes: [UInt8](repeating: 0x5A, count: 32))!)
        do {
            _ = try IndexFile.decode(bytes, key: renamed, crypto: store.crypto)
            Issue.record("an index object decoded under another name")
        } catch let error as BlockStoreError {
            #expect(error.code == .corruptObject, "\(error)")
        }
        #expect(try IndexFile.decode(bytes, key: original, crypto: store.crypto).packs.count > 0)
        try await store.close()

        try await f.backend.put(renamed, data: bytes)
        try await f.backend.delete(original)
        try await Self.expectDamageNamed(renamed, in: f, "index object renamed")
        try await f.expectNoWrongBytes("index object renamed")
    }
}
