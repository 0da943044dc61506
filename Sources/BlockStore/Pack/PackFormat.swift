/// The byte layout of pack objects (see <doc:StoreFormat>).
///
/// ```
/// pack    := sealed* header headerLength:u32 "BSPK" version:u8=2 0 0 0
/// sealed  := sealChunk(flags:u8 ‖ payload)   as ObjectRole.chunk(id, kind); the identity in
///                                              unencrypted stores
/// flags   := bit 0: payload is zstd-compressed
/// header  := seal("BSPH" version:u8=2 count:u32 entry*)   as ObjectRole.packHeader(pack ID)
/// entry   := id:32 kind:u8 0:u8 offset:u32 length:u32 rawLength:u32
/// ```
/// The header is bound to the pack's ID (its name), so a header copied under another pack's
/// name does not open.
package enum PackFormat {
    package static let trailerMagic: [UInt8] = Array("BSPK".utf8)
    package static let headerMagic: [UInt8] = Array("BSPH".utf8)
    package static let version: UInt8 = 2
    /// headerLength + magic + version + padding.
    package static let trailerBytes = 12
    package static let flagCompressed: UInt8 = 1
    /// Packs never exceed this size (offsets are 32-bit).
    package static let packBytesMax = 1 << 30
    /// The largest pack object any reader accepts: 32-bit chunk offsets plus the largest header
    /// (checked before a listed size is converted or a buffer allocated).
    package static let packObjectBytesMax: UInt64 = UInt64(UInt32.max) + 64 << 20
    /// The most entries one pack may list.
    package static let entryCountMax = 1 << 20

    /// The header block and trailer that close the pack named `packID`.
    package static func trailer(entries: [PackEntry], packID: ChunkID, crypto: ObjectCrypto) throws -> [UInt8] {
        var w = ByteWriter(capacity: 9 + entries.count * PackEntry.encodedBytes)
        w.raw(headerMagic)
        w.u8(version)
        w.u32(UInt32(entries.count))
        for e in entries { e.write(to: &w) }
        var out = try crypto.seal(w.bytes, as: .packHeader(packID: packID))
        var t = ByteWriter(capacity: trailerBytes)
        t.u32(UInt32(out.count))
        t.raw(trailerMagic)
        t.u8(version)
        t.raw([0, 0, 0])
        out.append(contentsOf: t.bytes)
        return out
    }

    /// Reads the entries of a whole pack from its header, checking they fit the pack.
    /// - Parameters:
    ///   - packID: The pack's ID, from its name: the header must have been sealed for it.
    ///   - chunkAreaOffset: When `pack` holds only the pack's tail (header and trailer), the size
    ///     of the chunk area before it; 0 when `pack` is the whole pack.
    package static func entries(
        ofPack pack: [UInt8], packID: ChunkID, crypto: ObjectCrypto, what: String, chunkAreaOffset: Int = 0
    ) throws -> [PackEntry] {
        guard pack.count >= trailerBytes else {
            throw BlockStoreError(.truncatedObject, "\(what) is \(pack.count) bytes, shorter than a pack trailer")
        }
        var tr = ByteReader(pack, what: what, offset: pack.count - trailerBytes)
        let headerLength = Int(try tr.u32())
        try tr.expect(trailerMagic)
        let v = try tr.u8()
        guard v == version else {
            throw BlockStoreError(
                .unsupportedFormat, "\(what) has pack format version \(v); this build reads version \(version)")
        }
        guard try tr.u8() == 0, try tr.u8() == 0, try tr.u8() == 0 else {
            throw BlockStoreError(.corruptObject, "\(what) has non-zero padding in its trailer")
        }
        guard headerLength <= pack.count - trailerBytes else {
            throw BlockStoreError(
                .truncatedObject, "\(what) declares a \(headerLength)-byte header but is only \(pack.count) bytes")
        }
        let headerStart = pack.count - trailerBytes - headerLength
        let header = try pack.withUnsafeBytes {
            try crypto.open(
                UnsafeRawBufferPointer(rebasing: $0[headerStart..<(headerStart + headerLength)]),
                as: .packHeader(packID: packID), what: "\(what) header")
        }
        var r = ByteReader(header, what: "\(what) header")
        try r.expect(headerMagic)
        let headerVersion = try r.u8()
        guard headerVersion == version else {
            throw BlockStoreError(
                .unsupportedFormat,
                "\(what) has pack header version \(headerVersion); this build reads version \(version)")
        }
        let count = Int(try r.u32())
        guard count <= entryCountMax, count * PackEntry.encodedBytes == r.remaining else {
            throw BlockStoreError(
                .corruptObject, "\(what) header declares \(count) entries but holds \(r.remaining) bytes of them")
        }
        var entries: [PackEntry] = []
        entries.reserveCapacity(count)
        for _ in 0..<count {
            let e = try PackEntry.read(from: &r, what: what)
            guard UInt64(e.offset) + UInt64(e.length) <= UInt64(chunkAreaOffset + headerStart) else {
                throw BlockStoreError(
                    .corruptObject, "\(what) lists chunk \(e.id.shortHex) past the end of its chunk area")
            }
            entries.append(e)
        }
        return entries
    }
}
