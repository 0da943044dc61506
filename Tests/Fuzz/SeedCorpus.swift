import BlockStoreTesting
import Foundation
import PageRangeDiff
import Policy

@testable import BlockStore
@testable import RecoveryChain

/// Seed inputs for every target, taken from real objects: a plain and an encrypted store on
/// memory, each holding a full and a tracked incremental point of a small seeded disk, written
/// by the library exactly as hosts' stores are.
enum SeedCorpus {
    /// Writes the seeds of `target` into `directory` (one file per seed).
    static func write(target: String, to directory: String) async throws {
        let seeds = try await make()[target] ?? []
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for (i, seed) in seeds.enumerated() {
            try Data(seed).write(to: URL(fileURLWithPath: "\(directory)/seed-\(i)"))
        }
    }

    /// Seeds by target name.
    static func make() async throws -> [String: [[UInt8]]] {
        var seeds: [String: [[UInt8]]] = [:]
        func add(_ name: String, _ bytes: [UInt8]) { seeds[name, default: []].append(bytes) }

        for encrypted in [false, true] {
            let backend = MemoryBackend()
            var options = ChunkStoreOptions()
            options.keyDerivation = .fastForTesting
            options.packTargetBytes = 64 << 10
            let store = try await ChunkStore.create(
                on: backend, encryption: encrypted ? .passphrase("fuzz") : .none, options: options)
            let chains = ChainStore(store: store, workerCount: 1)
            var rng = SplitMix64(seed: 7)
            var disk = (0..<(96 << 10)).map { _ in UInt8(truncatingIfNeeded: rng.next() % 7) }
            var request = BackupRequest(
                item: "vm", disks: [DiskInput(disk: 0, source: MemoryDiskSource(bytes: disk))])
            request.blockSizeBytes = 4096
            let full = try await chains.backup(request).point.id
            for offset in stride(from: 5000, to: disk.count, by: 20_000) { disk[offset] &+= 1 }
            request.disks = [
                DiskInput(
                    disk: 0, source: MemoryDiskSource(bytes: disk),
                    changes: TrackedChanges(since: full, ranges: [0..<UInt64(disk.count)]))
            ]
            let next = try await chains.backup(request).point.id
            let page = try await chains.diff(item: "vm", from: full, to: next, maxResults: 1)
            if let marker = page.nextMarker { add("diff-marker", Array(marker.description.utf8)) }
            for entry in try await backend.listAll(prefix: "locks/") {
                add("lock", try await backend.get(entry.key))
            }
            try await store.close()

            let crypto = store.crypto
            for entry in try await backend.listAll(prefix: "") {
                let bytes = try await backend.get(entry.key)
                let name = entry.key.rawValue
                if name == "config" {
                    add("config", [0] + bytes)
                    if !encrypted {
                        add("config", [1] + (try crypto.open(Array(bytes[6...]), as: .config, what: name)))
                    }
                } else if name.hasPrefix("keys/") {
                    add("key-file", bytes)
                } else if name.hasPrefix("index/") {
                    add("index", [0] + bytes)
                    if !encrypted {
                        add("index", [1] + (try crypto.open(Array(bytes[6...]), as: .indexObject, what: name)))
                    }
                } else if name.hasPrefix("roots/") {
                    let rootName = String(name.dropFirst("roots/".count))
                    add("root", [0] + bytes)
                    let record = try store.decodeRoot(bytes, name: rootName)
                    if !encrypted {
                        add("root", [1] + (try crypto.open(Array(bytes[6...]), as: .root(name: rootName), what: name)))
                    }
                    if rootName.hasPrefix("points/") { add("manifest", record.payload) }
                } else if name.hasPrefix("data/") {
                    guard let packID = ChunkID(hex: String(entry.key.lastSegment)) else { continue }
                    add("pack", [0] + bytes)
                    let entries = try PackFormat.entries(ofPack: bytes, packID: packID, crypto: crypto, what: name)
                    for e in entries {
                        let sealed = Array(bytes[Int(e.offset)..<Int(e.offset + e.length)])
                        if e.rawLength < 0x8000 {
                            let head = UInt16(e.rawLength) | (e.kind == .node ? 0x8000 : 0)
                            add("chunk", [UInt8(head & 0xff), UInt8(head >> 8)] + sealed)
                        }
                        if e.kind == .node {
                            var raw = [UInt8](repeating: 0, count: Int(e.rawLength))
                            let location = ChunkLocation(
                                packNumber: 0, offset: e.offset, length: e.length, rawLength: e.rawLength, kind: .node)
                            try raw.withUnsafeMutableBytes {
                                try store.decode(sealed: sealed, id: e.id, location: location, into: $0)
                            }
                            add("map-node", raw)
                        }
                    }
                }
            }
        }
        let record = ItemJobLock.Record(
            operation: "backup", owner: .current, token: String(repeating: "ab", count: 16), counter: 3,
            staleAfterMilliseconds: 60_000, started: Date(timeIntervalSince1970: 1_800_000_000),
            refreshed: Date(timeIntervalSince1970: 1_800_000_060))
        add("job-guard", record.encoded())
        for policy in [
            #"{"schedule": {"frequency": "daily", "times": ["02:00"]}, "timeZone": "Europe/Berlin", "tiered": {"daily": {"days": 30}, "weekly": {"weeks": 12, "weekdays": ["sunday"]}, "monthly": {"months": 60, "days": ["1", "last", "first sunday"]}, "yearly": {"years": 10, "months": ["december"], "days": ["last"]}}, "onDemandRetentionDays": 30, "protection": {"state": "active"}}"#,
            #"{"keepLast": 3, "keepHourly": 24, "keepDaily": 7, "keepWeekly": 5, "keepMonthly": 12, "keepYearly": -1, "keepWithin": "1y2m3d4h", "keepWithinHourly": "2d", "keepWithinDaily": "7d", "keepWithinWeekly": "1m", "keepWithinMonthly": "1y", "keepWithinYearly": "75y", "keepTags": [["a", "b"], ["c"]], "timeZone": "+01:00"}"#,
            #"{"schedule": {"frequency": "enhanced", "everyHours": 4, "start": "08:00"}, "count": {"keepLast": 2, "keepDaily": 3}}"#,
        ] {
            add("policy", Array(policy.utf8))
        }
        add("changed", Array(#"{"disks":[{"disk":0,"ranges":[[0,4096],[1048576,512]]},{"disk":1,"ranges":[]}]}"#.utf8))
        for xml in [
            #"<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>b</Name><Prefix>p/</Prefix><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated><NextContinuationToken>abc</NextContinuationToken><Contents><Key>p/config</Key><Size>120</Size></Contents><Contents><Key>p/data/ab/cd</Key><Size>65536</Size></Contents></ListBucketResult>"#,
            #"<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>p/x</Key></Error>"#,
            #"<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>u-1</UploadId></InitiateMultipartUploadResult>"#,
            #"<DeleteResult><Deleted><Key>a</Key></Deleted><Error><Key>b</Key><Code>AccessDenied</Code></Error></DeleteResult>"#,
        ] {
            add("s3-xml", Array(xml.utf8))
        }
        for range in ["bytes 0-99/1000", "bytes 5-9/*", "bytes 0-0/1"] { add("s3-content-range", Array(range.utf8)) }
        return seeds
    }
}
