import BlockStoreTesting
import Foundation

/// A generated disk image that changes like a real one, written sparsely.
struct DiskImage {
    let path: String
    let sizeBytes: UInt64
    private var rng: SplitMix64

    init(path: String, sizeBytes: UInt64, seed: UInt64) throws {
        self.path = path
        self.sizeBytes = sizeBytes
        rng = SplitMix64(seed: seed)
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try h.truncate(atOffset: sizeBytes)
        try h.close()
    }

    private func write(_ data: Data, at offset: UInt64) throws {
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try h.seek(toOffset: offset)
        try h.write(contentsOf: data)
        try h.close()
    }

    mutating func randomBytes(_ n: Int) -> Data {
        var d = Data(count: n)
        d.withUnsafeMutableBytes { raw in
            let words = raw.bindMemory(to: UInt64.self)
            for i in words.indices { words[i] = rng.next() }
        }
        return d
    }

    mutating func text(_ n: Int) -> Data {
        let words = [
            "kernel", "disk", "block", "page", "error", "info", "vm", "snapshot", "user", "login", "GET", "/index.html",
            "200", "\n",
        ]
        var out = Data()
        out.reserveCapacity(n)
        while out.count < n {
            out.append(contentsOf: Array(words[Int(rng.next() % UInt64(words.count))].utf8))
            out.append(32)
        }
        return out.prefix(n)
    }

    /// File-system-like metadata: repeated small records with counters (compressible, distinct).
    mutating func metadata(_ n: Int, base: UInt64) -> Data {
        var out = Data(count: n)
        out.withUnsafeMutableBytes { raw in
            let words = raw.bindMemory(to: UInt64.self)
            for i in words.indices { words[i] = i % 8 == 0 ? base &+ UInt64(i) : (i % 8 == 1 ? 0xEF53 : 0) }
        }
        return out
    }

    /// Lays out: 1 MiB boot, 8 MiB metadata, text, random, with zero regions between.
    mutating func writeInitialLayout() throws {
        let mib = UInt64(1 << 20)
        let total = sizeBytes / mib
        try write(text(1 << 20), at: 0)
        try write(metadata(8 << 20, base: 1000), at: 2 * mib)
        try write(text(Int(total / 8) << 20), at: 16 * mib)
        try write(randomBytes(Int(total / 8) << 20), at: (16 + total / 8 + 4) * mib)
        try write(text(Int(total / 16) << 20), at: total * 5 / 8 * mib)
        try write(metadata(4 << 20, base: 9000), at: (total - 8) * mib)
    }

    /// Small writes to 1 % of 64 KiB blocks at random; returns the changed ranges (as a host's
    /// change tracking would report them, at 4 KiB granularity).
    mutating func scatterSmallWrites(fraction: Double) throws -> [Range<UInt64>] {
        let blocks = sizeBytes / 65536
        let count = max(1, Int(Double(blocks) * fraction))
        var ranges: [Range<UInt64>] = []
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? h.close() }
        for _ in 0..<count {
            let offset = (rng.next() % (sizeBytes / 4096)) * 4096 + (rng.next() % 4000)
            try h.seek(toOffset: offset)
            try h.write(contentsOf: randomBytes(16))
            let page = offset / 4096 * 4096
            ranges.append(page..<(page + 4096))
        }
        return ranges.sorted { $0.lowerBound < $1.lowerBound }
    }

    mutating func overwriteCluster(startMiB: Int, lengthMiB: Int) throws {
        try write(text(lengthMiB << 20), at: UInt64(startMiB) << 20)
    }

    /// Makes a region read as zeros the way a guest's TRIM on a thin disk does: the region
    /// becomes a hole. Without a hole-punching call in Foundation, the image is copied sparsely
    /// (the region left unwritten) and the copy renamed over it.
    func zeroRegion(startMiB: Int, lengthMiB: Int) throws {
        let copy = path + ".trim"
        _ = FileManager.default.createFile(atPath: copy, contents: nil)
        let input = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: copy))
        let mib = UInt64(1) << 20
        let skip = UInt64(startMiB) * mib..<UInt64(startMiB + lengthMiB) * mib
        var offset: UInt64 = 0
        while offset < sizeBytes {
            let data = try input.read(upToCount: Int(mib)) ?? Data()
            if data.isEmpty { break }
            // Unwritten (and all-zero) stretches stay holes in the copy.
            if !skip.contains(offset) && data.contains(where: { $0 != 0 }) {
                try output.seek(toOffset: offset)
                try output.write(contentsOf: data)
            }
            offset += UInt64(data.count)
        }
        try output.truncate(atOffset: sizeBytes)
        try output.synchronize()
        try input.close()
        try output.close()
        guard rename(copy, path) == 0 else { throw TourFailure("cannot rename \(copy) over \(path)") }
    }
}
