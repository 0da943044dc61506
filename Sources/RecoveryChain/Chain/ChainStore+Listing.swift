import BlockStore

extension ChainStore {
    /// The items that have at least one point, readable or damaged, sorted.
    ///
    /// Item names come from the names of the points' roots, so an item whose points are all
    /// damaged is listed too (nothing is hidden); ``itemListing()`` also says which points are
    /// damaged.
    /// - Throws: `storeError` when the store cannot be listed or a root cannot be fetched.
    /// - Complexity: One listing plus one read per point.
    public func items() async throws -> [ItemName] {
        let listing: RootListing
        do {
            listing = try await store.rootListing(prefix: "points/")
        } catch {
            throw RecoveryChainError.wrap(error, "listing items")
        }
        let names = listing.records.map(\.name) + listing.damaged.map(\.name)
        return Array(Set(names.compactMap { ChainStore.splitRootName($0)?.item })).sorted()
    }

    /// Every item, and every point of them that cannot be read.
    /// - Throws: `storeError` when the store cannot be listed or read (a backend error is not
    ///   damage: the listing fails rather than guess).
    /// - Complexity: One listing, one root read and one manifest read per point.
    public func itemListing() async throws -> ItemListing {
        let listed = try await listPoints(prefix: "points/", what: "listing items")
        return ItemListing(items: listed.items, damaged: listed.damaged)
    }

    /// The points of an item: the readable ones (oldest first) and the damaged ones.
    ///
    /// A point is damaged when its root does not read or authenticate, its metadata is not
    /// valid, or its manifest node cannot be read or does not match the metadata.
    /// - Throws: `invalidArgument` for a bad item name; `storeError` when the store cannot be
    ///   listed or read (a backend error is not damage).
    /// - Complexity: One listing, one root read and one manifest read per point.
    public func pointListing(item: ItemName) async throws -> PointListing {
        try ChainStore.validateItem(item)
        let listed = try await listPoints(prefix: "points/\(item)/", what: "listing the points of \(item)")
        let entries = (listed.points[item] ?? []).sorted { ($0.point.time, $0.point.id) < ($1.point.time, $1.point.id) }
        return PointListing(
            item: item, points: entries.map(\.point), damaged: listed.damaged,
            manifests: Dictionary(entries.map { ($0.point.id, $0.manifest) }, uniquingKeysWith: { a, _ in a }))
    }

    /// The points of an item, oldest first.
    /// - Throws: `damaged` when any point of the item cannot be read (see ``pointListing(item:)``
    ///   for the readable ones and the damaged ones apart); `invalidArgument`; `storeError`.
    /// - Complexity: One listing, one root read and one manifest read per point.
    public func points(item: ItemName) async throws -> [RecoveryPoint] {
        let listing = try await pointListing(item: item)
        guard listing.isComplete else { throw listing.damageError("listing the points of \(item)") }
        return listing.points
    }

    /// Deletes the root of a damaged point (one that ``pointListing(item:)`` lists as damaged),
    /// so that backup, expiry and pruning of the item can go on. What only it reached is freed
    /// by the next garbage collection.
    ///
    /// This is a deliberate loss of that point: first try verify, and restoring the point's
    /// root object from a copy of the store.
    /// - Throws: `invalidArgument` when the point reads (expire it instead); `notFound` when
    ///   the item has no such point; `operationInProgress` while another job of the item runs.
    public func removeDamagedPoint(item: ItemName, point id: PointID) async throws {
        try await withItemLock(item, "removal of a damaged point") {
            let listing = try await pointListing(item: item)
            if listing.points.contains(where: { $0.id == id }) {
                throw RecoveryChainError(.invalidArgument, "point \(id) of \(item) is not damaged; expire it instead")
            }
            guard let damaged = listing.damaged.first(where: { $0.point == id }) else {
                throw RecoveryChainError(.notFound, "item \(item) has no point \(id)")
            }
            try ItemJobLock.checkCurrentHeld()
            do {
                try await store.deleteRoot(damaged.rootName)
            } catch {
                throw RecoveryChainError.wrap(error, "removing damaged point \(id) of \(item)")
            }
        }
    }

    /// `points/<item>/<id>` split into its item and point ID.
    static func splitRootName(_ name: String) -> (item: ItemName, id: PointID)? {
        let parts = name.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "points", !parts[1].isEmpty, !parts[2].isEmpty else { return nil }
        return (ItemName(String(parts[1])), PointID(String(parts[2])))
    }

