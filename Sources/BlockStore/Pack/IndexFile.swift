/// An index object (`index/<id>`): which chunks live in which packs, at which offsets.
///
/// ```
/// index := "BSIX" version:u8=2 mode:u8 body      (mode 0 plain, 1 sealed)
/// body  := seal(packCount:u32 (packID:32 count:u32 entry*)*)   as ObjectRole.indexObject
/// ```
/// Index objects are named by the SHA-256 of their bytes (checked on every read, so an index
/// object under another name is refused) and never rewritten; GC writes consolidated ones and
/// deletes the old ones after.
package struct IndexFile: Sendable {
    package var packs: [(packID: ChunkID, entries: [PackEntry])]

    package static let magic: [UInt8] = Array("BSIX".utf8)
    package static let version: UInt8 = 2
    /// The most entries one index object may hold (bounds memory when loading hostile input).
    package static let entryCountMax = 4 << 20

    package init(packs: [(packID: ChunkID, entries: [PackEntry])]) {
        self.packs = packs
    }

    package func encoded(crypto: ObjectCrypto) throws -> [UInt8] {
        var w = ByteWriter()
        w.u32(UInt32(packs.count))
        for pack in packs {
            w.id(pack.packID)
            w.u32(UInt32(pack.entries.count))
            for e in pack.entries { e.write(to: &w) }
        }
        var out = IndexFile.magic
        out.append(IndexFile.version)
        out.append(crypto.isEncrypted ? 1 : 0)
        out.append(contentsOf: try crypto.seal(w.bytes, as: .indexObject))
        return out
    }

    /// Decodes the index object read from `key`, checking that it hashes to its name and
    /// authenticates as an index object of this store.
    /// - Throws: `corruptObject` (wrong name, bad structure, a plain store's failed checksum),
    ///   `authenticationFailed`, `truncatedObject`, `unsupportedFormat`.
    package static func decode(_ bytes: [UInt8], key: ObjectKey, crypto: ObjectCrypto) throws -> IndexFile {
        let what = "index object \(key)"
        guard key.rawValue.hasPrefix("index/"), key.lastSegment == ChunkHasher.sha256.dataID(bytes).hex else {
            throw BlockStoreError(
                .corruptObject, "\(what) does not hash to its name: it was altered, truncated or renamed")
        }
        var h = ByteReader(bytes, what: what)
        try h.expect(magic)
        let v = try h.u8()
        guard v == version else {
            throw BlockStoreError(
                .unsupportedFormat, "\(what) has index format version \(v); this build reads version \(version)")
        }
        let mode = try h.u8()
        guard mode == (crypto.isEncrypted ? 1 : 0) else {
            throw BlockStoreError(
                .corruptObject,
                "\(what) is \(mode == 1 ? "sealed" : "plain") but the store is \(crypto.isEncrypted ? "encrypted" : "not encrypted")"
            )
        }
        let body = try bytes.withUnsafeBytes {
            try crypto.open(UnsafeRawBufferPointer(rebasing: $0[6...]), as: .indexObject, what: what)
        }
        var r = ByteReader(body, what: what)
        let packCount = Int(try r.u32())
        var packs: [(packID: ChunkID, entries: [PackEntry])] = []
        var total = 0
        for _ in 0..<packCount {
            let packID = try r.id()
            let count = Int(try r.u32())
            total += count
            guard total <= entryCountMax, count * PackEntry.encodedBytes <= r.remaining else {
                throw BlockStoreError(.corruptObject, "\(what) declares more entries than it holds")
            }
            var entries: [PackEntry] = []
            entries.reserveCapacity(count)
            for _ in 0..<count { entries.append(try PackEntry.read(from: &r, what: what)) }
            packs.append((packID, entries))
        }
        guard r.remaining == 0 else {
            throw BlockStoreError(.corruptObject, "\(what) has \(r.remaining) trailing bytes")
        }
        return IndexFile(packs: packs)
    }
}
