/// Hexadecimal text for bytes and words: the one encoder and decoder of the package.
///
/// Chunk IDs, pack and index names, SigV4 hashes and signatures, lock tokens and store IDs are
/// all written with it, so every hex string the package produces has one spelling: two digits
/// per byte, most significant nibble first, lowercase unless asked otherwise.
///
/// ```swift
/// Hex.encode([0xde, 0xad, 0xbe, 0xef])   // "deadbeef"
/// Hex.encode(UInt64(0x1f))               // "000000000000001f"
/// Hex.decode("DEADbeef")                 // [0xde, 0xad, 0xbe, 0xef]
/// ```
package enum Hex {
    /// The sixteen lowercase digits, `0`–`9` then `a`–`f`, as ASCII.
    package static let lowercaseDigits: [UInt8] = Array("0123456789abcdef".utf8)
    /// The sixteen uppercase digits, `0`–`9` then `A`–`F`, as ASCII (percent-encoding uses these).
    package static let uppercaseDigits: [UInt8] = Array("0123456789ABCDEF".utf8)

    /// `bytes` as two digits each, most significant nibble first.
    /// - Parameters:
    ///   - bytes: The bytes to encode.
    ///   - uppercase: Whether to write `A`–`F` instead of `a`–`f`.
    /// - Complexity: O(n) for n bytes.
    package static func encode(_ bytes: some Sequence<UInt8>, uppercase: Bool = false) -> String {
        let digits = uppercase ? uppercaseDigits : lowercaseDigits
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `value` as exactly 16 lowercase digits, big-endian, zero-padded.
    package static func encode(_ value: UInt64) -> String {
        var out = [UInt8](repeating: 0, count: 16)
        for index in 0..<16 {
            out[index] = lowercaseDigits[Int((value >> UInt64(60 - 4 * index)) & 0xF)]
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the two uppercase or lowercase digits of `byte` to `out`.
    @inline(__always)
    package static func append(_ byte: UInt8, uppercase: Bool = false, to out: inout [UInt8]) {
        let digits = uppercase ? uppercaseDigits : lowercaseDigits
        out.append(digits[Int(byte >> 4)])
        out.append(digits[Int(byte & 0xF)])
    }

    /// Parses an even number of hexadecimal digits (either case) into bytes.
    /// - Returns: The bytes, or nil for an odd length or any character that is not a hex digit.
    /// - Complexity: O(n) for n characters.
    package static func decode(_ text: some StringProtocol) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var bytes = [UInt8](repeating: 0, count: utf8.count / 2)
        for index in bytes.indices {
            guard let high = value(ofDigit: utf8[2 * index]),
                let low = value(ofDigit: utf8[2 * index + 1])
            else { return nil }
            bytes[index] = high << 4 | low
        }
        return bytes
    }

    /// The value 0…15 of one ASCII hex digit (either case), or nil for anything else.
    package static func value(ofDigit character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return character - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return character - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return character - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// Whether `text` consists of lowercase hex digits only (`0`–`9`, `a`–`f`); true when empty.
    package static func isLowercase(_ text: some StringProtocol) -> Bool {
        text.utf8.allSatisfy { lowercaseDigits.contains($0) }
    }

    /// `byteCount` bytes from the system's secure generator, as `2 * byteCount` lowercase digits:
    /// names and tokens that must not collide between processes or hosts.
    package static func random(byteCount: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return encode((0..<byteCount).map { _ in UInt8.random(in: 0...UInt8.max, using: &generator) })
    }
}
