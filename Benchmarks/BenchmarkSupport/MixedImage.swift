import BlockStoreTesting
import Foundation

/// The benchmarks' disk image of mixed content: block i is zeros, text-like or random by
/// i % 3, from a fixed seed, so every benchmark that uses it measures the same bytes.
public enum MixedImage {
    /// Writes a `sizeMiB` MiB image of `blockSize`-byte blocks to `path` (replacing it).
    public static func write(to path: String, sizeMiB: Int, blockSize: Int) throws {
        FileManager.default.createFile(atPath: path, contents: nil)
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? h.close() }
        var rng = SplitMix64(seed: 7)
        let words = ["disk ", "block ", "snapshot ", "page ", "range ", "chain ", "\n"].map { Array($0.utf8) }
        var block = [UInt8](repeating: 0, count: blockSize)
        for i in 0..<(sizeMiB << 20) / blockSize {
            switch i % 3 {
            case 0:
                for k in block.indices { block[k] = 0 }
            case 1:
                var o = 0
                while o < blockSize {
                    for b in words[Int(rng.next() % 7)] where o < blockSize {
                        block[o] = b
                        o += 1
                    }
                }
            default:
                block.withUnsafeMutableBytes { raw in
                    let w = raw.bindMemory(to: UInt64.self)
                    for k in w.indices { w[k] = rng.next() }
                }
            }
            try h.write(contentsOf: Data(block))
        }
    }
}
