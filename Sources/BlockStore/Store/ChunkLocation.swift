/// Where a chunk is stored: a pack (by its number in this process's pack table) and a slice.
///
/// 20 bytes; with its 32-byte key and the hash table's spare capacity the dedup index costs
/// about 80–130 bytes of RAM per chunk (see `Benchmarks/README.md`).
package struct ChunkLocation: Sendable, Equatable {
    package var packNumber: UInt32
    package var offset: UInt32
    package var length: UInt32
    package var rawLength: UInt32
    package var kind: ChunkKind
}
