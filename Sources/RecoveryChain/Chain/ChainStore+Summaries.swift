import BlockStore

extension ChainStore {
    /// The points of an item with their kind and the storage each is charged for (as Azure Backup bills a chain):
    /// a point introduces the blocks that differ from the previous remaining point (all its data
    /// blocks when it is the oldest, the full one); the chain's cost is the sum.
    ///
    /// - Throws: `damaged` when any point of the item cannot be read (see
    ///   ``summaries(in:)`` to account for the readable ones).
    /// - Complexity: Proportional to the blocks that differ between consecutive points (the
    ///   block-map diff skips shared subtrees), plus the full point's data blocks.
    public func summaries(item: ItemName) async throws -> [PointSummary] {
        let listing = try await pointListing(item: item)
        guard listing.isComplete else { throw listing.damageError("accounting the points of \(item)") }
        return try await summaries(in: listing)
    }

    /// The readable points of a listing with their kind and storage, as
    /// ``summaries(item:)`` gives them; a damaged point is skipped, so the next readable point is
    /// charged against the one before it.
    /// - Complexity: As ``summaries(item:)``.
    public func summaries(in listing: PointListing) async throws -> [PointSummary] {
        let maps = self.maps
        var out: [PointSummary] = []
        var previousRoots: [DiskIndex: (root: ChunkID, sizeBytes: UInt64)] = [:]
        for (i, point) in listing.points.enumerated() {
            guard let manifest = listing.manifests[point.id] else {
                throw RecoveryChainError(
                    .invalidArgument, "the listing of \(listing.item) has no manifest of point \(point.id)")
            }
            var blocks = 0
            var bytes: UInt64 = 0
            var roots: [DiskIndex: (root: ChunkID, sizeBytes: UInt64)] = [:]
            for disk in point.disks {
                guard let root = manifest.mapRoots[disk.disk] else { continue }
                roots[disk.disk] = (root, disk.sizeBytes)
                let changed = try await maps.changedBlocks(
                    from: previousRoots[disk.disk] ?? (.zero, 0), to: (root, disk.sizeBytes),
                    blockSizeBytes: point.blockSizeBytes)
                var k = 0
                while k < changed.count {
                    // Fetch IDs a window at a time.
                    let start = changed[k]
                    let end = min(
                        start + ChainLimits.blocksPerWindow,
                        BlockGeometry.blockCount(sizeBytes: disk.sizeBytes, blockSizeBytes: point.blockSizeBytes))
                    let ids = try await maps.chunkIDs(
                        root: root, sizeBytes: disk.sizeBytes, blockSizeBytes: point.blockSizeBytes,
                        blocks: start..<max(end, start + 1))
                    while k < changed.count && changed[k] < start + UInt64(ids.count) {
                        let id = ids[Int(changed[k] - start)]
                        if !id.isZero {
                            blocks += 1
                            bytes += UInt64(store.storedLength(of: id) ?? 0)
                        }
                        k += 1
                    }
                }
            }
            previousRoots = roots
            let kind: PointKind = point.onDemand ? .onDemand : (i == 0 ? .full : .incremental)
            out.append(PointSummary(point: point, kind: kind, introducedBlocks: blocks, introducedBytes: bytes))
        }
        return out
    }
}
