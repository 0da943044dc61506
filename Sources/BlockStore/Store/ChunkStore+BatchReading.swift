extension ChunkStore {
    /// The default of ``readChunks(_:into:gapBytesMax:_:)``'s `gapBytesMax`: reading 1 MiB of
    /// unwanted chunks costs less than another request to object storage.
    public static let defaultCoalescedGapBytes = 1 << 20
    /// The most chunks one coalesced read serves, bounding the bookkeeping of one run.
    static let coalescedChunkCountMax = 256
    /// The most bytes one coalesced read fetches (first wanted chunk to last), bounding the memory
    /// a batch read holds at once: about a default pack.
    static let coalescedReadBytesMax = 16 << 20

    /// Reads several chunks, coalescing chunks that sit near each other in one pack into a single
    /// ranged read (a restore's neighbouring blocks were usually packed together), and hands each
    /// one, verified against its ID, to `body` in the order given.
    ///
    /// - Parameters:
    ///   - ids: The chunks, in the order `body` receives them; ``ChunkID/zero`` is not allowed.
    ///   - buffer: Scratch for one decoded chunk; at least the largest chunk's length.
    ///   - gapBytesMax: Bytes of other chunks a coalesced read may include between two wanted ones.
    ///   - body: Receives each position in `ids` and the chunk's bytes (valid during the call).
    /// - Throws: What ``chunk(_:)`` throws, or what `body` throws.
    public func readChunks(
        _ ids: [ChunkID], into buffer: UnsafeMutableRawBufferPointer,
        gapBytesMax: Int = ChunkStore.defaultCoalescedGapBytes,
        _ body: (Int, UnsafeRawBufferPointer) throws -> Void
    ) async throws {
        var i = 0
        while i < ids.count {
            let first = try await locate(ids[i])
            guard let pack = state.withLock({ $0.index.packID(number: first.packNumber) }) else {
                // The index changed under us (a GC of this instance): fall back to a single read.
                let n = try await readChunk(ids[i], into: buffer)
                try body(i, UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                i += 1
                continue
            }
            // Extend the run while the next chunk is in the same pack, after this one, nearby.
            var run: [(index: Int, location: ChunkLocation)] = [(i, first)]
            var end = UInt64(first.offset) + UInt64(first.length)
            var j = i + 1
            while j < ids.count, run.count < ChunkStore.coalescedChunkCountMax,
                let next = state.withLock({ $0.index.location(of: ids[j]) }),
                next.packNumber == first.packNumber, UInt64(next.offset) >= end,
                UInt64(next.offset) - end <= UInt64(gapBytesMax),
                UInt64(next.offset) + UInt64(next.length) - UInt64(first.offset)
                    <= UInt64(ChunkStore.coalescedReadBytesMax)
            {
                run.append((j, next))
                end = UInt64(next.offset) + UInt64(next.length)
                j += 1
            }
            if run.count == 1 {
                let n = try await readChunk(ids[i], into: buffer)
                try body(i, UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                i += 1
                continue
            }
            let start = UInt64(first.offset)
            let bytes: [UInt8]
            do {
                bytes = try await backend.get(ChunkStore.dataKey(pack), range: start..<end)
            } catch let error as BlockStoreError where error.code == .notFound {
                // Repacked meanwhile: read one by one (each relocates).
                for (index, _) in run {
                    let n = try await readChunk(ids[index], into: buffer)
                    try body(index, UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                }
                i = j
                continue
            }
            guard bytes.count == Int(end - start) else {
                throw BlockStoreError(
                    .truncatedObject,
                    "pack \(pack.shortHex) ends before its chunks (got \(bytes.count) of \(end - start) bytes)")
            }
            for (index, location) in run {
                let lo = Int(UInt64(location.offset) - start)
                guard buffer.count >= Int(location.rawLength) else {
                    throw BlockStoreError(
                        .invalidArgument,
                        "a \(buffer.count)-byte buffer cannot hold chunk \(ids[index].shortHex) of \(location.rawLength) bytes"
                    )
                }
                let out = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<Int(location.rawLength)])
                try bytes.withUnsafeBytes {
                    try decode(
                        sealed: UnsafeRawBufferPointer(rebasing: $0[lo..<(lo + Int(location.length))]), id: ids[index],
                        location: location, into: out)
                }
                try body(index, UnsafeRawBufferPointer(out))
            }
            i = j
        }
    }
}
