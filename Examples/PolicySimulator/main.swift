// policy-simulator: two years of a VM under a daily + weekly + monthly + yearly policy.
//
// A fake clock walks from 2025-01-01 to 2026-12-31. Every day the schedule's job starts somewhere
// in its start window (a few runs fail), a handful of on-demand backups are taken, and after each
// backup the policy is evaluated and expired points are dropped, as the chain's cleanup would do.
// At the end it prints the points that remain, with their tiers, expiry and reasons, and the
// storage they hold, assuming a size per point (the real chain storage comes from RecoveryChain).
import BlockStoreTesting
import Foundation
import Policy

func main() throws {
    let zone = TimeZone(identifier: "Europe/Berlin")!
    let schedule = try BackupSchedule(.daily(times: [TimeOfDay("22:00")]))
    let tiers = TieredRetention(
        daily: .init(days: 7),
        weekly: .init(weeks: 4, weekdays: [.sunday]),
        monthly: .init(months: 12, days: [.last]),
        yearly: .init(years: 5, months: [.december], days: [.last]))
    let policy = RetentionPolicy(
        .tiered(tiers), schedule: schedule, timeZone: PolicyTimeZone(zone),
        onDemandRetentionDays: 30)
    try policy.validate()

    var rng = SplitMix64(seed: 2025)  // seeded, so every run prints the same
    let start = ISO8601DateFormatter().date(from: "2025-01-01T00:00:00Z")!
    let end = ISO8601DateFormatter().date(from: "2027-01-01T00:00:00Z")!
    let onDemand: [String: Int?] = [  // local date → own retention in days (nil: policy default)
        "2025-03-14": nil, "2025-11-02": 365, "2026-06-30": nil, "2026-12-20": nil,
    ]

    var points: [RetentionPoint] = []
    var sizeBytes: [String: Int] = [:]
    var expiredCount = 0
    var failedCount = 0
    var clock = start
    let day = DateFormatter()
    day.timeZone = zone
    day.dateFormat = "yyyy-MM-dd"
    let stamp = DateFormatter()
    stamp.timeZone = zone
    stamp.dateFormat = "yyyy-MM-dd HH:mm"
    let gib = 1 << 30

    func cleanup(now: Date) throws {
        let decisions = try policy.evaluate(
            points: points, now: now, timeZone: zone)
        let gone = Set(decisions.filter { !$0.isKept }.map(\.pointID))
        expiredCount += gone.count
        points.removeAll { gone.contains($0.id) }
    }

    while true {
        let run = schedule.nextRun(after: clock, timeZone: zone)
        guard run < end else { break }
        let window = schedule.startWindow(forRunAt: run)
        let started = run.addingTimeInterval(.random(in: 0..<window.duration, using: &rng))
        if let retention = onDemand[day.string(from: run)] {
            let taken = run.addingTimeInterval(-10 * 3600)
            let id = "od-\(day.string(from: taken))"
            points.append(
                RetentionPoint(
                    id: id, time: taken, kind: .onDemand,
                    retainUntil: retention.map {
                        taken.addingTimeInterval(TimeInterval($0) * 86_400)
                    }))
            sizeBytes[id] = Int.random(in: 1...3, using: &rng) * gib
        }
        if Int.random(in: 0..<100, using: &rng) < 3 {
            failedCount += 1
        } else {
            let id = "rp-\(day.string(from: started))"
            points.append(RetentionPoint(id: id, time: started))
            // Each point holds its day's changes; the full image is counted once, below.
            sizeBytes[id] = Int.random(in: 512...3072, using: &rng) << 20
        }
        clock = run
        try cleanup(now: started.addingTimeInterval(3600))
    }

    let now = end
    try cleanup(now: now)
    let decisions = try policy.evaluate(points: points, now: now, timeZone: zone)
    print("policy-simulator: 2 years, daily 22:00 Europe/Berlin (start window 2 h)")
    print("policy: daily 7 days, weekly (Sunday) 4 weeks, monthly (last day) 12 months,")
    print("        yearly (Dec, last day) 5 years, on-demand 30 days unless set per point")
    print("now: \(stamp.string(from: now)) \(zone.identifier)\n")
    func pad(_ s: String, _ n: Int) -> String {
        s.count >= n ? s : s + String(repeating: " ", count: n - s.count)
    }
    print(
        pad("point", 16), pad("taken (local)", 17), pad("kind", 10), pad("tiers", 28),
        pad("expires", 17), "reasons")
    // The full disk image (64 GiB) stays, carried by the oldest point as older ones are merged
    // into it on expiry; every remaining point adds its own changes.
    let baseBytes = 64 * gib
    var held = baseBytes
    for (p, d) in zip(points, decisions).sorted(by: { $0.0.time < $1.0.time }) {
        held += sizeBytes[p.id] ?? 0
        print(
            pad(p.id, 16), pad(stamp.string(from: p.time), 17), pad(p.kind.rawValue, 10),
            pad(d.tiers.map(\.rawValue).joined(separator: ","), 28),
            pad(d.expiry.map { stamp.string(from: $0) } ?? "-", 17),
            d.reasons.joined(separator: "; "))
    }
    let gibHeld = Double(held) / Double(gib)
    print(
        "\n\(points.count) points remain, holding \(String(format: "%.1f", gibHeld)) GiB: a 64 GiB "
            + "base image plus each point's changes (0.5-3 GiB, assumed).")
    print(
        "\(expiredCount) points expired over the two years; \(failedCount) scheduled runs failed.")
    print("next scheduled run: \(stamp.string(from: schedule.nextRun(after: now, timeZone: zone)))")
}

try main()
