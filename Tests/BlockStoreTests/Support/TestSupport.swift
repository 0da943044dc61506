import BlockStore
import BlockStoreTesting
import Foundation

enum Blocks {
    /// A block of one of three kinds: random (incompressible), text-like, or zeros.
    static func make(_ size: Int, kind: Int, rng: inout SplitMix64) -> [UInt8] {
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

extension FaultInjectingBackend {
    /// How many packs the store's backend holds.
    func allPackCount(store: ChunkStore) -> Int {
        (wrapped as? MemoryBackend)?.allKeys.filter { $0.rawValue.hasPrefix("data/") }.count ?? 0
    }
}
