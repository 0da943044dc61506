import ArgumentParser
import BlockSnap
import Foundation

struct PruneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Forget the points a retention policy does not keep, then collect garbage (restic's forget + prune).",
        discussion: """
            The policy file is the Policy module's JSON form ({"tiered": …}, {"count": …} or
            {"nonOverlappingCount": …}, see docs/POLICY.md), or a flat restic-style object:
            {"keepLast": N, "keepHourly": N, "keepDaily": N, "keepWeekly": N, "keepMonthly": N,
             "keepYearly": N, "keepWithin": "1y2m3d4h", "keepWithinDaily": "…", "keepTags": [["a","b"]],
             "timeZone": "+01:00"}
            """)

    @OptionGroup var options: StoreOptions
    @Option(name: .long, help: "The item.") var item: ItemName
    @Option(name: .long, help: "The policy JSON file.") var policy: String
    @Option(name: .long, help: "Evaluate at this ISO 8601 time instead of now.") var now: String?
    @Flag(name: .long, help: "Show what would happen without changing anything.") var dryRun = false

    /// The largest policy file accepted (policies are a few hundred bytes).
    static let policyByteCountMax = 1 << 20

    /// Reads, decodes and validates a policy file.
    /// - Throws: `notFound`, or the ``PolicyError`` code (`outOfRange`, `invalidValue`,
    ///   `missingValue`, `contradictory`) with a message naming the file and the field.
    static func loadPolicy(_ path: String) throws -> RetentionPolicy {
        let data = Data(try InputFile.read(path, what: "policy file \(path)", byteCountMax: policyByteCountMax))
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        guard let object else { throw CLIError("invalidArgument", "policy file \(path) is not a JSON object") }
        do {
            let policy: RetentionPolicy
            do {
                if object["tiered"] != nil || object["count"] != nil || object["nonOverlappingCount"] != nil {
                    policy = try decoder.decode(RetentionPolicy.self, from: data)
                } else {
                    policy = RetentionPolicy(.count(try decoder.decode(CountRetention.self, from: data)))
                }
            } catch let error as DecodingError {
                throw PolicyError(error)
            }
            // Every field's range now, with its name, before any store is opened.
            try policy.validate()
            return policy
        } catch let error as PolicyError {
            throw CLIError(error.code.description, "policy file \(path): \(error.message)")
        }
    }

    func run() async throws {
        let (options, item, policyPath, nowText, dryRun) = (options, item, policy, now, dryRun)
        await runCommand(json: options.json) {
            let policy = try Self.loadPolicy(policyPath)
            var now = Date()
            if let nowText {
                guard let date = try? Date(nowText, strategy: .iso8601) else {
                    throw CLIError(
                        "invalidArgument", "--now \(nowText) is not an ISO 8601 time such as 2026-01-31T02:00:00Z")
                }
                now = date
            }
            let store = try await options.open(lock: .none)
            let result = try await ChainStore(store: store).forget(
                item: item, policy: policy, now: now, timeZone: TimeZone(identifier: "UTC")!, dryRun: dryRun)
            var gcNote: String? = nil
            if !dryRun && !result.expired.isEmpty {
                do {
                    let gc = try await options.open(lock: .exclusive)
                    _ = try await gc.collectGarbage()
                    try await gc.close()
                } catch let error as BlockStoreError where error.code == .locked {
                    gcNote = "garbage collection postponed: \(error.message)"
                }
            }
            if options.json {
                struct Keep: Encodable { var point: String; var reasons: [String] }
                struct Expire: Encodable { var point: PointID }
                struct Out: Encodable { var keep: [Keep]; var expire: [Expire]; var freedBytes: Int64 }
                let expired = Set(result.expired.map(\.rawValue))
                try Output.json(
                    Out(
                        keep: result.decisions.filter { !expired.contains($0.pointID) }.map {
                            Keep(point: $0.pointID, reasons: $0.reasons)
                        },
                        expire: result.expired.map { Expire(point: $0) },
                        freedBytes: result.freedBytes))
            } else {
                let expired = Set(result.expired.map(\.rawValue))
                for d in result.decisions {
                    let verb = expired.contains(d.pointID) ? (dryRun ? "would expire" : "expired") : "keep"
                    Output.line(
                        "\(verb.padding(toLength: 12, withPad: " ", startingAt: 0)) \(d.pointID)  \(d.reasons.joined(separator: "; "))"
                    )
                }
                Output.line("\(dryRun ? "would free" : "freed") \(ByteSize.format(UInt64(max(0, result.freedBytes))))")
            }
            if let gcNote { FileHandle.standardError.write(Data("blocksnap: \(gcNote)\n".utf8)) }
        }
    }
}
