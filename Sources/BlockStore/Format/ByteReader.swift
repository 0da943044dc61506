/// Reads little-endian values from untrusted bytes; every read is bounds-checked and a short
/// input throws ``BlockStoreError/Code/truncatedObject`` naming what was being read.
package struct ByteReader {
    private let bytes: [UInt8]
    package private(set) var offset: Int
    private let what: String

    package init(_ bytes: [UInt8], what: String, offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
        self.what = what
    }

    package var remaining: Int { bytes.count - offset }

    private mutating func take(_ n: Int) throws -> Range<Int> {
        guard n >= 0, remaining >= n else {
            throw BlockStoreError(
                .truncatedObject,
                "\(what) ends early: needed \(n) more bytes at offset \(offset), \(max(remaining, 0)) left")
        }
        defer { offset += n }
        return offset..<(offset + n)
    }

    package mutating func u8() throws -> UInt8 { bytes[try take(1).lowerBound] }
    package mutating func u16() throws -> UInt16 {
        let r = try take(2)
        return UInt16(bytes[r.lowerBound]) | UInt16(bytes[r.lowerBound + 1]) << 8
    }
    package mutating func u32() throws -> UInt32 {
        let r = try take(4)
        var v: UInt32 = 0
        for i in (0..<4).reversed() { v = v << 8 | UInt32(bytes[r.lowerBound + i]) }
        return v
    }
    package mutating func u64() throws -> UInt64 {
        let r = try take(8)
        var v: UInt64 = 0
        for i in (0..<8).reversed() { v = v << 8 | UInt64(bytes[r.lowerBound + i]) }
        return v
    }
    package mutating func id() throws -> ChunkID {
        let r = try take(32)
        return bytes.withUnsafeBytes { ChunkID(loadingFrom: $0.baseAddress! + r.lowerBound) }
    }
    package mutating func raw(_ n: Int) throws -> ArraySlice<UInt8> { bytes[try take(n)] }
    package mutating func expect(_ magic: [UInt8]) throws {
        let got = try raw(magic.count)
        guard got.elementsEqual(magic) else {
            throw BlockStoreError(
                .corruptObject, "\(what) does not start with magic \(String(decoding: magic, as: UTF8.self))")
        }
    }
}
