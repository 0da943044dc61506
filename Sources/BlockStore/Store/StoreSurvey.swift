/// What a store holds, as its own objects say: every pack header, every index object and every
/// root, each read and authenticated, with what could not be.
///
/// Garbage collection, repair and full verification start from a survey. The pack headers are
/// the authority on where chunks are (index objects are a cache of them): the survey's
/// ``locations`` come from headers alone, so a damaged or stale index can never make a live chunk
/// look absent.
struct StoreSurvey: Sendable {
    /// How many nodes marking reads between two progress reports: often enough for a progress
    /// bar, rare enough to cost nothing next to the reads.
    static let markProgressNodeInterval = 256

    /// A pack whose header read and authenticated.
    struct Pack: Sendable {
        var id: ChunkID
        var key: ObjectKey
        var sizeBytes: UInt64
        var entries: [PackEntry]
    }

    /// Where a chunk is, by a pack header: the pack's position in ``packs`` and its entry.
    struct Location: Sendable {
        var pack: Int
        var entry: PackEntry
    }

    /// An object that could not be read, decoded or authenticated.
    struct Damaged: Sendable {
        var key: ObjectKey
        var error: BlockStoreError
    }

    /// Readable packs, sorted by key.
    var packs: [Pack] = []
    /// Packs whose header cannot be read or authenticated (their chunks are unknown).
    var damagedPacks: [Damaged] = []
    /// Every index object listed.
    var indexKeys: [ObjectKey] = []
    /// Index objects that decoded and authenticated, with their content.
    var indexFiles: [(key: ObjectKey, file: IndexFile)] = []
    /// Index objects that did not.
    var damagedIndexObjects: [Damaged] = []
    /// Every root, readable or damaged.
    var roots = RootListing()
    /// Each chunk's location in the first readable pack (by key) whose header lists it.
    var locations: [ChunkID: Location] = [:]

    /// Index entries that disagree with the pack headers.
    struct IndexCheck: Sendable, Equatable {
        /// Chunks whose index entry names a readable pack whose header places them differently
        /// (another offset, length, size or kind) or does not list them at all.
        var mismatched: [ChunkID] = []
        /// Chunks whose index entry names a pack that does not exist.
        var dangling: [ChunkID] = []
        /// Chunks that a readable pack header lists but no index object does (a writer that
        /// stopped before writing its index leaves these; they are harmless).
        var unindexed: Int = 0

        var isConsistent: Bool { mismatched.isEmpty && dangling.isEmpty }
    }

    /// Compares every index entry with the pack headers.
    func checkIndex() -> IndexCheck {
        var check = IndexCheck()
        var packPosition: [ChunkID: Int] = [:]
        for (n, pack) in packs.enumerated() { packPosition[pack.id] = n }
        let damagedPackIDs = Set(damagedPacks.compactMap { ChunkID(hex: $0.key.lastSegment) })
        var byPack: [Int: [ChunkID: PackEntry]] = [:]
        var indexed: Set<PackedEntryKey> = []
        for (_, file) in indexFiles {
            for (packID, entries) in file.packs {
                guard let n = packPosition[packID] else {
                    // A pack with a damaged header is reported as such, not once per entry.
                    if !damagedPackIDs.contains(packID) { check.dangling.append(contentsOf: entries.map(\.id)) }
                    continue
                }
                if byPack[n] == nil {
                    var table: [ChunkID: PackEntry] = [:]
                    for e in packs[n].entries where table[e.id] == nil { table[e.id] = e }
                    byPack[n] = table
                }
                for e in entries {
                    if byPack[n]?[e.id] == e {
                        indexed.insert(PackedEntryKey(pack: n, id: e.id))
                    } else {
                        check.mismatched.append(e.id)
                    }
                }
            }
        }
        for (n, pack) in packs.enumerated() {
            for e in pack.entries where !indexed.contains(PackedEntryKey(pack: n, id: e.id)) { check.unindexed += 1 }
        }
        check.mismatched = Array(Set(check.mismatched)).sorted()
        check.dangling = Array(Set(check.dangling)).sorted()
        return check
    }

    private struct PackedEntryKey: Hashable {
        var pack: Int
        var id: ChunkID
    }

    /// Everything damaged that the survey itself found (objects only; reachability is separate).
    var damagedObjectKeys: [ObjectKey] {
        (damagedPacks.map(\.key) + damagedIndexObjects.map(\.key)
            + roots.damaged.compactMap { try? ChunkStore.rootKey($0.name) }).sorted()
    }
}

extension ChunkStore {
    /// Reads every pack header, every index object and every root.
    ///
    /// Damage (an object that does not decode or authenticate) is recorded in the survey; a
    /// backend failure (an object that cannot be fetched at all) throws, because a survey that
    /// skipped an object would not be complete.
    /// - Parameter readPacks: Packs whose header is already known (from a whole-pack read) can be
    ///   supplied by the caller; by default every header is read with two ranged reads.
    func survey(progress: StoreProgressHandler?) async throws -> StoreSurvey {
        var survey = StoreSurvey()
        let listed = try await listPacks().sorted { $0.key < $1.key }
        for (n, pack) in listed.enumerated() {
            try Task.checkCancellation()
            progress?(StoreProgress(phase: "reading pack headers", done: n, total: listed.count, bytesRead: 0))
            do {
                let entries = try await packEntries(pack.key, sizeBytes: pack.sizeBytes)
                survey.packs.append(
                    StoreSurvey.Pack(id: pack.id, key: pack.key, sizeBytes: pack.sizeBytes, entries: entries))
            } catch let error as BlockStoreError where ChunkStore.isDamage(error) {
                survey.damagedPacks.append(StoreSurvey.Damaged(key: pack.key, error: error))
            }
        }
        survey.locate()
        try await surveyIndexAndRoots(&survey, progress: progress)
        return survey
    }

