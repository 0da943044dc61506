import BlockStore
import BlockStoreTesting
import Foundation
import Policy
import RecoveryChain
import Testing

/// A sweep over every kind of object a store holds: for seeded picks of byte offsets, one bit is
/// flipped (or the object truncated) in a copy of a real store on disk, and then every operation
/// runs — verify, restore of every point, diff of every pair, GC dry run, GC, prune, repair.
///
/// What must hold: in an encrypted store every flip is detected (opening fails, verify or the
/// point listing reports damage, or — for locks and job guards — the guarded operation refuses);
/// no operation ever returns wrong bytes; GC and prune delete nothing while metadata they need is
/// damaged; and once the object is put back (or repair rebuilds the index), every point restores
/// bit-exact against the plain byte copies taken when it was backed up.
@Suite struct DamageSweepTests {
    enum Target: String, CaseIterable, Sendable {
        case packBlob, packHeader, indexObject, root, manifest, mapNode, config, keyFile, lockFile, jobGuard
    }

    /// A pristine store on disk and the byte copies of its live points.
    struct Pristine: Sendable {
        let scratch: ScratchDirectory
        let encrypted: Bool
        let storePath: String
        /// Live points, oldest first, with the disk's bytes at each.
        let points: [(id: PointID, disk: [UInt8])]
        /// A real lock object and a real job guard, as a running process leaves them.
        let lockBytes: [UInt8]
        let guardBytes: [UInt8]
    }

    static let blockSize = 16384
    static let item: ItemName = "vm"

    static func options(_ lock: StoreLockMode) -> ChunkStoreOptions {
        var o = testOptions(lock: lock)
        o.packTargetBytes = 64 << 10
        o.lockTimeout = .milliseconds(200)
        return o
    }

