/// Where one chunk sits inside a pack, as recorded in the pack's header and in index files.
package struct PackEntry: Sendable, Equatable {
    package var id: ChunkID
    package var kind: ChunkKind
    /// Byte offset of the sealed chunk within the pack.
    package var offset: UInt32
    /// Stored (compressed, sealed) length of the sealed chunk.
    package var length: UInt32
    /// Decoded length of the chunk's content.
    package var rawLength: UInt32

    package init(id: ChunkID, kind: ChunkKind, offset: UInt32, length: UInt32, rawLength: UInt32) {
        self.id = id
        self.kind = kind
        self.offset = offset
        self.length = length
        self.rawLength = rawLength
    }

    package static let encodedBytes = 46
    /// The largest decoded chunk accepted (blocks are at most 4 MiB; nodes about 2.3 MiB).
    package static let rawLengthMax: UInt32 = 8 << 20
    /// How many bytes a sealed chunk may exceed its decoded length by, besides the flag byte and
    /// the seal: room for a compressor's worst-case expansion (zstd's bound for the largest
    /// chunk is about 32 KiB over), although this build stores a chunk raw whenever compression
    /// does not save bytes. A larger claim is damage, caught before any buffer is sized by it.
    package static let storedExpansionBytesMax = 64 * 1024

    package func write(to w: inout ByteWriter) {
        w.id(id)
        w.u8(kind.rawValue)
        w.u8(0)
        w.u32(offset)
        w.u32(length)
        w.u32(rawLength)
    }

    package static func read(from r: inout ByteReader, what: String) throws -> PackEntry {
        let id = try r.id()
        let kindByte = try r.u8()
        guard try r.u8() == 0 else {
            throw BlockStoreError(.corruptObject, "\(what) has an entry with a non-zero reserved byte")
        }
        guard let kind = ChunkKind(rawValue: kindByte) else {
            throw BlockStoreError(.corruptObject, "\(what) has an entry of unknown kind \(kindByte)")
        }
        let entry = PackEntry(id: id, kind: kind, offset: try r.u32(), length: try r.u32(), rawLength: try r.u32())
        guard entry.rawLength <= rawLengthMax,
            UInt64(entry.length) <= UInt64(entry.rawLength) + UInt64(storedExpansionBytesMax)
                + UInt64(ObjectCrypto.sealOverhead) + 1,
            entry.length > 0
        else {
            throw BlockStoreError(
                .corruptObject,
                "\(what) has an entry with impossible sizes (stored \(entry.length), raw \(entry.rawLength))")
        }
        return entry
    }
}
