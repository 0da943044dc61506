extension ChunkStore {
    /// The default of ``planReads(_:gapBytesMax:readBytesMax:)``'s `readBytesMax`: one request
    /// fetches at most about a default pack, so a restore issues tens of requests per GiB.
    package static let defaultRunBytesMax = 16 << 20

    /// Groups chunks into runs that one ranged read each fetches: the chunks are sorted by pack
    /// and offset, and neighbours join a run while the gap of other chunks between them is at
    /// most `gapBytesMax` and the run spans at most `readBytesMax` bytes.
    ///
    /// Planning reads only the in-memory index; a chunk it does not know yet becomes a run of its
    /// own, looked up (index refreshed) when read. Duplicate IDs each get their own member.
    /// - Parameters:
    ///   - ids: The chunks; ``ChunkID/zero`` is not allowed.
    ///   - gapBytesMax: Bytes of other chunks a run may fetch between two wanted ones.
    ///   - readBytesMax: The most bytes one run fetches (a single larger chunk is still one run).
    /// - Returns: The runs, ordered by pack and offset.
    package func planReads(
        _ ids: [ChunkID], gapBytesMax: Int = ChunkStore.defaultCoalescedGapBytes,
        readBytesMax: Int = ChunkStore.defaultRunBytesMax
    ) -> [ChunkReadRun] {
        typealias Placed = (position: Int, location: ChunkLocation, pack: ChunkID)
        var placed: [Placed] = []
        placed.reserveCapacity(ids.count)
        var runs: [ChunkReadRun] = []
        state.withLock { s in
            for (position, id) in ids.enumerated() {
                if let location = s.index.location(of: id), let pack = s.index.packID(number: location.packNumber) {
                    placed.append((position, location, pack))
                } else {
                    runs.append(
                        ChunkReadRun(
                            pack: nil, range: 0..<0, members: [.init(position: position, id: id, location: nil)]))
                }
            }
        }
        placed.sort {
            ($0.location.packNumber, $0.location.offset, $0.position)
                < ($1.location.packNumber, $1.location.offset, $1.position)
        }
        var i = 0
        while i < placed.count {
            let first = placed[i]
            let start = UInt64(first.location.offset)
            var end = start + UInt64(first.location.length)
            var members: [ChunkReadRun.Member] = [
                .init(position: first.position, id: ids[first.position], location: first.location)
            ]
            var j = i + 1
            while j < placed.count {
                let next = placed[j].location
                let nextStart = UInt64(next.offset)
                let nextEnd = nextStart + UInt64(next.length)
                // The same pack, after what is already fetched (or the same chunk again: a block
                // that repeats another), a small gap, under the cap.
                let repeated = next == placed[j - 1].location
                guard next.packNumber == first.location.packNumber,
                    repeated || (nextStart >= end && nextStart - end <= UInt64(gapBytesMax)),
                    max(end, nextEnd) - start <= UInt64(readBytesMax)
                else { break }
                members.append(.init(position: placed[j].position, id: ids[placed[j].position], location: next))
                end = max(end, nextEnd)
                j += 1
            }
            runs.append(ChunkReadRun(pack: first.pack, range: start..<end, members: members))
            i = j
        }
        return runs
    }

    /// Reads one planned run with a single ranged read and decodes each chunk, verified against
    /// its ID, into the buffer `destination` gives for it; then calls `body`.
    ///
    /// A run whose pack has gone (a garbage collection repacked it meanwhile) is read chunk by
    /// chunk through the index instead.
    /// - Parameters:
    ///   - run: A run from ``planReads(_:gapBytesMax:readBytesMax:)``.
    ///   - destination: Where member `k` (of `run.members`) decodes to; at least its length.
    ///   - body: Called after member `k` decoded and verified, with its length in bytes.
    /// - Throws: What ``chunk(_:)`` throws, or what the closures throw.
    package func read(
        _ run: ChunkReadRun, decodingInto destination: (Int) async throws -> UnsafeMutableRawBufferPointer,
        _ body: (Int, Int) async throws -> Void
    ) async throws {
        guard let pack = run.pack else {
            for k in run.members.indices { try await readAlone(run, k, destination, body) }
            return
        }
        let bytes: [UInt8]
        do {
            bytes = try await backend.get(ChunkStore.dataKey(pack), range: run.range)
        } catch let error as BlockStoreError where error.code == .notFound {
            // Repacked meanwhile: read one by one (each relocates).
            for k in run.members.indices { try await readAlone(run, k, destination, body) }
            return
        }
        guard bytes.count == run.byteCount else {
            throw BlockStoreError(
                .truncatedObject,
                "pack \(pack.shortHex) ends before its chunks (got \(bytes.count) of \(run.byteCount) bytes)")
        }
        for (k, member) in run.members.enumerated() {
            guard let location = member.location else { continue }
            // The destination may wait (a restore's writer handing its full stage to the write
            // queue), so each member is decoded in its own short borrow of the fetched bytes.
            let out = try await destination(k)
            guard out.count >= Int(location.rawLength) else {
                throw BlockStoreError(
                    .invalidArgument,
                    "a \(out.count)-byte buffer cannot hold chunk \(member.id.shortHex) of \(location.rawLength) bytes"
                )
            }
            let lo = Int(UInt64(location.offset) - run.range.lowerBound)
            try bytes.withUnsafeBytes { fetched in
                try decode(
                    sealed: UnsafeRawBufferPointer(rebasing: fetched[lo..<(lo + Int(location.length))]), id: member.id,
                    location: location, into: UnsafeMutableRawBufferPointer(rebasing: out[0..<Int(location.rawLength)]))
            }
            try await body(k, Int(location.rawLength))
        }
    }

    private func readAlone(
        _ run: ChunkReadRun, _ k: Int, _ destination: (Int) async throws -> UnsafeMutableRawBufferPointer,
        _ body: (Int, Int) async throws -> Void
    ) async throws {
        let n = try await readChunk(run.members[k].id, into: try await destination(k))
        try await body(k, n)
    }
}