    private struct ListedPoints {
        var items: [ItemName] = []
        var points: [ItemName: [(point: RecoveryPoint, manifest: PointManifest)]] = [:]
        var damaged: [DamagedPoint] = []
    }

    /// Reads every point root under `prefix` with its manifest, sorting the damaged ones out.
    private func listPoints(prefix: String, what: String) async throws -> ListedPoints {
        let roots: RootListing
        do {
            roots = try await store.rootListing(prefix: prefix)
        } catch {
            throw RecoveryChainError.wrap(error, what)
        }
        var out = ListedPoints()
        var items = Set<ItemName>()
        func damaged(_ name: String, _ reason: String) {
            let (item, id) =
                ChainStore.splitRootName(name) ?? (ItemName(String(name.dropFirst("points/".count))), PointID(name))
            items.insert(item)
            out.damaged.append(DamagedPoint(item: item, point: id, reason: reason))
        }
        for root in roots.damaged { damaged(root.name, root.error.message) }
        var decoded: [(record: RootRecord, point: RecoveryPoint)] = []
        for record in roots.records {
            guard ChainStore.splitRootName(record.name) != nil else {
                damaged(record.name, "the root's name is not points/<item>/<point>")
                continue
            }
            do {
                decoded.append((record, try PointManifest.decodePoint(record.payload, rootName: record.name)))
            } catch let error as RecoveryChainError {
                damaged(record.name, error.message)
            }
        }
        let manifests = try await readManifests(decoded.map(\.record), what: what)
        for ((record, point), manifest) in zip(decoded, manifests) {
            switch manifest {
            case .read(let manifest):
                do {
                    try PointManifest.check(manifest, matches: point, rootName: record.name)
                    items.insert(point.item)
                    out.points[point.item, default: []].append((point, manifest))
                } catch let error as RecoveryChainError {
                    damaged(record.name, error.message)
                }
            case .damaged(let reason):
                damaged(record.name, reason)
            case .gone:
                continue
            }
        }
        out.items = items.sorted()
        out.damaged.sort { ($0.item, $0.point) < ($1.item, $1.point) }
        return out
    }

    private enum ManifestRead {
        case read(PointManifest)
        case damaged(String)
        /// The root was deleted after it was listed (an expiry in another process).
        case gone
    }

    /// Reads the manifests of `records`: in one batch when all read, one by one otherwise so
    /// that each damaged one is named. Backend errors are thrown, not taken for damage.
    private func readManifests(_ records: [RootRecord], what: String) async throws -> [ManifestRead] {
        if records.isEmpty { return [] }
        do {
            let nodes = try await store.nodes(records.map(\.id))
            return try zip(records, nodes).map { record, node in
                .read(try PointManifest(node: node, what: "the manifest of \(record.name)"))
            }
        } catch let error as BlockStoreError where !ChainStore.isDamage(error) {
            throw RecoveryChainError.wrap(error, what)
        } catch is BlockStoreError, is RecoveryChainError {
            // Some manifest is damaged: find which, one at a time.
        } catch {
            throw RecoveryChainError.wrap(error, what)
        }
        var out: [ManifestRead] = []
        out.reserveCapacity(records.count)
        for record in records {
            do {
                let node = try await store.node(record.id)
                out.append(.read(try PointManifest(node: node, what: "the manifest of \(record.name)")))
            } catch let error as RecoveryChainError {
                out.append(.damaged(error.message))
            } catch let error as BlockStoreError where error.code == .notFound {
                // Missing: damage, unless the root went away meanwhile (expired, then collected).
                do {
                    _ = try await store.root(record.name)
                    out.append(.damaged("its manifest \(record.id.shortHex) is not in the store"))
                } catch let again as BlockStoreError where again.code == .notFound {
                    out.append(.gone)
                } catch {
                    throw RecoveryChainError.wrap(error, what)
                }
            } catch let error as BlockStoreError where ChainStore.isDamage(error) {
                out.append(.damaged("its manifest cannot be read: \(error.message)"))
            } catch {
                throw RecoveryChainError.wrap(error, what)
            }
        }
        return out
    }

    /// Whether a store error reading a manifest means the manifest (or its pack) is damaged or
    /// missing, rather than the backend failing.
    static func isDamage(_ error: BlockStoreError) -> Bool {
        error.code == .notFound || ChunkStore.isDamage(error)
    }
}
