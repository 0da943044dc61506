/// A published root: a name, the node (or chunk) it keeps alive, and a small payload.
public struct RootRecord: Sendable, Equatable {
    /// The root's name, a valid ``ObjectKey`` path such as `points/vm1/0001`.
    public var name: String
    /// What the root keeps alive (with everything reachable from it through nodes).
    public var id: ChunkID
    /// Up to 64 KiB for the publishing layer (sealed like everything else).
    public var payload: [UInt8]

    /// Creates a record.
    public init(name: String, id: ChunkID, payload: [UInt8]) {
        self.name = name
        self.id = id
        self.payload = payload
    }
}

extension ChunkStore {
    static let rootMagic: [UInt8] = Array("BSRT".utf8)
    /// The root format this build writes and reads.
    static let rootVersion: UInt8 = 2
    /// The largest payload a root may carry.
    public static let rootPayloadBytesMax = 64 * 1024

    static func rootKey(_ name: String) throws -> ObjectKey {
        try ObjectKey(validating: "roots/\(name)")
    }

    /// Publishes a root, the one atomic step that commits new data: it first flushes, so every
    /// chunk the root reaches is durable before the root exists. Roots are create-only.
    /// - Throws: `alreadyExists` when the name is taken; `invalidArgument` when `id` is not stored;
    ///   `lockLost` once the store's lock is lost (<doc:Locking>).
    public func publishRoot(_ name: String, id: ChunkID, payload: [UInt8] = []) async throws {
        guard payload.count <= ChunkStore.rootPayloadBytesMax else {
            throw BlockStoreError(
                .limitExceeded, "a root payload of \(payload.count) bytes exceeds \(ChunkStore.rootPayloadBytesMax)")
        }
        try await flush()
        guard contains(id) else {
            throw BlockStoreError(
                .invalidArgument, "root \(name) would name chunk \(id.shortHex), which the store does not hold")
        }
        let key = try ChunkStore.rootKey(name)
        var body = ByteWriter(capacity: 36 + payload.count)
        body.id(id)
        body.u32(UInt32(payload.count))
        body.raw(payload)
        var bytes = ChunkStore.rootMagic
        bytes.append(ChunkStore.rootVersion)
        bytes.append(crypto.isEncrypted ? 1 : 0)
        bytes.append(contentsOf: try crypto.seal(body.bytes, as: .root(name: name)))
        try lockHandle?.checkHeld()
        guard try await backend.create(key, data: bytes) else {
            throw BlockStoreError(.alreadyExists, "a root named \(name) already exists; roots are never overwritten")
        }
    }

    /// Reads one root.
    public func root(_ name: String) async throws -> RootRecord {
        let key = try ChunkStore.rootKey(name)
        let bytes: [UInt8]
        do {
            bytes = try await backend.get(key, byteCountMax: ObjectSizeLimits.root)
        } catch let error as BlockStoreError where error.code == .notFound {
            throw BlockStoreError(.notFound, "there is no root named \(name)", underlying: error)
        }
        return try decodeRoot(bytes, name: name)
    }

    func decodeRoot(_ bytes: [UInt8], name: String) throws -> RootRecord {
        var h = ByteReader(bytes, what: "root \(name)")
        try h.expect(ChunkStore.rootMagic)
        let version = try h.u8()
        guard version == ChunkStore.rootVersion else {
            throw BlockStoreError(
                .unsupportedFormat,
                "root \(name) has format version \(version); this build reads version \(ChunkStore.rootVersion)")
        }
        let mode = try h.u8()
        guard mode == (crypto.isEncrypted ? 1 : 0) else {
            throw BlockStoreError(
                .corruptObject,
                "root \(name) is marked \(mode == 1 ? "sealed" : "plain") but the store is \(crypto.isEncrypted ? "encrypted" : "not encrypted")"
            )
        }
        let body = try bytes.withUnsafeBytes {
            try crypto.open(UnsafeRawBufferPointer(rebasing: $0[6...]), as: .root(name: name), what: "root \(name)")
        }
        var r = ByteReader(body, what: "root \(name)")
        let id = try r.id()
        let count = Int(try r.u32())
        guard count <= ChunkStore.rootPayloadBytesMax, count == r.remaining else {
            throw BlockStoreError(
                .corruptObject, "root \(name) declares a \(count)-byte payload but holds \(r.remaining)")
        }
        return RootRecord(name: name, id: id, payload: Array(try r.raw(count)))
    }

