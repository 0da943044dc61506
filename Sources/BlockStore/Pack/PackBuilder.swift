/// A pack being filled: sealed chunks back to back, and their entries.
package struct PackBuilder: Sendable {
    package var bytes: [UInt8] = []
    package var entries: [PackEntry] = []

    /// Bytes reserved beyond the pack target when a builder is made: room for the chunk that
    /// takes a pack past its target and for the header, so the buffer rarely grows (a larger
    /// chunk still fits: this is a reservation, not a bound).
    package static let capacitySlackBytes = 1 << 20

    package init(capacity: Int) {
        bytes.reserveCapacity(capacity)
    }

    package var isEmpty: Bool { entries.isEmpty }

    /// Appends one sealed chunk.
    package mutating func append(id: ChunkID, kind: ChunkKind, rawLength: Int, sealed: UnsafeRawBufferPointer) {
        entries.append(
            PackEntry(
                id: id, kind: kind, offset: UInt32(bytes.count), length: UInt32(sealed.count),
                rawLength: UInt32(rawLength)))
        bytes.append(contentsOf: sealed)
    }

    /// Closes the pack: picks a fresh random ID, appends the header (bound to that ID) and the
    /// trailer, and returns the ID, the bytes and the entries.
    package consuming func finish(crypto: ObjectCrypto) throws -> (id: ChunkID, bytes: [UInt8], entries: [PackEntry]) {
        // A pack needs a name that is never reused, not a content hash: every chunk inside is
        // verified against its own ID on read, so hashing the whole pack again would only cost a
        // full extra pass over the stored bytes.
        var rng = SystemRandomNumberGenerator()
        let id = withUnsafeBytes(
            of: (rng.next() as UInt64, rng.next() as UInt64, rng.next() as UInt64, rng.next() as UInt64)
        ) {
            ChunkID(bytes: $0)
        }
        bytes.append(contentsOf: try PackFormat.trailer(entries: entries, packID: id, crypto: crypto))
        return (id, bytes, entries)
    }
}
