/// A view of a backend that reaches only the objects under some prefixes of a store's namespace.
///
/// Higher layers that keep objects of their own beside a store's (the recovery chain's job
/// guards under `jobs/`) get one of these from the store instead of the raw backend, so they
/// cannot touch packs, index objects, roots or keys by mistake.
package struct ScopedBackend: StorageBackend {
    let base: any StorageBackend
    let prefixes: [String]

    package init(_ base: any StorageBackend, prefixes: [String]) {
        self.base = base
        self.prefixes = prefixes
    }

    package var location: String { base.location }
    package var createIsAtomic: Bool { base.createIsAtomic }

    private func check(_ key: ObjectKey) throws {
        guard prefixes.contains(where: { key.rawValue.hasPrefix($0) }) else {
            throw BlockStoreError(.invalidArgument, "object \(key) is outside \(prefixes.joined(separator: ", "))")
        }
    }

    package func put(_ key: ObjectKey, data: [UInt8]) async throws {
        try check(key)
        try await base.put(key, data: data)
    }

    package func create(_ key: ObjectKey, data: [UInt8]) async throws -> Bool {
        try check(key)
        return try await base.create(key, data: data)
    }

    package func get(_ key: ObjectKey) async throws -> [UInt8] {
        try check(key)
        return try await base.get(key)
    }

    package func get(_ key: ObjectKey, byteCountMax: Int) async throws -> [UInt8] {
        try check(key)
        return try await base.get(key, byteCountMax: byteCountMax)
    }

    package func get(_ key: ObjectKey, range: Range<UInt64>) async throws -> [UInt8] {
        try check(key)
        return try await base.get(key, range: range)
    }

    package func size(_ key: ObjectKey) async throws -> UInt64? {
        try check(key)
        return try await base.size(key)
    }

    package func list(prefix: String, after: ObjectKey?, limit: Int) async throws -> ObjectListing {
        guard prefixes.contains(where: { prefix.hasPrefix($0) }) else {
            throw BlockStoreError(.invalidArgument, "listing \(prefix) is outside \(prefixes.joined(separator: ", "))")
        }
        return try await base.list(prefix: prefix, after: after, limit: limit)
    }

    package func delete(_ key: ObjectKey) async throws {
        try check(key)
        try await base.delete(key)
    }
}

extension ChunkStore {
    /// The part of the store's namespace where job guards live (`jobs/`, `jobs-takeover/`).
    package var jobGuardObjects: any StorageBackend {
        ScopedBackend(backend, prefixes: ["jobs/", "jobs-takeover/"])
    }
}
