import BlockStore
import BlockStoreTesting
import Foundation
import Policy
import RecoveryChain
import Testing

/// S45 for chains: a point that cannot be read is listed as damaged, never hidden; backup,
/// expiry, pruning and deletion of its item refuse with `damaged` having changed nothing, while
/// the intact points still restore and diff; removing the damaged point deliberately lets the
/// chain go on.
@Suite struct DamagedPointTests {
    /// How the middle point of a three-point chain is damaged.
    enum Damage: String, CaseIterable, Sendable {
        /// A bit of the root flipped (the manifest ID of a plain root, the sealed body otherwise).
        case flippedRoot
        /// The root cut in half.
        case truncatedRoot
        /// The root replaced with another point's root bytes.
        case swappedRoot
        /// A root whose metadata is not valid JSON.
        case invalidMetadata
        /// A root whose manifest is a data chunk, not a node.
        case dataChunkAsManifest
        /// A root whose manifest node is not a recovery-point manifest.
        case foreignManifest
        /// A root whose manifest names no map for the point's disk.
        case manifestWithoutTheDisk
    }

    /// Replaces the root `name` with one naming `id` and carrying `payload`.
    static func republish(_ f: ChainFixture, _ point: PointID, id: ChunkID, payload: [UInt8]) async throws {
        try await f.backend.wrapped.delete(f.rootKey(point))
        try await f.store.publishRoot("points/\(f.item)/\(point)", id: id, payload: payload)
    }

    static func apply(_ damage: Damage, to point: PointID, other: PointID, _ f: ChainFixture) async throws {
        let key = f.rootKey(point)
        let record = try await f.store.root("points/\(f.item)/\(point)")
        switch damage {
        case .flippedRoot:
            var bytes = try await f.backend.wrapped.get(key)
            bytes[6 + Int(f.rng.next() % 32)] ^= UInt8(1 << (f.rng.next() % 8))
            try await f.backend.wrapped.put(key, data: bytes)
        case .truncatedRoot:
            let bytes = try await f.backend.wrapped.get(key)
            try await f.backend.wrapped.put(key, data: Array(bytes.prefix(bytes.count / 2)))
        case .swappedRoot:
            try await f.backend.wrapped.put(key, data: try await f.backend.wrapped.get(f.rootKey(other)))
        case .invalidMetadata:
            try await republish(f, point, id: record.id, payload: Array(#"{"id":"\#(point)","item":"#.utf8))
        case .dataChunkAsManifest:
            let data = try await f.store.putBlock((0..<4096).map { _ in UInt8(truncatingIfNeeded: f.rng.next()) })
            try await republish(f, point, id: data.id, payload: record.payload)
        case .foreignManifest:
            let node = try await f.store.putNode(StoreNode(header: Array("XXXX".utf8), entries: []))
            try await republish(f, point, id: node, payload: record.payload)
        case .manifestWithoutTheDisk:
            let node = try await f.store.putNode(StoreNode(header: Array("BSPT".utf8) + [1], entries: []))
            try await republish(f, point, id: node, payload: record.payload)
        }
    }

    @Test(arguments: StoreSetup.all, Damage.allCases)
    func aDamagedPointIsListedAndEveryOperationAroundItRefuses(setup: StoreSetup, damage: Damage) async throws {
        let context = "\(setup.testDescription), \(damage)"
        let f = try await ChainFixture(setup)
        let p1 = try await f.backup(nil).point.id
        let p2 = try await f.backup(TrackedChanges(since: p1, ranges: f.advance())).point.id
        let p3 = try await f.backup(TrackedChanges(since: p2, ranges: f.advance())).point.id
        var otherRequest = BackupRequest(
            item: "other", disks: [DiskInput(disk: 0, source: MemoryDiskSource(bytes: f.disk))])
        otherRequest.blockSizeBytes = ChainFixture.blockSize
        let other = try await f.chains.backup(otherRequest).point.id
        try await Self.apply(damage, to: p2, other: p1, f)
        f.oracles[p2] = nil
        let keysBefore = Set(try await f.backend.wrapped.listAll(prefix: "roots/").map(\.key))

        // Listed, never hidden.
        let listing = try await f.chains.pointListing(item: f.item)
        #expect(listing.points.map(\.id) == [p1, p3], "\(context)")
        #expect(listing.damaged.map(\.point) == [p2], "\(context)")
        #expect(listing.damaged.allSatisfy { $0.item == f.item && !$0.reason.isEmpty }, "\(context)")
        #expect(!listing.isComplete)
        let items = try await f.chains.itemListing()
        #expect(items.items == ["other", f.item], "\(context)")
        #expect(items.damaged == listing.damaged, "\(context)")
        #expect(try await f.chains.items() == ["other", f.item], "\(context)")
        #expect(try await f.chains.summaries(in: listing).map(\.point.id) == [p1, p3], "\(context)")

        // Whatever builds on the chain or deletes from it refuses, naming the point.
        var refusals: [(String, RecoveryChainError.Code?, (any Error)?)] = []
        func refuses(_ what: String, _ body: () async throws -> Void) async {
            let (code, error) = await errorCode(body)
            refusals.append((what, code, error))
        }
        await refuses("points") { _ = try await f.chains.points(item: f.item) }
        await refuses("summaries") { _ = try await f.chains.summaries(item: f.item) }
        await refuses("backup") { try await f.backup(nil) }
        await refuses("tracked backup") { try await f.backup(TrackedChanges(since: p3, ranges: [])) }
        await refuses("expire") { try await f.chains.expire(item: f.item, point: p1) }
        let keepLast = RetentionPolicy(.count(CountRetention(keepLast: 1)))
        await refuses("prune dry run") {
            _ = try await f.chains.forget(
                item: f.item, policy: keepLast, now: f.nextTime, timeZone: TimeZone(identifier: "UTC")!, dryRun: true)
        }
        await refuses("prune") {
            _ = try await f.chains.forget(
                item: f.item, policy: keepLast, now: f.nextTime, timeZone: TimeZone(identifier: "UTC")!, dryRun: false)
        }
        await refuses("deleteItem") { try await f.chains.deleteItem(f.item) }
        for (what, code, error) in refusals {
            #expect(code == .damaged, "\(context): \(what) did not refuse with damaged: \(String(describing: error))")
            if let error = error as? RecoveryChainError {
                #expect(error.message.contains(p2.rawValue), "\(context): \(what): \(error.message)")
                #expect(
                    (error.underlying as? DamageReport)?.damagedRoots == ["points/\(f.item)/\(p2)"],
                    "\(context): \(what)")
            }
        }
        let keysAfter = Set(try await f.backend.wrapped.listAll(prefix: "roots/").map(\.key))
        #expect(keysAfter == keysBefore, "\(context): a refused operation changed the roots")

        // Intact points still restore, diff and read; so does another item, which also backs up.
        try await f.expectEveryReadablePointRestoresBitExact(context)
        let page = try await f.chains.diff(item: f.item, from: p1, to: p3, maxResults: 10_000)
        #expect(!page.ranges.isEmpty, "\(context)")
        #expect(
            try await restoredBytes(f.chains, item: "other", point: other, scratch: f.scratch) == f.oracles[p3],
            "\(context)")
        otherRequest.time = f.nextTime
        _ = try await f.chains.backup(otherRequest)
        let (readCode, _) = await errorCode { try await f.chains.point(item: f.item, point: p2) }
        #expect(
            readCode == .corruptMetadata || readCode == .storeError || readCode == .damaged,
            "\(context): reading the damaged point gave \(String(describing: readCode))")

