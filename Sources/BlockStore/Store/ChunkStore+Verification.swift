/// What a verification found.
public struct VerificationReport: Sendable, Equatable {
    /// Chunks read and checked against their IDs.
    public var checkedChunks: Int = 0
    /// Bytes of pack objects read.
    public var checkedBytes: UInt64 = 0
    /// Packs whose data was read in full (all of them, or the chosen subset).
    public var checkedPacks: Int = 0
    /// Packs in the store.
    public var packCount: Int = 0
    /// Chunks whose stored bytes do not decode to their ID.
    public var damagedChunks: [ChunkID] = []
    /// Chunks a root reaches that no readable pack holds.
    public var missingChunks: [ChunkID] = []
    /// Objects (packs, index objects, roots) that are damaged or unreadable.
    public var damagedObjects: [ObjectKey] = []
    /// Roots that reach a damaged or missing chunk, or are damaged themselves.
    public var damagedRoots: [String] = []
    /// Chunks whose index entry disagrees with the header of the pack it names (another
    /// offset, length, size or kind, or a header that does not list the chunk at all).
    public var indexMismatches: [ChunkID] = []
    /// Chunks whose index entry names a pack that does not exist (entries that point nowhere).
    public var danglingIndexEntries: [ChunkID] = []
    /// Chunks that a pack header lists but no index object does. Harmless (a writer stopped
    /// before writing its index object); garbage collection removes them or repair indexes them.
    public var unindexedChunks: Int = 0

    /// Whether nothing is damaged (unindexed chunks are not damage).
    public var isClean: Bool {
        damagedChunks.isEmpty && missingChunks.isEmpty && damagedObjects.isEmpty && damagedRoots.isEmpty
            && indexMismatches.isEmpty && danglingIndexEntries.isEmpty
    }
}

/// One slice of a store's packs, for verifying a large store a part at a time (restic's
/// `--read-data-subset N/M`): slice `n` of `count` holds the packs whose ID, read as a
/// big-endian 64-bit number from its first 8 bytes, leaves remainder `n - 1` when divided by
/// `count`. Pack IDs are random, so the slices are about equal and together cover every pack.
public struct PackSubset: Sendable, Equatable, CustomStringConvertible {
    /// Which slice, from 1 to ``count``.
    public var n: Int
    /// How many slices.
    public var count: Int

    /// The most slices a store can be cut into: with millions of packs a slice still holds
    /// some, and the slice of a pack is computed from a 64-bit prefix of its ID without bias.
    public static let countMax = 65_536

    /// Creates slice `n` of `count`.
    /// - Throws: `invalidArgument` unless 1 ≤ n ≤ count ≤ ``countMax``.
    public init(_ n: Int, of count: Int) throws {
        guard count >= 1, count <= Self.countMax, n >= 1, n <= count else {
            throw BlockStoreError(
                .invalidArgument, "a data subset is N/M with 1 ≤ N ≤ M ≤ \(Self.countMax) (got \(n)/\(count))")
        }
        self.n = n
        self.count = count
    }

    /// Parses `"N/M"`.
    /// - Throws: `invalidArgument` for anything else.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let n = Int(parts[0]), let m = Int(parts[1]) else {
            throw BlockStoreError(.invalidArgument, "'\(text.prefix(40))' is not a data subset: write N/M, e.g. 1/10")
        }
        try self.init(n, of: m)
    }

    /// Whether a pack belongs to this slice.
    public func contains(pack id: ChunkID) -> Bool {
        Int(id.w0 % UInt64(count)) == n - 1
    }

    /// `"N/M"`.
    public var description: String { "\(n)/\(count)" }
}

extension ChunkStore {
    /// Reads and checks the store, and reports exactly which roots are damaged.
    ///
    /// With `roots == nil` (a full verification) every pack header, index object and root is
    /// read; every index entry is cross-checked against the header of the pack it names; every
    /// root is followed through its nodes to check that each chunk it reaches is in a readable
    /// pack; and the data of every pack (or of the packs in `dataSubset`) is read, each chunk
    /// decoded and checked against its ID. With root names, only what those roots reach is read
    /// and checked.
    /// - Parameters:
    ///   - names: Roots to check, or nil for the whole store.
    ///   - dataSubset: With a full verification, read the data of only this slice of the packs
    ///     (headers, index and reachability are still checked in full).
    ///   - progress: Receives phase reports.
    /// - Complexity: A full verification reads every pack header, index object and root, every
    ///   node the roots reach, and the bytes of the packs whose data it checks.
    public func verify(
        roots names: [String]? = nil, dataSubset: PackSubset? = nil, progress: StoreProgressHandler? = nil
    ) async throws -> VerificationReport {
        if let names {
            guard dataSubset == nil else {
                throw BlockStoreError(
                    .invalidArgument, "a data subset applies to a full verification, not to chosen roots")
            }
            return try await verify(rootsNamed: names, progress: progress)
        }
        return try await verifyAll(dataSubset: dataSubset, progress: progress)
    }

