// The BlockSnap tour: a realistic disk image through a full backup, three kinds of change, a
// diff, merge-on-expire and a bit-exact restore, on a local directory store.
//
//   scripts/tour            (or: swift run -c release tour [--dir DIR] [--size-mib N])
import BlockSnap
import Crypto
import Foundation

@main
struct Tour {
    static func main() async {
        do {
            try await run()
        } catch {
            FileHandle.standardError.write(Data("tour failed: \(error)\n".utf8))
            exit(1)
        }
    }

    static func run() async throws {
        let arguments = CommandLine.arguments
        func option(_ name: String) -> String? {
            guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count else { return nil }
            return arguments[i + 1]
        }
        let sizeMiB = Int(option("--size-mib") ?? "256") ?? 256
        let keep = option("--dir") != nil
        let dir =
            option("--dir")
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("blocksnap-tour-\(getpid())").path
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { if !keep { try? FileManager.default.removeItem(atPath: dir) } }

        let t = Terminal()
        t.title("BlockSnap tour")
        t.say("Working in \(dir)\(keep ? "" : " (removed at the end)").")

        // 1. A disk image with a realistic mix.
        let diskPath = "\(dir)/vm1-disk0.img"
        var disk = try DiskImage(path: diskPath, sizeBytes: UInt64(sizeMiB) << 20, seed: 2026)
        try disk.writeInitialLayout()
        t.step(
            "Made a \(sizeMiB) MiB disk image: boot area, file-system metadata, text, random data, and large zero (sparse) regions."
        )

        // 2. A store on the embedded default backend: a local directory.
        let backend = try LocalDirectoryBackend(root: "\(dir)/store")
        let store = try await ChunkStore.create(on: backend, encryption: .passphrase("tour passphrase"))
        let chains = ChainStore(store: store)
        t.step("Created an encrypted store (AES-256-GCM, scrypt-protected key) in \(dir)/store.")

        func backup(_ label: String, tracked: TrackedChanges? = nil) async throws -> (BackupResult, Double) {
            let source = try FileDiskSource(path: diskPath)
            var request = BackupRequest(
                item: "vm1", disks: [DiskInput(disk: 0, name: "disk0", source: source, changes: tracked)])
            request.tags = [label]
            let start = ContinuousClock.now
            let result = try await chains.backup(request)
            return (result, seconds(since: start))
        }

        let (full, fullSeconds) = try await backup("initial")
        t.step(
            "Full backup: \(full.point.disks[0].changedBlocks) data blocks, \(format(full.point.disks[0].storedBytes)) stored, \(rate(disk.sizeBytes, fullSeconds))."
        )
        let copies = "\(dir)/oracle"
        try FileManager.default.createDirectory(atPath: copies, withIntermediateDirectories: true)

        // 3. Three kinds of change, three ways of finding them.
        let scattered = try disk.scatterSmallWrites(fraction: 0.01)
        // The host's tracker was reset when the full point was taken, so its ranges name that point.
        let (inc1, inc1Seconds) = try await backup(
            "scattered", tracked: TrackedChanges(since: full.point.id, ranges: scattered))
        t.step(
            "Scattered 1 % of blocks with small writes; backed up from the host's changed ranges: \(inc1.point.disks[0].changedBlocks) blocks, \(format(inc1.point.disks[0].storedBytes)) stored, \(String(format: "%.2f", inc1Seconds)) s."
        )

        try disk.overwriteCluster(startMiB: sizeMiB / 4, lengthMiB: 16)
        try copyFile(diskPath, to: "\(copies)/point3.img")
        let (inc2, inc2Seconds) = try await backup("clustered")
        t.step(
            "Overwrote 16 MiB in one run; backed up by reading everything and comparing hashes: \(inc2.point.disks[0].changedBlocks) blocks, \(format(inc2.point.disks[0].storedBytes)) stored, \(rate(disk.sizeBytes, inc2Seconds))."
        )

        try disk.zeroRegion(startMiB: 20, lengthMiB: 16)
        let (inc3, _) = try await backup("zeroed")
        t.step(
            "Trimmed 16 MiB of text to zeros; holes are skipped without reading: \(inc3.point.disks[0].changedBlocks) blocks cleared, \(format(inc3.point.disks[0].storedBytes)) stored."
        )

        // 4. The chain, as seed 002 draws it.
        t.title("The chain")
        try await printChain(chains, t)

        // 5. A diff between two points, Get Page Ranges style.
        t.title("Diff between the clustered and the zeroed point")
        let diffStart = ContinuousClock.now
        let page = try await chains.diff(
            item: "vm1", from: inc2.point.id, to: inc3.point.id, disk: 0, maxResults: 10_000)
        let diffSeconds = seconds(since: diffStart)
        for r in page.ranges.prefix(6) {
            t.say(
                "  \(String(describing: r.kind).padding(toLength: 8, withPad: " ", startingAt: 0)) \(r.start)…\(r.end)  (\(format(r.byteCount)))"
            )
        }
        let changedBytes = page.ranges.reduce(0) { $0 + $1.byteCount }
        t.say(
            "  \(page.ranges.count) ranges, \(format(changedBytes)) in all, found in \(String(format: "%.2f", diffSeconds * 1000)) ms"
        )

        // 6. Merge-on-expire: the full point goes, the next becomes full, nothing else changes.
        t.title("Expire the first (full) point: merge-on-expire")
        try await chains.expire(item: "vm1", point: full.point.id)
        try await printChain(chains, t)

        // 7. Restore a middle point and prove it bit-exact against a plain copy taken back then.
        t.title("Restore the clustered point")
        let restored = "\(dir)/restored.img"
        let restoreStart = ContinuousClock.now
        let result = try await chains.restore(item: "vm1", point: inc2.point.id, disk: 0, to: restored)
        let restoreSeconds = seconds(since: restoreStart)
        let same = try filesEqual(restored, "\(copies)/point3.img")
        let digest = try sha256(of: restored)
        t.say(
            "  wrote \(result.blocksWritten) blocks, left \(result.blocksZeroed) zero blocks as holes, \(rate(disk.sizeBytes, restoreSeconds))"
        )
        t.say(
            "  SHA-256 \(digest.prefix(16))…  \(same ? "bit-exact: identical to the copy taken at that point ✔" : "DIFFERS ✘")"
        )
        guard same else { throw TourFailure("the restored disk differs from the copy taken at the point") }

        // 8. Garbage collection frees what only the expired point held.
        try await store.close()
        var gcOptions = ChunkStoreOptions()
        gcOptions.lock = .exclusive
        let gcStore = try await ChunkStore.open(on: backend, passphrase: "tour passphrase", options: gcOptions)
        let gc = try await gcStore.collectGarbage()
        let verify = try await gcStore.verify()
        try await gcStore.close()
        t.title("Garbage collection and verification")
        t.say(
            "  deleted \(gc.deletedChunks) chunks that only the expired point held (\(format(UInt64(max(0, gc.deletedChunkBytes))))); \(gc.deletedPacks + gc.repackedPacks) packs removed or rewritten"
        )
        t.say("  verify: \(verify.isClean ? "clean" : "DAMAGED"), \(verify.checkedChunks) chunks checked")

        t.title("Figures")
        t.say("  full backup   \(rate(disk.sizeBytes, fullSeconds))")
        t.say("  read+compare  \(rate(disk.sizeBytes, inc2Seconds))")
        t.say(
            "  tracked incr. \(String(format: "%.2f", inc1Seconds)) s for \(inc1.point.disks[0].changedBlocks) blocks")
        t.say("  restore       \(rate(disk.sizeBytes, restoreSeconds))")
        t.say("  diff          \(String(format: "%.2f", diffSeconds * 1000)) ms")
    }