        // Deliberate removal is only for damaged points; then the chain goes on.
        #expect(
            await errorCode { try await f.chains.removeDamagedPoint(item: f.item, point: p1) }.code == .invalidArgument,
            "\(context)")
        #expect(
            await errorCode { try await f.chains.removeDamagedPoint(item: f.item, point: "20990101T000000Z-00000000") }
                .code
                == .notFound, "\(context)")
        try await f.chains.removeDamagedPoint(item: f.item, point: p2)
        #expect(try await f.chains.points(item: f.item).map(\.id) == [p1, p3], "\(context)")
        let p4 = try await f.backup(TrackedChanges(since: p3, ranges: f.advance())).point.id
        try await f.chains.expire(item: f.item, point: p1)
        #expect(try await f.chains.points(item: f.item).map(\.id) == [p3, p4], "\(context)")
        try await f.expectEveryReadablePointRestoresBitExact("\(context), after removal")
        try await f.close()
    }

    /// A backend that fails is not damage: listing fails with the backend's error instead of
    /// guessing that points are damaged.
    @Test func aBackendErrorFailsTheListingRatherThanMarkingPointsDamaged() async throws {
        let f = try await ChainFixture(StoreSetup(seed: 9, local: false, encrypted: true))
        let p1 = try await f.backup(nil).point.id
        f.backend.configuration = .init(failureProbabilities: [.get: 1])
        let (code, error) = await errorCode { try await f.chains.pointListing(item: f.item) }
        #expect(code == .storeError, "\(String(describing: error))")
        f.backend.configuration = .init(failureProbabilities: [.rangedGet: 1])
        // The manifests are read from packs with ranged reads (the index is already loaded).
        let (manifestCode, manifestError) = await errorCode { try await f.chains.pointListing(item: f.item) }
        #expect(manifestCode == .storeError, "\(String(describing: manifestError))")
        f.backend.configuration = .init()
        #expect(try await f.chains.points(item: f.item).map(\.id) == [p1])
        try await f.close()
    }
}