    private func verifyAll(dataSubset: PackSubset?, progress: StoreProgressHandler?) async throws -> VerificationReport
    {
        var report = VerificationReport()
        var survey = StoreSurvey()
        var bad: Set<ChunkID> = []
        var damagedObjects: Set<ObjectKey> = []
        let listed = try await listPacks().sorted { $0.key < $1.key }
        report.packCount = listed.count
        for (n, pack) in listed.enumerated() {
            try Task.checkCancellation()
            progress?(
                StoreProgress(phase: "reading packs", done: n, total: listed.count, bytesRead: report.checkedBytes))
            let readData = dataSubset?.contains(pack: pack.id) ?? true
            do {
                let entries: [PackEntry]
                if readData {
                    guard pack.sizeBytes <= PackFormat.packObjectBytesMax else {
                        throw BlockStoreError(
                            .limitExceeded,
                            "pack \(pack.key) is \(pack.sizeBytes) bytes, larger than any pack this format writes")
                    }
                    let bytes = try await backend.get(pack.key, byteCountMax: ObjectSizeLimits.pack)
                    report.checkedBytes += UInt64(bytes.count)
                    report.checkedPacks += 1
                    entries = try PackFormat.entries(
                        ofPack: bytes, packID: pack.id, crypto: crypto, what: "pack \(pack.key)")
                    var scratch = [UInt8]()
                    for e in entries {
                        report.checkedChunks += 1
                        let location = ChunkLocation(
                            packNumber: 0, offset: e.offset, length: e.length, rawLength: e.rawLength, kind: e.kind)
                        let sealed = Array(bytes[Int(e.offset)..<(Int(e.offset) + Int(e.length))])
                        if scratch.count < Int(e.rawLength) { scratch = [UInt8](repeating: 0, count: Int(e.rawLength)) }
                        do {
                            try scratch.withUnsafeMutableBytes {
                                try decode(
                                    sealed: sealed, id: e.id, location: location,
                                    into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<Int(e.rawLength)]))
                            }
                        } catch let error as BlockStoreError
                            where ChunkStore.isDamage(error) || error.code == .compressionError
                        {
                            bad.insert(e.id)
                            damagedObjects.insert(pack.key)
                        }
                    }
                } else {
                    entries = try await packEntries(pack.key, sizeBytes: pack.sizeBytes)
                }
                survey.packs.append(
                    StoreSurvey.Pack(id: pack.id, key: pack.key, sizeBytes: pack.sizeBytes, entries: entries))
            } catch let error as BlockStoreError where ChunkStore.isDamage(error) {
                survey.damagedPacks.append(StoreSurvey.Damaged(key: pack.key, error: error))
            }
        }
        survey.locate()
        try await surveyIndexAndRoots(&survey, progress: progress)
        damagedObjects.formUnion(survey.damagedObjectKeys)
        // Key files are named by their hash: each must match, decode, stay within the KDF caps
        // and belong to this store.
        for key in try await keyListing().damaged {
            damagedObjects.insert(try ObjectKey(validating: "keys/\(key.id)"))
        }

        let check = survey.checkIndex()
        report.indexMismatches = check.mismatched
        report.danglingIndexEntries = check.dangling
        report.unindexedChunks = check.unindexed

        progress?(
            StoreProgress(
                phase: "checking roots", done: 0, total: survey.roots.records.count, bytesRead: report.checkedBytes))
        let marked = try await mark(roots: survey.roots.records, survey: survey, knownBad: bad, progress: progress)
        for id in marked.unreadableNodes.keys {
            bad.insert(id)
            if let location = survey.locations[id] { damagedObjects.insert(survey.packs[location.pack].key) }
        }
        report.damagedChunks = bad.sorted()
        report.missingChunks = marked.missing.sorted()
        report.damagedRoots = Array(Set(marked.damagedRoots + survey.roots.damaged.map(\.name))).sorted()
        report.damagedObjects = damagedObjects.sorted()
        return report
    }

    /// Checks what the named roots reach, chunk by chunk, through the index.
    private func verify(rootsNamed names: [String], progress: StoreProgressHandler?) async throws -> VerificationReport
    {
        var report = VerificationReport()
        var bad: Set<ChunkID> = []
        try await refreshIndex()
        report.damagedObjects.append(contentsOf: state.withLock { $0.damagedIndexObjects }.sorted())

        var rootRecords: [RootRecord] = []
        for name in names {
            do {
                rootRecords.append(try await root(name))
            } catch let error as BlockStoreError where error.code != .notFound && ChunkStore.isDamage(error) {
                report.damagedRoots.append(name)
                report.damagedObjects.append(try ChunkStore.rootKey(name))
            }
        }

        // Which roots reach damage. Nodes are memoized, so shared subtrees are judged once.
        var memo: [ChunkID: Bool] = [:]
        var missing: Set<ChunkID> = Set(report.missingChunks)
        func damaged(_ id: ChunkID) async throws -> Bool {
            if id.isZero { return false }
            if bad.contains(id) || missing.contains(id) { return true }
            if let known = memo[id] { return known }
            guard let kind = kind(of: id) else {
                missing.insert(id)
                return true
            }
            var result = false
            // Each reachable chunk is read and checked; a node is decoded from those same bytes.
            let bytes: [UInt8]
            do {
                bytes = try await chunk(id)
                report.checkedChunks += 1
            } catch let error as BlockStoreError where error.code == .notFound {
                missing.insert(id)
                memo[id] = true
                return true
            } catch let error as BlockStoreError where ChunkStore.isDamage(error) || error.code == .compressionError {
                bad.insert(id)
                memo[id] = true
                return true
            }
            if kind == .node {
                let node: StoreNode
                do {
                    node = try StoreNode(decoding: bytes)
                } catch {
                    bad.insert(id)
                    memo[id] = true
                    return true
                }
                for e in node.entries where try await damaged(e.id) {
                    result = true
                }
            }
            memo[id] = result
            return result
        }
        for (n, record) in rootRecords.enumerated() {
            try Task.checkCancellation()
            progress?(
                StoreProgress(
                    phase: "checking roots", done: n, total: rootRecords.count, bytesRead: report.checkedBytes))
            if try await damaged(record.id) { report.damagedRoots.append(record.name) }
        }
        report.damagedChunks = bad.sorted()
        report.missingChunks = missing.sorted()
        report.damagedRoots.sort()
        report.damagedObjects = Array(Set(report.damagedObjects)).sorted()
        return report
    }
}