    /// Lists roots whose names start with `prefix`, sorted by name, and names the ones that
    /// cannot be read (never hiding them).
    ///
    /// A root that is listed but gone by the time it is read (deleted meanwhile) is left out.
    /// - Throws: Backend errors (a root that cannot be fetched at all is not "damaged": the
    ///   listing fails instead of guessing).
    /// - Complexity: One listing plus one read per root.
    public func rootListing(prefix: String = "") async throws -> RootListing {
        var listing = RootListing()
        for entry in try await backend.listAll(prefix: "roots/\(prefix)") {
            let name = String(entry.key.rawValue.dropFirst("roots/".count))
            let bytes: [UInt8]
            do {
                bytes = try await backend.get(entry.key, byteCountMax: ObjectSizeLimits.root)
            } catch let error as BlockStoreError where error.code == .notFound {
                continue
            } catch let error as BlockStoreError where ChunkStore.isDamage(error) {
                listing.damaged.append(DamagedRoot(name: name, error: error))
                continue
            }
            do {
                listing.records.append(try decodeRoot(bytes, name: name))
            } catch let error as BlockStoreError {
                listing.damaged.append(DamagedRoot(name: name, error: error))
            }
        }
        listing.records.sort { $0.name < $1.name }
        listing.damaged.sort { $0.name < $1.name }
        return listing
    }

    /// Lists roots whose names start with `prefix`, sorted by name.
    /// - Throws: ``BlockStoreError/Code/damaged`` (with a ``DamageReport``) when any of them
    ///   cannot be read: a listing never hides a root. Use ``rootListing(prefix:)`` to get the
    ///   readable ones and the damaged ones apart.
    public func roots(prefix: String = "") async throws -> [RootRecord] {
        let listing = try await rootListing(prefix: prefix)
        if !listing.damaged.isEmpty {
            throw listing.damageError()
        }
        return listing.records
    }

    /// Whether an error reading a stored object means the object is damaged (rather than the
    /// backend being unreachable or the call being wrong).
    package static func isDamage(_ error: BlockStoreError) -> Bool {
        [.corruptObject, .truncatedObject, .unsupportedFormat, .authenticationFailed, .limitExceeded, .tampered]
            .contains(error.code)
    }

    /// Deletes a root. What only it reached becomes garbage for the next collection.
    public func deleteRoot(_ name: String) async throws {
        try await backend.delete(try ChunkStore.rootKey(name))
    }
}

/// A root that is listed but cannot be read or authenticated.
public struct DamagedRoot: Sendable, CustomStringConvertible {
    /// The root's name.
    public var name: String
    /// Why it cannot be read.
    public var error: BlockStoreError

    /// Creates a record of a damaged root.
    public init(name: String, error: BlockStoreError) {
        self.name = name
        self.error = error
    }

    /// The name and the reason.
    public var description: String { "\(name): \(error.message)" }
}

/// The roots under a prefix: those that read, and those that are damaged.
public struct RootListing: Sendable {
    /// Roots that read and authenticate, sorted by name.
    public var records: [RootRecord] = []
    /// Roots that are listed but cannot be read or authenticated, sorted by name.
    public var damaged: [DamagedRoot] = []

    /// Creates an empty listing.
    public init() {}

    /// A ``BlockStoreError/Code/damaged`` error naming the damaged roots.
    public func damageError() -> BlockStoreError {
        let report = DamageReport(
            damagedObjects: damaged.compactMap { try? ChunkStore.rootKey($0.name) },
            damagedRoots: damaged.map(\.name))
        return BlockStoreError(
            .damaged,
            "\(damaged.count) root\(damaged.count == 1 ? "" : "s") cannot be read (\(damaged.prefix(3).map(\.description).joined(separator: "; "))); run verify, restore the object from a copy, or remove it deliberately",
            underlying: report)
    }
}
