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
    /// The largest payload a root may carry.
    public static let rootPayloadBytesMax = 64 * 1024

    static func rootKey(_ name: String) throws -> ObjectKey {
        try ObjectKey(validating: "roots/\(name)")
    }

    /// Publishes a root, the one atomic step that commits new data: it first flushes, so every
    /// chunk the root reaches is durable before the root exists. Roots are create-only.
    /// - Throws: `alreadyExists` when the name is taken; `invalidArgument` when `id` is not stored.
    public func publishRoot(_ name: String, id: ChunkID, payload: [UInt8] = []) async throws {
        guard payload.count <= ChunkStore.rootPayloadBytesMax else {
            throw BlockStoreError(.limitExceeded, "a root payload of \(payload.count) bytes exceeds \(ChunkStore.rootPayloadBytesMax)")
        }
        try await flush()
        guard contains(id) else {
            throw BlockStoreError(.invalidArgument, "root \(name) would name chunk \(id.shortHex), which the store does not hold")
        }
        let key = try ChunkStore.rootKey(name)
        var body = ByteWriter(capacity: 36 + payload.count)
        body.id(id)
        body.u32(UInt32(payload.count))
        body.raw(payload)
        var bytes = ChunkStore.rootMagic
        bytes.append(1)
        bytes.append(crypto.isEncrypted ? 1 : 0)
        bytes.append(contentsOf: try crypto.seal(body.bytes, aad: Array("blocksnap.root.v1:\(name)".utf8)))
        guard try await backend.create(key, data: bytes) else {
            throw BlockStoreError(.alreadyExists, "a root named \(name) already exists; roots are never overwritten")
        }
    }

    /// Reads one root.
    public func root(_ name: String) async throws -> RootRecord {
        let key = try ChunkStore.rootKey(name)
        let bytes: [UInt8]
        do {
            bytes = try await backend.get(key)
        } catch let error as BlockStoreError where error.code == .notFound {
            throw BlockStoreError(.notFound, "there is no root named \(name)", underlying: error)
        }
        return try decodeRoot(bytes, name: name)
    }

    func decodeRoot(_ bytes: [UInt8], name: String) throws -> RootRecord {
        var h = ByteReader(bytes, what: "root \(name)")
        try h.expect(ChunkStore.rootMagic)
        let version = try h.u8()
        guard version == 1 else {
            throw BlockStoreError(.unsupportedFormat, "root \(name) has format version \(version)")
        }
        _ = try h.u8()
        let body = try bytes.withUnsafeBytes {
            try crypto.open(UnsafeRawBufferPointer(rebasing: $0[6...]), aad: Array("blocksnap.root.v1:\(name)".utf8), what: "root \(name)")
        }
        var r = ByteReader(body, what: "root \(name)")
        let id = try r.id()
        let count = Int(try r.u32())
        guard count <= ChunkStore.rootPayloadBytesMax, count == r.remaining else {
            throw BlockStoreError(.corruptObject, "root \(name) declares a \(count)-byte payload but holds \(r.remaining)")
        }
        return RootRecord(name: name, id: id, payload: Array(try r.raw(count)))
    }

    /// Lists roots whose names start with `prefix`, sorted by name. Damaged roots are skipped
    /// here and reported by ``verify(roots:progress:)``.
    public func roots(prefix: String = "") async throws -> [RootRecord] {
        var out: [RootRecord] = []
        for entry in try await backend.listAll(prefix: "roots/\(prefix)") {
            let name = String(entry.key.rawValue.dropFirst("roots/".count))
            guard let bytes = try? await backend.get(entry.key), let record = try? decodeRoot(bytes, name: name) else {
                continue
            }
            out.append(record)
        }
        return out
    }

    /// Deletes a root. What only it reached becomes garbage for the next collection.
    public func deleteRoot(_ name: String) async throws {
        try await backend.delete(try ChunkStore.rootKey(name))
    }
}
