import BlockStore

extension BlockMapReader {
    /// Lists the byte ranges that differ between two maps, one page at a time.
    ///
    /// With a base: *changed* where the target holds different data, *cleared* where the target
    /// now reads zeros. If the target is larger, the grown part is reported in full (changed
    /// where it holds data, cleared where it reads zeros); if it is smaller, the cut part
    /// (from the target's end to the base's end) is cleared. Without a base: the changed ranges
    /// holding data (Azure's Get Page Ranges without `prevsnapshot`). Either map may be older.
    ///
    /// - Parameters:
    ///   - base: The point to compare against, or nil.
    ///   - target: The point whose state is described.
    ///   - byteRange: Restrict to these bytes (half-open, both bounds multiples of 512, within
    ///     the larger disk); nil for everything.
    ///   - maxResults: The most ranges in this page, 1…``maxResultsLimit``.
    ///   - marker: The previous page's ``DiffPage/nextMarker``, or nil for the first page.
    ///   - granularity: ``DiffGranularity/block`` (whole blocks) or ``DiffGranularity/exact``.
    ///   - contents: Where exact mode reads block contents (required for exact mode).
    /// - Returns: Sorted, non-overlapping, coalesced, aligned ranges and the next marker.
    ///   Concatenating all pages gives exactly the unpaged list.
    /// - Throws: ``PageRangeDiffError``: `invalidArgument` (unaligned or out-of-range byte
    ///   range, bad `maxResults`, exact mode without contents), `invalidMarker`,
    ///   `geometryMismatch`, node errors, `chunkReadFailed`.
    /// - Complexity: O(differing blocks × height) node reads; identical maps cost O(1) and
    ///   identical subtrees are skipped by ID without being read.
    public func diff(
        from base: BlockMap?,
        to target: BlockMap,
        in byteRange: Range<UInt64>? = nil,
        maxResults: Int = BlockMapReader.defaultMaxResults,
        marker: DiffMarker? = nil,
        granularity: DiffGranularity = .block,
        contents: (any ChunkContentSource)? = nil
    ) async throws -> DiffPage {
        guard maxResults >= 1, maxResults <= BlockMapReader.maxResultsLimit else {
            throw PageRangeDiffError(
                .invalidArgument,
                "maxResults \(maxResults) is outside 1…\(BlockMapReader.maxResultsLimit)")
        }
        if let base, !base.geometry.isCompatible(with: target.geometry) {
            throw PageRangeDiffError(
                .geometryMismatch,
                "cannot diff \(base.geometry) against \(target.geometry): block size and "
                    + "fan-outs must match")
        }
        if granularity == .exact && contents == nil {
            throw PageRangeDiffError(
                .invalidArgument,
                "exact granularity needs a ChunkContentSource to compare block contents")
        }
        let extent = max(target.diskSizeBytes, base?.diskSizeBytes ?? 0)
        let request = byteRange ?? 0..<extent
        guard request.lowerBound % 512 == 0, request.upperBound % 512 == 0 else {
            throw PageRangeDiffError(
                .invalidArgument,
                "byte range \(request) is not 512-byte aligned")
        }
        guard request.upperBound <= extent else {
            throw PageRangeDiffError(
                .invalidArgument,
                "byte range \(request) reaches past the disks' end at \(extent)")
        }
        let fingerprint = DiffMarker.fingerprint(
            base: base, target: target, byteRange: request,
            granularity: granularity)
        var start = request.lowerBound
        if let marker {
            guard marker.requestFingerprint == fingerprint else {
                throw PageRangeDiffError(
                    .invalidMarker,
                    "the marker belongs to a different diff request (other maps, range or "
                        + "granularity); start again without a marker")
            }
            guard marker.resumeOffsetBytes % 512 == 0,
                request.contains(marker.resumeOffsetBytes)
            else {
                throw PageRangeDiffError(
                    .invalidMarker,
                    "the marker's offset \(marker.resumeOffsetBytes) is outside the request")
            }
            start = marker.resumeOffsetBytes
        }
        if let base, base.rootID == target.rootID, base.geometry == target.geometry {
            return DiffPage(ranges: [], nextMarker: nil)
        }
        var walk = DiffWalk(
            base: base, target: target, clip: start..<request.upperBound,
            maxResults: maxResults, granularity: granularity)
        try await drive(&walk, contents: contents)
        let ranges = walk.finish()
        let next = walk.collector.stopOffset.map {
            DiffMarker(resumeOffsetBytes: $0, requestFingerprint: fingerprint)
        }
        return DiffPage(ranges: ranges, nextMarker: next)
    }

    /// The same ranges as ``diff(from:to:in:maxResults:marker:granularity:contents:)``, streamed.
    ///
    /// Memory stays bounded by `pageSize` ranges plus one tree path, whatever the disk size.
    /// - Parameters:
    ///   - base: The point to compare against, or nil.
    ///   - target: The point whose state is described.
    ///   - byteRange: Restrict to these bytes (512-aligned); nil for everything.
    ///   - granularity: Block or exact.
    ///   - contents: Where exact mode reads block contents.
    ///   - pageSize: Ranges fetched per internal page.
    public func ranges(
        from base: BlockMap?,
        to target: BlockMap,
        in byteRange: Range<UInt64>? = nil,
        granularity: DiffGranularity = .block,
        contents: (any ChunkContentSource)? = nil,
        pageSize: Int = 1024
    ) -> DiffRanges {
        DiffRanges(
            reader: self, base: base, target: target, byteRange: byteRange,
            granularity: granularity, contents: contents, pageSize: pageSize)
    }

