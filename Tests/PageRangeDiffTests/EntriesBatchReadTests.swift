import BlockStore
import BlockStoreTesting
import PageRangeDiff
import Testing

/// Iterating a map's entries (what a restore does window by window) reads the leaves under
/// each interior node in one batch: the same entries as the map was built from, in a few
/// ranged reads per pack instead of one read per leaf.
@Suite struct EntriesBatchReadTests {
    @Test(arguments: [UInt64(0)..<20_000, 4096..<8192, 123..<5000])
    func entriesComeBackInBatches(range: Range<UInt64>) async throws {
        var rng = SeededRNG(seed: 91)
        let backend = FaultInjectingBackend(wrapping: MemoryBackend())
        var options = ChunkStoreOptions()
        options.keyDerivation = .fastForTesting
        let store = try await ChunkStore.create(on: backend, encryption: .passphrase("e"), options: options)
        // Every third block is zero (absent from the map).
        let changes = (0..<20_000).compactMap { b -> (blockIndex: UInt64, id: ChunkID)? in
            let id = DiffPropertyTests.randomID(&rng, pool: 1 << 30)
            return b % 3 == 0 ? nil : (UInt64(b), id)
        }
        let map = try await BlockMap.build(base: nil, changes: changes, newDiskSizeBytes: 20_000 * 65536, in: store)
        try await store.flush()

        let reader = BlockMapReader(store: store, cache: NodeCache())
        let before = backend.callCount(.rangedGet) + backend.callCount(.get)
        var seen: [(UInt64, ChunkID)] = []
        for try await entry in reader.entries(of: map, blocks: range) { seen.append((entry.blockIndex, entry.id)) }
        let reads = backend.callCount(.rangedGet) + backend.callCount(.get) - before

        let expected = changes.filter { range.contains($0.blockIndex) }
        #expect(seen.count == expected.count)
        #expect(zip(seen, expected).allSatisfy { $0.0 == $1.blockIndex && $0.1 == $1.id })
        // One leaf per 64 blocks: one read each would be range.count / 64 reads.
        let leaves = (range.count + 63) / 64
        #expect(reads * 5 < leaves, "\(reads) store reads for \(leaves) leaves")
    }
}
