/// What a verification found.
public struct VerificationReport: Sendable, Equatable {
    /// Chunks read and checked against their IDs.
    public var checkedChunks: Int = 0
    /// Bytes of pack objects read.
    public var checkedBytes: UInt64 = 0
    /// Chunks whose stored bytes do not decode to their ID.
    public var damagedChunks: [ChunkID] = []
    /// Chunks referenced (by a root or an index object) that are not stored.
    public var missingChunks: [ChunkID] = []
    /// Objects (packs, index objects, roots) that are damaged or unreadable.
    public var damagedObjects: [ObjectKey] = []
    /// Roots that reach a damaged or missing chunk, or are damaged themselves.
    public var damagedRoots: [String] = []

    /// Whether nothing is damaged.
    public var isClean: Bool {
        damagedChunks.isEmpty && missingChunks.isEmpty && damagedObjects.isEmpty && damagedRoots.isEmpty
    }
}

extension ChunkStore {
    /// Reads and checks the store, and reports exactly which roots are damaged.
    ///
    /// With `roots == nil` every object is read: every index object, every pack (every chunk is
    /// decoded and checked against its ID) and every root. With root names, only what those roots
    /// reach is read and checked.
    public func verify(roots names: [String]? = nil, progress: StoreProgressHandler? = nil) async throws -> VerificationReport {
        var report = VerificationReport()
        var bad: Set<ChunkID> = []
        try await refreshIndex()
        report.damagedObjects.append(contentsOf: state.withLock { $0.damagedIndexObjects }.sorted())

        var rootRecords: [RootRecord] = []
        if let names {
            for name in names {
                do {
                    rootRecords.append(try await root(name))
                } catch let error as BlockStoreError where error.code != .notFound {
                    report.damagedRoots.append(name)
                    report.damagedObjects.append(try ChunkStore.rootKey(name))
                }
            }
        } else {
            for entry in try await backend.listAll(prefix: "roots/") {
                let name = String(entry.key.rawValue.dropFirst("roots/".count))
                do {
                    rootRecords.append(try decodeRoot(try await backend.get(entry.key), name: name))
                } catch {
                    report.damagedRoots.append(name)
                    report.damagedObjects.append(entry.key)
                }
            }
            // Every pack, every chunk.
            let packs = try await listPacks()
            let present = Set(packs.map(\.id))
            for (n, pack) in packs.enumerated() {
                try Task.checkCancellation()
                progress?(StoreProgress(phase: "reading packs", done: n, total: packs.count, bytesRead: report.checkedBytes))
                let bytes: [UInt8]
                do {
                    bytes = try await backend.get(pack.key)
                } catch {
                    report.damagedObjects.append(pack.key)
                    continue
                }
                report.checkedBytes += UInt64(bytes.count)
                let entries: [PackEntry]
                do {
                    entries = try PackFormat.entries(ofPack: bytes, crypto: crypto, what: "pack \(pack.key)")
                } catch {
                    report.damagedObjects.append(pack.key)
                    // Everything the index places in this pack is damaged.
                    bad.formUnion(state.withLock { s in
                        s.index.locations.filter { s.index.packID(number: $0.value.packNumber) == pack.id }.map(\.key)
                    })
                    continue
                }
                var packDamaged = false
                for e in entries {
                    report.checkedChunks += 1
                    let location = ChunkLocation(packNumber: 0, offset: e.offset, length: e.length, rawLength: e.rawLength, kind: e.kind)
                    let blob = Array(bytes[Int(e.offset)..<(Int(e.offset) + Int(e.length))])
                    var out = [UInt8](repeating: 0, count: Int(e.rawLength))
                    do {
                        try out.withUnsafeMutableBytes { try decode(blob: blob, id: e.id, location: location, into: $0) }
                    } catch {
                        bad.insert(e.id)
                        packDamaged = true
                    }
                }
                if packDamaged { report.damagedObjects.append(pack.key) }
            }
            // Index entries whose pack is gone.
            let orphaned = state.withLock { s in
                s.index.locations.filter { s.index.packID(number: $0.value.packNumber).map { !present.contains($0) } ?? true }.map(\.key)
            }
            report.missingChunks.append(contentsOf: orphaned.sorted())
            bad.formUnion(orphaned)
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
            if names != nil {
                // Root-scoped mode reads and checks each reachable chunk.
                do {
                    _ = try await chunk(id)
                    report.checkedChunks += 1
                } catch let error as BlockStoreError where error.code == .notFound {
                    missing.insert(id)
                    memo[id] = true
                    return true
                } catch {
                    bad.insert(id)
                    memo[id] = true
                    return true
                }
            }
            if kind == .node {
                let node: StoreNode
                do {
                    node = try await self.node(id)
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
            progress?(StoreProgress(phase: "checking roots", done: n, total: rootRecords.count, bytesRead: report.checkedBytes))
            if try await damaged(record.id) { report.damagedRoots.append(record.name) }
        }
        report.damagedChunks = bad.sorted()
        report.missingChunks = missing.sorted()
        report.damagedRoots.sort()
        report.damagedObjects = Array(Set(report.damagedObjects)).sorted()
        return report
    }
}
