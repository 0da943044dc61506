import BlockStore
import PageRangeDiff

extension ChainStore {
    /// The byte ranges of a disk that differ between two points, as Azure's Get Page Ranges with
    /// `prevsnapshot` lists them: sorted, non-overlapping, coalesced, 512-byte aligned, each
    /// *changed* (new data) or *cleared* (now zeros). Without `from`: the ranges holding data.
    /// Either point may be the older one.
    ///
    /// - Parameters:
    ///   - item: The item.
    ///   - from: The point to compare against, or nil.
    ///   - to: The point whose state is described.
    ///   - disk: The disk number.
    ///   - byteRange: Half-open, 512-aligned restriction; nil for the whole disk.
    ///   - maxResults: Ranges per page (at most 10,000 by default, like Azure).
    ///   - marker: The previous page's `nextMarker`.
    ///   - exact: Refine changed blocks to the 512-byte pages that really differ (reads both
    ///     blocks' contents); block granularity otherwise.
    /// - Complexity: Proportional to the blocks that differ: shared subtrees are skipped by ID.
    public func diff(
        item: ItemName, from: PointID?, to: PointID, disk: DiskIndex = 0, in byteRange: Range<UInt64>? = nil,
        maxResults: Int = BlockMapReader.defaultMaxResults, marker: DiffMarker? = nil, exact: Bool = false
    ) async throws -> DiffPage {
        let (base, target) = try await diffMaps(item: item, from: from, to: to, disk: disk)
        do {
            return try await maps.reader.diff(
                from: base, to: target, in: byteRange, maxResults: maxResults, marker: marker,
                granularity: exact ? .exact : .block, contents: exact ? StoreContents(store: store) : nil)
        } catch {
            throw RecoveryChainError.wrap(error, "the diff of \(item) disk \(disk)")
        }
    }

    /// The same ranges as ``diff(item:from:to:disk:in:maxResults:marker:exact:)``, streamed with
    /// bounded memory.
    public func diffRanges(
        item: ItemName, from: PointID?, to: PointID, disk: DiskIndex = 0, in byteRange: Range<UInt64>? = nil,
        exact: Bool = false
    ) async throws -> DiffRanges {
        let (base, target) = try await diffMaps(item: item, from: from, to: to, disk: disk)
        return maps.reader.ranges(
            from: base, to: target, in: byteRange, granularity: exact ? .exact : .block,
            contents: exact ? StoreContents(store: store) : nil)
    }

    private func diffMaps(item: ItemName, from: PointID?, to: PointID, disk: DiskIndex) async throws -> (
        BlockMap?, BlockMap
    ) {
        func map(_ id: PointID) async throws -> BlockMap {
            let (point, manifest) = try await pointRecord(item: item, point: id)
            guard let root = manifest.mapRoots[disk], let meta = point.disks.first(where: { $0.disk == disk }),
                let map = try await maps.open(root, sizeBytes: meta.sizeBytes, blockSizeBytes: point.blockSizeBytes)
            else {
                throw RecoveryChainError(
                    .notFound, "point \(id) of \(item) has no disk \(disk) (it has \(point.disks.map(\.disk)))")
            }
            return map
        }
        let target = try await map(to)
        let base = try await from.asyncMap { try await map($0) }
        return (base, target)
    }
}