    /// Reads every index object and every root into `survey`.
    func surveyIndexAndRoots(_ survey: inout StoreSurvey, progress: StoreProgressHandler?) async throws {
        survey.indexKeys = try await backend.listAll(prefix: "index/").map(\.key).sorted()
        for (n, key) in survey.indexKeys.enumerated() {
            try Task.checkCancellation()
            progress?(
                StoreProgress(phase: "reading index objects", done: n, total: survey.indexKeys.count, bytesRead: 0))
            let bytes: [UInt8]
            do {
                bytes = try await backend.get(key, byteCountMax: ObjectSizeLimits.indexObject)
            } catch let error as BlockStoreError where error.code == .notFound {
                survey.damagedIndexObjects.append(
                    StoreSurvey.Damaged(
                        key: key,
                        error: BlockStoreError(
                            .notFound, "index object \(key) was listed but is gone", underlying: error)))
                continue
            } catch let error as BlockStoreError where ChunkStore.isDamage(error) {
                survey.damagedIndexObjects.append(StoreSurvey.Damaged(key: key, error: error))
                continue
            }
            do {
                survey.indexFiles.append(
                    (key, try IndexFile.decode(bytes, key: key, crypto: crypto)))
            } catch let error as BlockStoreError {
                survey.damagedIndexObjects.append(StoreSurvey.Damaged(key: key, error: error))
            }
        }
        survey.roots = try await rootListing()
    }

    /// Reads one chunk at a location a pack header gives, verified against its ID.
    func readChunk(_ id: ChunkID, at location: StoreSurvey.Location, in survey: StoreSurvey) async throws -> [UInt8] {
        let e = location.entry
        let range = UInt64(e.offset)..<(UInt64(e.offset) + UInt64(e.length))
        let sealed = try await backend.get(survey.packs[location.pack].key, range: range)
        guard sealed.count == Int(e.length) else {
            throw BlockStoreError(
                .truncatedObject,
                "pack \(survey.packs[location.pack].key) ends before chunk \(id.shortHex) (got \(sealed.count) of \(e.length) bytes)"
            )
        }
        var out = [UInt8](repeating: 0, count: Int(e.rawLength))
        let chunkLocation = ChunkLocation(
            packNumber: 0, offset: e.offset, length: e.length, rawLength: e.rawLength, kind: e.kind)
        try out.withUnsafeMutableBytes { try decode(sealed: sealed, id: id, location: chunkLocation, into: $0) }
        return out
    }

    /// Follows every root through nodes using the pack headers' locations.
    ///
    /// - Parameters:
    ///   - roots: The roots to start from.
    ///   - survey: Where chunks are.
    ///   - knownBad: Chunks already found damaged (by reading their data); a root reaching one is
    ///     damaged.
    /// - Returns: The live chunks, chunks referenced but in no readable pack, nodes that could not
    ///   be read or decoded, and the names of roots that reach any damage.
    func mark(
        roots: [RootRecord], survey: StoreSurvey, knownBad: Set<ChunkID> = [], progress: StoreProgressHandler?
    ) async throws -> MarkResult {
        var result = MarkResult()
        var memo: [ChunkID: Bool] = [:]
        func damaged(_ id: ChunkID) async throws -> Bool {
            if id.isZero { return false }
            if let known = memo[id] { return known }
            guard let location = survey.locations[id] else {
                result.missing.insert(id)
                memo[id] = true
                return true
            }
            result.live.insert(id)
            var isDamaged = knownBad.contains(id)
            if location.entry.kind == .node {
                try Task.checkCancellation()
                do {
                    let node = try StoreNode(decoding: try await readChunk(id, at: location, in: survey))
                    result.nodesRead += 1
                    if result.nodesRead % StoreSurvey.markProgressNodeInterval == 0 {
                        progress?(StoreProgress(phase: "marking", done: result.nodesRead, total: nil, bytesRead: 0))
                    }
                    for e in node.entries where try await damaged(e.id) { isDamaged = true }
                } catch let error as BlockStoreError where ChunkStore.isDamage(error) {
                    result.unreadableNodes[id] = error
                    isDamaged = true
                }
            }
            memo[id] = isDamaged
            return isDamaged
        }
        for record in roots where try await damaged(record.id) {
            result.damagedRoots.append(record.name)
        }
        return result
    }
}

/// What marking from roots found.
struct MarkResult: Sendable {
    /// Chunks reachable from the roots and present in a readable pack.
    var live: Set<ChunkID> = []
    /// Chunks reachable but in no readable pack.
    var missing: Set<ChunkID> = []
    /// Nodes present but unreadable (damaged bytes), with why.
    var unreadableNodes: [ChunkID: BlockStoreError] = [:]
    /// Roots that reach missing, unreadable or known-bad chunks.
    var damagedRoots: [String] = []
    /// Nodes read.
    var nodesRead = 0
}

extension StoreSurvey {
    /// Fills ``locations`` from the pack headers: a chunk listed twice lives in the first pack by key.
    mutating func locate() {
        locations = [:]
        locations.reserveCapacity(packs.reduce(0) { $0 + $1.entries.count })
        for (n, pack) in packs.enumerated() {
            for e in pack.entries where locations[e.id] == nil {
                locations[e.id] = Location(pack: n, entry: e)
            }
        }
    }
}