    static func printChain(_ chains: ChainStore, _ t: Terminal) async throws {
        let summaries = try await chains.summaries(item: "vm1")
        t.say("  point                        kind         tag         blocks     stored      total")
        var total: UInt64 = 0
        for s in summaries {
            total += s.introducedBytes
            t.say(
                "  \(s.point.id.rawValue.padding(toLength: 28, withPad: " ", startingAt: 0)) \(s.kind.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0)) \((s.point.tags.first ?? "").padding(toLength: 11, withPad: " ", startingAt: 0)) \(String(s.introducedBlocks).padding(toLength: 10, withPad: " ", startingAt: 0)) \(format(s.introducedBytes).padding(toLength: 11, withPad: " ", startingAt: 0)) \(format(total))"
            )
        }
    }
}

struct TourFailure: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

func seconds(since start: ContinuousClock.Instant) -> Double {
    let d = ContinuousClock.now - start
    return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

func format(_ n: UInt64) -> String {
    let units = ["B", "KiB", "MiB", "GiB"]
    var v = Double(n)
    var i = 0
    while v >= 1024 && i < 3 {
        v /= 1024
        i += 1
    }
    return i == 0 ? "\(n) B" : String(format: "%.1f %@", v, units[i])
}

func rate(_ bytes: UInt64, _ seconds: Double) -> String {
    String(format: "%.0f MiB/s (%.2f s)", Double(bytes) / 1_048_576 / max(seconds, 1e-9), seconds)
}

func copyFile(_ from: String, to: String) throws {
    try? FileManager.default.removeItem(atPath: to)
    try FileManager.default.copyItem(atPath: from, toPath: to)
}

func filesEqual(_ a: String, _ b: String) throws -> Bool {
    let x = try FileHandle(forReadingFrom: URL(fileURLWithPath: a))
    let y = try FileHandle(forReadingFrom: URL(fileURLWithPath: b))
    defer {
        try? x.close()
        try? y.close()
    }
    while true {
        let p = try x.read(upToCount: 8 << 20) ?? Data()
        let q = try y.read(upToCount: 8 << 20) ?? Data()
        if p != q { return false }
        if p.isEmpty { return true }
    }
}

func sha256(of path: String) throws -> String {
    let h = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
    defer { try? h.close() }
    var hasher = SHA256()
    while let d = try h.read(upToCount: 8 << 20), !d.isEmpty { hasher.update(data: d) }
    // A SHA-256 digest is 32 bytes, printed the way the store prints chunk IDs.
    return ChunkID(bytes: Array(hasher.finalize()))!.hex
}

/// Pretty output for people.
struct Terminal {
    func title(_ s: String) { print("\n\u{1B}[1m\(s)\u{1B}[0m") }
    func step(_ s: String) { print("• \(s)") }
    func say(_ s: String) { print(s) }
}
