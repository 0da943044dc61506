import BlockStore
import Testing

@Suite struct ChunkIDTests {
    @Test func hexRoundTripsAndRejectsGarbage() throws {
        let hex = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
        let id = try #require(ChunkID(hex: hex))
        #expect(id.hex == hex)
        #expect(ChunkID(hex: hex.uppercased()) == id)
        #expect(ChunkID(hex: String(hex.dropLast())) == nil)
        #expect(ChunkID(hex: String(hex.dropLast()) + "g") == nil)
        #expect(ChunkID(bytes: id.bytes) == id)
    }

    @Test func sha256OfKnownInputMatchesPublishedDigest() {
        // SHA-256("test") is a published constant.
        let id = ChunkHasher.sha256.dataID(Array("test".utf8))
        #expect(id.hex == "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
        #expect(ChunkHasher.sha256.nodeID(Array("test".utf8)) != id)
    }

    @Test func nodeEncodingRoundTripsAndRejectsHostileInput() throws {
        let a = ChunkHasher.sha256.dataID(Array("a".utf8))
        let node = StoreNode(header: [1, 2, 3], entries: [.init(slot: 0, id: a), .init(slot: 7, id: .zero)])
        let bytes = node.encoded()
        #expect(try StoreNode(decoding: bytes) == node)
        for cut in 0..<bytes.count {
            #expect(throws: BlockStoreError.self) { try StoreNode(decoding: Array(bytes.prefix(cut))) }
        }
        var swapped = bytes
        swapped[12 + 3] = 9  // slot 0 -> 9, now above the second slot 7
        #expect(throws: BlockStoreError.self) { try StoreNode(decoding: swapped) }
    }
}
