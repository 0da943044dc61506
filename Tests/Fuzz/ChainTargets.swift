import Foundation
import PageRangeDiff
import Policy

@testable import RecoveryChain

/// Targets for what RecoveryChain, Policy and PageRangeDiff read: point manifests, job guards,
/// policies, changed-range documents, diff markers.
enum ChainTargets {
    static let all: [FuzzTarget] = [
        FuzzTarget(name: "manifest", summary: "a recovery point's manifest (a root's payload)") { raw in
            _ = try? PointManifest.decodePoint(Array(raw), rootName: "points/vm/p")
        },
        FuzzTarget(name: "job-guard", summary: "an item's job guard record's JSON") { raw in
            _ = ItemJobLock.Record.decode(Array(raw))
        },
        FuzzTarget(name: "policy", summary: "a policy file's JSON (tiered or count form), validated and evaluated") {
            raw in
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            let data = Data(raw)
            let policy: RetentionPolicy
            if let tiered = try? decoder.decode(RetentionPolicy.self, from: data) {
                policy = tiered
            } else if let count = try? decoder.decode(CountRetention.self, from: data) {
                policy = RetentionPolicy(.count(count))
            } else {
                return
            }
            _ = try? policy.validate()  // evaluation must hold up even without it
            let now = Date(timeIntervalSince1970: 1_800_000_000)
            let points = (0..<40).map { i in
                RetentionPoint(id: "p\(i)", time: now.addingTimeInterval(-Double(i) * 43_200))
            }
            _ = try? policy.evaluate(points: points, now: now, timeZone: TimeZone(identifier: "UTC")!)
        },
        FuzzTarget(name: "changed", summary: "a --changed document's JSON, for disks of 1 TiB and 4 KiB") { raw in
            _ = try? ChangedRangesDocument(json: Array(raw), diskSizes: [1 << 40, 4096])
        },
        FuzzTarget(name: "diff-marker", summary: "a diff continuation marker's text") { raw in
            _ = try? DiffMarker(parsing: String(decoding: raw, as: UTF8.self))
        },
    ]
}
