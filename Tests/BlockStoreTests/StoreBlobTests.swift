import BlockStore
import BlockStoreTesting
import Foundation
import Testing

/// Blobs (opaque byte strings stored as a node over 1 MiB pieces) round-trip, and hostile blob
/// nodes are refused before anything is allocated or appended.
@Suite struct StoreBlobTests {
    /// A blob node with any declared size and entries, as a hostile writer could make it.
    static func blob(_ store: ChunkStore, declared: UInt64, entries: [StoreNode.Entry]) async throws -> ChunkID {
        var header = Array("BSBL".utf8)
        withUnsafeBytes(of: declared.littleEndian) { header.append(contentsOf: $0) }
        let id = try await store.putNode(StoreNode(header: header, entries: entries))
        try await store.flush()
        return id
    }

    @Test(arguments: [0, 1, 4096, 1 << 20, (1 << 20) + 1, (3 << 20) + 17])
    func blobsRoundTrip(byteCount: Int) async throws {
        let store = try await ChunkStore.create(
            on: MemoryBackend(), encryption: .passphrase("pw"), options: fastOptions())
        var bytes = SplitMix64.bytes(count: byteCount, seed: UInt64(byteCount))
        if byteCount > 2 << 20 {
            for i in (1 << 20)..<(2 << 20) { bytes[i] = 0 }  // an all-zero piece is never stored
        }
        let id = try await store.putBlob(bytes)
        try await store.flush()
        #expect(try await store.blob(id) == bytes)
        try await store.close()
    }

    @Test func blobsAboveTheLimitAreRefused() async throws {
        let store = try await ChunkStore.create(on: MemoryBackend(), encryption: .none, options: fastOptions())
        let error = await #expect(throws: BlockStoreError.self) {
            _ = try await store.putBlob([UInt8](repeating: 1, count: StoreBlob.byteCountMax + 1))
        }
        #expect(error?.code == .limitExceeded)
        try await store.close()
    }

    @Test func hostileBlobsAreCorruptBeforeAnythingIsAllocated() async throws {
        let store = try await ChunkStore.create(
            on: MemoryBackend(), encryption: .passphrase("pw"), options: fastOptions())
        let small = try await store.putBlock(SplitMix64.bytes(count: 4096, seed: 41).map { $0 | 1 })
        let piece = SplitMix64.bytes(count: 1 << 20, seed: 42).map { $0 | 1 }
        let full = try await store.putBlock(piece)
        let cases: [(String, UInt64, [StoreNode.Entry])] = [
            ("a declared size near 2^64", UInt64.max, [.init(slot: 0, id: small.id)]),
            ("a declared size past the limit", UInt64(StoreBlob.byteCountMax) + 1, []),
            // A 4 KiB chunk then a zero entry in a 10-byte blob once made a negative count (a trap).
            (
                "a chunk longer than the blob, then a zero entry", 10,
                [.init(slot: 0, id: small.id), .init(slot: 1, id: .zero)]
            ),
            ("a chunk longer than the blob", 10, [.init(slot: 0, id: small.id)]),
            (
                "a piece shorter than 1 MiB in the middle", (1 << 20) + 5,
                [.init(slot: 0, id: small.id), .init(slot: 1, id: .zero)]
            ),
            ("more entries than pieces", 5, [.init(slot: 0, id: .zero), .init(slot: 1, id: .zero)]),
            ("fewer entries than pieces", (2 << 20) + 1, [.init(slot: 0, id: full.id)]),
            ("a gap in the slots", 2 << 20, [.init(slot: 0, id: full.id), .init(slot: 2, id: full.id)]),
            ("no entries for data", 100, []),
        ]
        for (what, declared, entries) in cases {
            let id = try await Self.blob(store, declared: declared, entries: entries)
            let error = await #expect(throws: BlockStoreError.self, "\(what)") { _ = try await store.blob(id) }
            #expect(error?.code == .corruptObject, "\(what): \(String(describing: error))")
        }
        // A node that is not a blob at all.
        let node = try await store.putNode(StoreNode(header: Array("BSPT".utf8) + [1], entries: []))
        try await store.flush()
        let notBlob = await #expect(throws: BlockStoreError.self) { _ = try await store.blob(node) }
        #expect(notBlob?.code == .corruptObject)
        // Well-formed blobs still read: zero pieces, a full piece, a short last piece.
        let tail = try await store.putBlock(Array(piece.prefix(5)))
        let good = try await Self.blob(
            store, declared: (2 << 20) + 5,
            entries: [.init(slot: 0, id: .zero), .init(slot: 1, id: full.id), .init(slot: 2, id: tail.id)])
        #expect(try await store.blob(good) == [UInt8](repeating: 0, count: 1 << 20) + piece + piece.prefix(5))
        let zeros = try await Self.blob(store, declared: 5, entries: [.init(slot: 0, id: .zero)])
        #expect(try await store.blob(zeros) == [0, 0, 0, 0, 0])
        #expect(try await store.blob(try await Self.blob(store, declared: 0, entries: [])) == [])
        try await store.close()
    }
}