    // MARK: - Drivers

    /// Runs the walk to the end of its range or page. Two thin drivers around one walk
    /// (``DiffWalk``, which holds every rule):
    /// - in memory: a `ResidentNodeStore`'s nodes are read in place, so one pass does it
    ///   all without suspending (exact mode pauses only to read block contents);
    /// - through the store: passes over the nodes at hand in the cache; each pause for a node
    ///   not at hand loads it, with its siblings in one batched read (``preload(_:)``), then
    ///   the walk resumes at that node.
    func drive(_ walk: inout DiffWalk, contents: (any ChunkContentSource)?) async throws {
        if walk.isDone { return }
        let buffers = ContentBuffers(blockSizeBytes: Int(walk.blockSize))
        var need: DiffWalk.NodeNeed?
        if let resident {
            var pass = DiffPass(source: ResidentNodes(store: resident, cache: cache))
            need = try await passes(&walk, &pass, contents: contents, buffers: buffers)
            guard need != nil else { return }
            // The store does not hold that node in memory: reading it gives the typed error
            // when it is absent; if it is there after all, the cache takes over from it.
        }
        var pass = DiffPass(source: CachedNodes(cache: cache))
        if need == nil {
            need = try await passes(&walk, &pass, contents: contents, buffers: buffers)
        }
        var preloaded: (level: Int, firstBlock: UInt64)? = nil
        while let n = need {
            if let parent = n.parent, preloaded.map({ $0 != parent }) ?? true {
                // Once per node pair: the children it is about to visit, in one request.
                await preload(batch: n, geometry: walk.geometry)
                preloaded = parent
            }
            let node = try await load(n.id)
            walk.firstBlock = max(walk.firstBlock, n.firstBlock)
            pass.source.release(before: walk.firstBlock)
            pass.source.hold(node, id: n.id, until: n.endBlock)
            need = try await passes(&walk, &pass, contents: contents, buffers: buffers)
        }
    }

    /// Walks pass after pass, comparing block contents when exact mode asks; returns the first
    /// node the source does not have at hand, or nil when the walk is done.
    private func passes<Source: DiffNodeSource>(
        _ walk: inout DiffWalk,
        _ pass: inout DiffPass<Source>, contents: (any ChunkContentSource)?,
        buffers: ContentBuffers
    ) async throws -> DiffWalk.NodeNeed? {
        while !walk.isDone, let pause = try walk.run(&pass) {
            switch pause {
            case .node(let need):
                return need
            case .contents(let need):
                for b in need.blocks {
                    let (targetCount, baseCount) = walk.contentByteCounts(b.blockIndex)
                    try await read(
                        b.target, into: buffers.target, count: targetCount,
                        contents: contents)
                    try await read(
                        b.base, into: buffers.base, count: baseCount,
                        contents: contents)
                    walk.comparePages(
                        b.blockIndex, base: UnsafeRawBufferPointer(buffers.base),
                        target: UnsafeRawBufferPointer(buffers.target))
                    if walk.collector.isFull { return nil }
                }
                walk.firstBlock = max(walk.firstBlock, need.resumeBlock)
            }
        }
        return nil
    }

    /// Batch-loads the children a paused walk is about to visit under one node pair: the
    /// base's in slot order, then the target's, so nodes written together come back in few
    /// ranged reads.
    private func preload(batch need: DiffWalk.NodeNeed, geometry: BlockMapGeometry) async {
        // Never more than a quarter of the cache: what is loaded must still be there when the
        // walk gets to it.
        let fanout = need.level == 0 ? geometry.leafFanout : geometry.interiorFanout
        var ids = need.batchBase + need.batchTarget
        let limit = cache.capacityBytes / 4 / (fanout * 36 + 64)
        if ids.count > limit {
            ids = Array(need.batchBase.prefix(limit / 2)) + Array(need.batchTarget.prefix(limit / 2))
        }
        await preload(ids)
    }

    /// Fills `buffer[0..<blockSizeBytes]`: the chunk's `count` bytes, zeros after.
    private func read(
        _ id: ChunkID, into buffer: UnsafeMutableRawBufferPointer, count: Int,
        contents: (any ChunkContentSource)?
    ) async throws {
        buffer.initializeMemory(as: UInt8.self, repeating: 0)
        guard !id.isZero, count > 0, let contents else { return }
        do {
            try await contents.readChunk(id, into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count]))
        } catch {
            throw PageRangeDiffError(
                .chunkReadFailed,
                "reading chunk \(id.shortHex) for an exact diff failed",
                underlying: error)
        }
    }
}

/// Two block-sized buffers for exact mode, allocated on first use, freed with the walk.
final class ContentBuffers {
    let blockSizeBytes: Int
    private var storage: (target: UnsafeMutableRawBufferPointer, base: UnsafeMutableRawBufferPointer)?

    init(blockSizeBytes: Int) {
        self.blockSizeBytes = blockSizeBytes
    }

    private var both: (target: UnsafeMutableRawBufferPointer, base: UnsafeMutableRawBufferPointer) {
        if let storage { return storage }
        let made = (
            UnsafeMutableRawBufferPointer.allocate(byteCount: blockSizeBytes, alignment: 64),
            UnsafeMutableRawBufferPointer.allocate(byteCount: blockSizeBytes, alignment: 64)
        )
        storage = made
        return made
    }

    var target: UnsafeMutableRawBufferPointer { both.target }
    var base: UnsafeMutableRawBufferPointer { both.base }

    deinit {
        storage?.target.deallocate()
        storage?.base.deallocate()
    }
}
