/// A small, fast, seeded random number generator (SplitMix64, Steele, Lea and Flood 2014).
///
/// The same seed gives the same sequence on every platform and run, so a failing randomized
/// test can be replayed from the seed in its failure message. Not for cryptography.
///
/// ```swift
/// var generator = SplitMix64(seed: 42)
/// let coin = Bool.random(using: &generator)
/// ```
public struct SplitMix64: RandomNumberGenerator, Sendable {
    /// The generator's state; the next output is derived from it.
    public private(set) var state: UInt64

    /// Creates a generator whose sequence is fixed by `seed`.
    public init(seed: UInt64) {
        state = seed
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniformly distributed value in `0 ..< 1`, with 53 random bits.
    public mutating func nextUnitInterval() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// `count` random bytes from a generator seeded with `seed`: the same bytes for the same
    /// seed, so test data can be named in a failure message by its seed.
    /// - Complexity: O(`count`), eight bytes per step.
    public static func bytes(count: Int, seed: UInt64) -> [UInt8] {
        var generator = SplitMix64(seed: seed)
        return generator.bytes(count: count)
    }

    /// `count` random bytes.
    /// - Complexity: O(`count`), eight bytes per step.
    public mutating func bytes(count: Int) -> [UInt8] {
        precondition(count >= 0, "byte count must not be negative")
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            var offset = 0
            while offset + 8 <= count {
                raw.storeBytes(of: next().littleEndian, toByteOffset: offset, as: UInt64.self)
                offset += 8
            }
            var tail = next()
            while offset < count {
                raw[offset] = UInt8(truncatingIfNeeded: tail)
                tail >>= 8
                offset += 1
            }
            initialized = count
        }
    }
}
