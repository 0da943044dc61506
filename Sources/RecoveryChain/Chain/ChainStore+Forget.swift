import BlockStore
import Foundation
import Policy

/// What forgetting points by a retention policy did (or would do, in a dry run).
public struct ForgetResult: Sendable {
    /// One decision per point, oldest first, with the policy's reasons.
    public var decisions: [PointDecision]
    /// Points expired (or that would be).
    public var expired: [PointID]
    /// Stored bytes that only the expired points reached: what the next garbage collection frees.
    public var freedBytes: Int64
    /// Whether nothing was changed.
    public var dryRun: Bool
}

extension ChainStore {
    /// Forgets the points a retention policy does not keep (restic's `forget`): evaluates the
    /// policy (pure, `now` given), then expires those points, oldest first, with merge-on-expire.
    /// The latest point is always kept. Space is freed by the next garbage collection (restic's
    /// `prune`; `BlockStore.ChunkStore.collectGarbage(repackThreshold:dryRun:excludingRoots:progress:)`);
    /// ``ForgetResult/freedBytes`` says how much it will free.
    ///
    /// - Parameters:
    ///   - item: The item.
    ///   - policy: The policy (tiered, restic counts, or non-overlapping counts).
    ///   - now: The evaluation time (never read from the clock inside).
    ///   - timeZone: The calendar's zone unless the policy names its own.
    ///   - dryRun: Only report what would happen.
    /// - Throws: `damaged` (having expired nothing) when any point of the item cannot be read:
    ///   a policy cannot be applied to a chain it cannot see whole; `invalidArgument` for a
    ///   policy that cannot be applied.
    /// - Complexity: Lists the item's points, evaluates the policy (O(points log points)), then
    ///   runs a garbage-collection dry run over the whole store (every pack header, index object
    ///   and root, and every node the roots reach) before expiring anything.
    public func forget(
        item: ItemName, policy: RetentionPolicy, now: Date, timeZone: TimeZone, dryRun: Bool
    ) async throws -> ForgetResult {
        let listing = try await pointListing(item: item)
        guard listing.isComplete else { throw listing.damageError("forgetting points of \(item)") }
        let points = listing.points
        let views = points.map { p in
            RetentionPoint(
                id: p.id.rawValue, time: p.time, kind: p.onDemand ? .onDemand : .scheduled, tags: p.tags,
                retainUntil: p.retainUntil)
        }
        let decisions: [PointDecision]
        do {
            decisions = try policy.evaluate(points: views, now: now, timeZone: timeZone)
        } catch {
            throw RecoveryChainError(
                .invalidArgument, "the policy cannot be applied: \(error.message)", underlying: error)
        }
        var expiring = decisions.filter { !$0.isKept }.map { PointID($0.pointID) }
        // The latest point never expires while it is the latest, whatever a policy says.
        if let latest = points.last?.id { expiring.removeAll { $0 == latest } }
        let preview: GarbageCollectionReport
        do {
            preview = try await store.collectGarbage(
                dryRun: true, excludingRoots: Set(expiring.map { PointManifest.rootName(item: item, point: $0) }))
        } catch {
            throw RecoveryChainError.wrap(error, "estimating the space forgetting frees")
        }
        if !dryRun {
            for id in expiring { try await expire(item: item, point: id) }
        }
        return ForgetResult(
            decisions: decisions, expired: expiring, freedBytes: preview.deletedChunkBytes, dryRun: dryRun)
    }
}