    /// A lock record's bytes with its owner moved to another host (never provably gone).
    static func asAnotherHosts(_ bytes: [UInt8]) throws -> [UInt8] {
        var record = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        var owner = try #require(record["owner"] as? [String: Any])
        owner["hostname"] = "another-host.example"
        record["owner"] = owner
        return Array(try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys]))
    }

    static func makePristine(encrypted: Bool, seed: UInt64) async throws -> Pristine {
        let scratch = ScratchDirectory()
        let path = scratch.file("pristine")
        let backend = try LocalDirectoryBackend(root: path, create: true)
        let store = try await ChunkStore.create(
            on: backend, encryption: encrypted ? .passphrase("pw") : .none, options: options(.shared))
        let chains = ChainStore(store: store, workerCount: 2)
        var rng = SeededGenerator(seed: seed)
        var disk = [UInt8](repeating: 0, count: 24 * blockSize + 1024)
        _ = Churn.clustered(&disk, length: 10 * blockSize, rng: &rng)
        var points: [(PointID, [UInt8])] = []
        var guardBytes: [UInt8] = []
        for step in 0..<4 {
            if step > 0 { _ = Churn.scattered(&disk, count: 6, rng: &rng) }
            var request = BackupRequest(item: item, disks: [DiskInput(disk: 0, source: MemoryDiskSource(bytes: disk))])
            request.blockSizeBytes = blockSize
            request.time = Date(timeIntervalSince1970: 1_800_000_000 + Double(step) * 86_400)
            if step == 2 { request.configuration = Array("vm definition \(seed)".utf8) }
            if step == 3 {
                // The job guard as a running backup holds it.
                let captured = Captured()
                let guardKey = try ObjectKey(validating: "jobs/\(item)")
                request.takeSnapshot = { captured.set(try await backend.get(guardKey)) }
                points.append((try await chains.backup(request).point.id, disk))
                guardBytes = captured.value
            } else {
                points.append((try await chains.backup(request).point.id, disk))
            }
        }
        // The second point expires: the store holds garbage only it reached.
        try await chains.expire(item: item, point: points[1].0)
        points.remove(at: 1)
        let lockKey = try #require(try await backend.listAll(prefix: "locks/").first?.key)
        // The lock as another host's: a flipped digit of this process's pid or start time would
        // otherwise name a process that is provably gone, whose lock is rightly taken over.
        let lockBytes = try Self.asAnotherHosts(try await backend.get(lockKey))
        try await store.close()
        return Pristine(
            scratch: scratch, encrypted: encrypted, storePath: path, points: points, lockBytes: lockBytes,
            guardBytes: guardBytes)
    }

    final class Captured: @unchecked Sendable {
        private let lock = NSLock()
        private var bytes: [UInt8] = []
        func set(_ value: [UInt8]) { lock.withLock { bytes = value } }
        var value: [UInt8] { lock.withLock { bytes } }
    }

    /// One damaged copy of the pristine store.
    struct Case: CustomStringConvertible {
        var target: Target
        var key: ObjectKey
        var original: [UInt8]
        var damaged: [UInt8]
        var offset: Int
        var truncated: Bool
        var description: String {
            "\(target) \(key) \(truncated ? "truncated to \(damaged.count)" : "bit flipped at \(offset)") of \(original.count)"
        }
    }

    /// Byte ranges of an object that a target may hit (the whole object, or one blob in a pack).
    static func pick(
        _ target: Target, in backend: LocalDirectoryBackend, pristine: Pristine, rng: inout SeededGenerator
    ) async throws -> Case {
        func anyOf(_ prefix: String) async throws -> ObjectKey {
            let keys = try await backend.listAll(prefix: prefix).map(\.key).sorted()
            return keys[Int(rng.next() % UInt64(keys.count))]
        }
        var key: ObjectKey
        var range: Range<Int>? = nil
        var truncatable = true
        switch target {
        case .packBlob, .packHeader:
            key = try await anyOf("data/")
            let bytes = try await backend.get(key)
            let headerLength =
                Int(bytes[bytes.count - 12]) | Int(bytes[bytes.count - 11]) << 8
                | Int(bytes[bytes.count - 10]) << 16 | Int(bytes[bytes.count - 9]) << 24
            let headerStart = bytes.count - 12 - headerLength
            range = target == .packBlob ? 0..<headerStart : headerStart..<bytes.count
            truncatable = target == .packHeader
        case .indexObject: key = try await anyOf("index/")
        case .root: key = try await anyOf("roots/points/\(item)/")
        case .config: key = "config"
        case .keyFile: key = try await anyOf("keys/")
        case .lockFile:
            key = try ObjectKey(validating: "locks/\(String(repeating: "ab", count: 16))")
            try await backend.put(key, data: pristine.lockBytes)
        case .jobGuard:
            key = try ObjectKey(validating: "jobs/\(item)")
            try await backend.put(key, data: pristine.guardBytes)
        case .manifest, .mapNode:
            let store = try await ChunkStore.open(
                on: backend, passphrase: pristine.encrypted ? "pw" : nil, options: options(.none))
            let live = pristine.points[Int(rng.next() % UInt64(pristine.points.count))].id
            let manifest = try await store.root("points/\(item)/\(live)").id
            var node = manifest
            if target == .mapNode {
                let mapRoot = try #require(try await store.node(manifest).entries.first { $0.slot == 0 }?.id)
                node = mapRoot
                // Half the time one level down, when the map has one.
                if rng.next() % 2 == 0, let child = try await store.node(mapRoot).entries.first?.id,
                    store.kind(of: child) == .node
                {
                    node = child
                }
            }
            let location = try #require(store.packLocation(of: node))
            try await store.close()
            key = location.pack
            range = Int(location.range.lowerBound)..<Int(location.range.upperBound)
            truncatable = false
        }
        let original = try await backend.get(key)
        let within = range ?? 0..<original.count
        var damaged = original
        let truncated = truncatable && rng.next() % 5 == 0
        var offset = 0
        if truncated {
            damaged = Array(original.prefix(Int(rng.next() % UInt64(original.count))))
        } else {
            offset = within.lowerBound + Int(rng.next() % UInt64(within.count))
            damaged[offset] ^= UInt8(1 << (rng.next() % 8))
        }
        try await backend.put(key, data: damaged)
        return Case(
            target: target, key: key, original: original, damaged: damaged, offset: offset, truncated: truncated)
    }

    /// Every object but locks and job guards (what a refused GC or prune must leave as it was).
    static func snapshot(_ backend: LocalDirectoryBackend) async throws -> [ObjectKey: [UInt8]] {
        var out: [ObjectKey: [UInt8]] = [:]
        for entry in try await backend.listAll(prefix: "") {
            let name = entry.key.rawValue
            if name.hasPrefix("locks/") || name.hasPrefix("jobs") { continue }
            out[entry.key] = try await backend.get(entry.key)
        }
        return out
    }

    @Test(arguments: [(true, 1 as UInt64), (false, 2)])
    func everyObjectKindDamagedNeverCostsDataOrYieldsWrongBytes(encrypted: Bool, seed: UInt64) async throws {
        let pristine = try await Self.makePristine(encrypted: encrypted, seed: seed)
        var rng = SeededGenerator(seed: seed &* 7919)
        for target in Target.allCases where encrypted || target != .keyFile {
            for pick in 0..<3 {
                let path = pristine.scratch.file("case-\(target)-\(pick)")
                try FileManager.default.copyItem(atPath: pristine.storePath, toPath: path)
                defer { try? FileManager.default.removeItem(atPath: path) }
                let backend = try LocalDirectoryBackend(root: path)
                let damage = try await Self.pick(target, in: backend, pristine: pristine, rng: &rng)
                try await run(
                    damage, backend: backend, pristine: pristine,
                    context: "\(encrypted ? "encrypted" : "plain"): \(damage)")
            }
        }
    }

    func run(_ damage: Case, backend: LocalDirectoryBackend, pristine: Pristine, context: String) async throws {
        let passphrase = pristine.encrypted ? "pw" : nil
        let scratch = pristine.scratch
        var detected = false

        // Open, verify, list: what the store says about itself.
        let store: ChunkStore
        do {
            store = try await ChunkStore.open(on: backend, passphrase: passphrase, options: Self.options(.none))
        } catch let error as BlockStoreError {
            // Only settings and keys are read when opening.
            #expect([.config, .keyFile].contains(damage.target), "\(context): open failed: \(error)")
            #expect(error.code != .wrongPassphrase || damage.target == .keyFile, "\(context): \(error)")
            try await putBackAndCheck(damage, backend: backend, pristine: pristine, context: context)
            return
        }
        let chains = ChainStore(store: store, workerCount: 2)
        let verify = try await store.verify()
        let listing = try await chains.pointListing(item: Self.item)
        detected = !verify.isClean || !listing.damaged.isEmpty

        // No operation returns wrong bytes: every point restores bit-exact or refuses.
        for (id, disk) in pristine.points {
            do {
                let bytes = try await restoredBytes(chains, item: Self.item, point: id, scratch: scratch)
                #expect(bytes == disk, "\(context): point \(id) restored wrong bytes")
            } catch let error as RecoveryChainError {
                #expect(error.code != .invalidArgument, "\(context): \(error)")
            }
        }
        for (a, diskA) in pristine.points {
            for (b, diskB) in pristine.points where a != b && diskA.count == diskB.count {
                do {
                    let page = try await chains.diff(item: Self.item, from: a, to: b, maxResults: 10_000)
                    let got = page.ranges.map { "\($0.kind)@\($0.range)" }
                    #expect(got == Self.bruteForce(from: diskA, to: diskB), "\(context): diff \(a)→\(b) is wrong")
                } catch is RecoveryChainError {}
            }
        }
        try await store.close()

        // GC, its dry run and prune: they refuse on damaged metadata, having changed nothing.
        let before = try await Self.snapshot(backend)
        var gcRefusals: [String] = []
        for dryRun in [true, false] {
            do {
                let gcStore = try await ChunkStore.open(
                    on: backend, passphrase: passphrase, options: Self.options(dryRun ? .none : .exclusive))
                do {
                    _ = try await gcStore.collectGarbage(dryRun: dryRun)
                } catch let error as BlockStoreError {
                    gcRefusals.append("\(error.code)")
                }
                try? await gcStore.close()
            } catch let error as BlockStoreError {
                gcRefusals.append("\(error.code)")
            }
            if gcRefusals.count == (dryRun ? 1 : 2) {
                #expect(try await Self.snapshot(backend) == before, "\(context): a refused GC changed the store")
            }
        }
        var lockRefused = false
        if damage.target == .lockFile {
            // A lock that is damaged (or merely present) is held: exclusive work waits and gives up.
            do {
                let exclusive = try await ChunkStore.open(
                    on: backend, passphrase: passphrase, options: Self.options(.exclusive))
                try await exclusive.close()
                Issue.record("\(context): an exclusive lock was granted beside a damaged lock object")
            } catch let error as BlockStoreError {
                #expect(error.code == .locked, "\(context): \(error)")
                lockRefused = true
            }
        }
        var pruneRefused = false
        let writer = try? await ChunkStore.open(on: backend, passphrase: passphrase, options: Self.options(.shared))
        if let writer {
            let pruneChains = ChainStore(store: writer, workerCount: 2)
            let beforePrune = try await Self.snapshot(backend)
            do {
                _ = try await pruneChains.forget(
                    item: Self.item, policy: RetentionPolicy(.count(CountRetention(keepLast: 1))),
                    now: Date(timeIntervalSince1970: 1_900_000_000), timeZone: TimeZone(identifier: "UTC")!,
                    dryRun: false)
            } catch let error as RecoveryChainError {
                pruneRefused = true
                #expect(
                    try await Self.snapshot(backend) == beforePrune,
                    "\(context): a refused prune changed the store: \(error)")
            }
            try? await writer.close()
        } else {
            pruneRefused = true
        }
        let needsWhole: Set<Target> = [.indexObject, .root, .packHeader, .manifest, .mapNode]
        if pristine.encrypted && needsWhole.contains(damage.target) {
            #expect(gcRefusals.count == 2, "\(context): GC ran on a store whose metadata is damaged")
            #expect(pruneRefused, "\(context): prune ran on a store whose metadata is damaged")
        }
        if damage.target == .jobGuard {
            detected = pruneRefused
            #expect(pruneRefused, "\(context): prune ran beside a damaged job guard")
        }
        if damage.target == .lockFile { detected = lockRefused || gcRefusals.count == 2 }
        if pristine.encrypted {
            #expect(detected, "\(context): the damage went unnoticed (verify: \(verify))")
        }
        try await putBackAndCheck(damage, backend: backend, pristine: pristine, context: context)
    }

    /// Puts the object back (or lets repair rebuild a damaged index), then checks that every
    /// point still listed restores bit-exact and verify is clean.
    func putBackAndCheck(_ damage: Case, backend: LocalDirectoryBackend, pristine: Pristine, context: String)
        async throws
    {
        let passphrase = pristine.encrypted ? "pw" : nil
        switch damage.target {
        case .lockFile, .jobGuard:
            try await backend.delete(damage.key)
        case .indexObject:
            let store = try await ChunkStore.open(
                on: backend, passphrase: passphrase, options: Self.options(.exclusive))
            let report = try await ChainStore(store: store).repair()
            #expect(report.damagedPoints.isEmpty, "\(context): repair found damaged points \(report.damagedPoints)")
            try await store.close()
        default:
            // A GC may have removed (or rewritten) the pack if the damage was in garbage.
            if try await backend.size(damage.key) != nil { try await backend.put(damage.key, data: damage.original) }
        }
        if !pristine.encrypted {
            // A plain store's pack headers are not authenticated: a GC that ran on a damaged
            // header indexed what it said, so once the pack is back the index is rebuilt.
            let store = try await ChunkStore.open(
                on: backend, passphrase: passphrase, options: Self.options(.exclusive))
            _ = try await store.repair()
            try await store.close()
        }
        let store = try await ChunkStore.open(on: backend, passphrase: passphrase, options: Self.options(.none))
        let chains = ChainStore(store: store, workerCount: 2)
        let listing = try await chains.pointListing(item: Self.item)
        #expect(listing.damaged.isEmpty, "\(context): after the repair: \(listing.damaged)")
        #expect(!listing.points.isEmpty)
        for point in listing.points {
            let oracle = try #require(pristine.points.first { $0.id == point.id }?.disk)
            let bytes = try await restoredBytes(chains, item: Self.item, point: point.id, scratch: pristine.scratch)
            #expect(bytes == oracle, "\(context): point \(point.id) differs after the repair")
        }
        let verify = try await store.verify()
        #expect(verify.isClean, "\(context): after the repair: \(verify)")
        try await store.close()
    }

    /// Coalesced block-level ranges between two equal-size disks.
    static func bruteForce(from a: [UInt8], to b: [UInt8]) -> [String] {
        var out: [(String, Range<UInt64>)] = []
        var offset = 0
        while offset < b.count {
            let end = min(offset + blockSize, b.count)
            if a[offset..<end] != b[offset..<end] {
                let kind = b[offset..<end].allSatisfy({ $0 == 0 }) ? "cleared" : "changed"
                let r = UInt64(offset)..<UInt64(end)
                if let last = out.last, last.0 == kind, last.1.upperBound == r.lowerBound {
                    out[out.count - 1].1 = last.1.lowerBound..<r.upperBound
                } else {
                    out.append((kind, r))
                }
            }
            offset = end
        }
        return out.map { "\($0.0)@\($0.1)" }
    }
}
