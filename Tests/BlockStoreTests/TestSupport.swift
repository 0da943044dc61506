import BlockStore
import Foundation

/// A small seeded generator (SplitMix64) so randomized tests repeat exactly from their seed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

enum Blocks {
    /// A block of one of three kinds: random (incompressible), text-like, or zeros.
    static func make(_ size: Int, kind: Int, rng: inout SeededGenerator) -> [UInt8] {
        switch kind % 3 {
        case 0:
            var out = [UInt8](repeating: 0, count: size)
            out.withUnsafeMutableBytes { raw in
                let words = raw.bindMemory(to: UInt64.self)
                for i in words.indices { words[i] = rng.next() }
            }
            return out
        case 1:
            let words = ["block", "snap", "disk", "page", "range", "chain", "point", "store", " ", "\n"]
            var out: [UInt8] = []
            out.reserveCapacity(size)
            while out.count < size { out.append(contentsOf: words[Int(rng.next() % 10)].utf8) }
            return Array(out.prefix(size))
        default:
            return [UInt8](repeating: 0, count: size)
        }
    }
}

func fastOptions(lock: StoreLockMode = .shared, packTargetBytes: Int = 1 << 20) -> ChunkStoreOptions {
    var o = ChunkStoreOptions()
    o.keyDerivation = .fastForTesting
    o.lock = lock
    o.packTargetBytes = packTargetBytes
    o.lockTimeout = .milliseconds(300)
    o.packsPerIndexObject = 2
    return o
}
