import BlockStore
import BlockStoreTesting
import Foundation
import Synchronization

/// A lock record as another process writes it (the JSON of StoreFormat.md, "Locks").
struct LockRecordFixture: Codable, Equatable {
    var owner: ProcessIdentity
    var exclusive: Bool
    var token: String
    var counter: UInt64
    var staleAfterMilliseconds: Int64
    var created: Date
    var refreshed: Date

    /// A lock of `owner` whose wall-clock dates say it was refreshed a day ago.
    init(owner: ProcessIdentity, exclusive: Bool) {
        self.owner = owner
        self.exclusive = exclusive
        token = String(format: "%016llx", UInt64.random(in: 0...UInt64.max))
        counter = 7
        staleAfterMilliseconds = 100
        created = Date().addingTimeInterval(-86400)
        refreshed = created
    }

    func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        return Array(try! encoder.encode(self))
    }

    static func decode(_ bytes: [UInt8]) -> LockRecordFixture? {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try? decoder.decode(LockRecordFixture.self, from: Data(bytes))
    }
}

/// A fresh random lock key.
func randomLockKey() -> ObjectKey {
    ObjectKey("locks/" + Hex.random(byteCount: LockObject.nameByteCount))!
}

/// A backend of each kind the lock tests run on, in a scratch directory removed at deinit.
final class LockTestBackend: Sendable {
    enum Kind: String, CaseIterable, Sendable {
        case memory, directory
    }

    let backend: any StorageBackend
    private let directory: String?

    init(_ kind: Kind) throws {
        switch kind {
        case .memory:
            backend = MemoryBackend()
            directory = nil
        case .directory:
            let path = FileManager.default.temporaryDirectory
                .appendingPathComponent("blocksnap-locks-\(UUID().uuidString)").path
            backend = try LocalDirectoryBackend(root: path)
            directory = path
        }
    }

    deinit {
        if let directory { try? FileManager.default.removeItem(atPath: directory) }
    }
}

/// Forwards to a backend, runs a hook before the first write under `index/` once armed, and
/// records every deletion.
final class HookBackend: StorageBackend {
    let wrapped: any StorageBackend
    private struct State {
        var hook: (@Sendable () async -> Void)?
        var deleted: [ObjectKey] = []
    }
    private let state = Mutex(State())

    init(wrapping backend: any StorageBackend) { wrapped = backend }

    /// Runs `hook` (once) before the next write of an index object.
    func arm(_ hook: @escaping @Sendable () async -> Void) { state.withLock { $0.hook = hook } }

    /// Every key deleted through this backend.
    var deleted: [ObjectKey] { state.withLock { $0.deleted } }

    var location: String { wrapped.location }
    var createIsAtomic: Bool { wrapped.createIsAtomic }

    func put(_ key: ObjectKey, data: [UInt8]) async throws {
        if key.rawValue.hasPrefix("index/") {
            let hook = state.withLock { s -> (@Sendable () async -> Void)? in
                defer { s.hook = nil }
                return s.hook
            }
            await hook?()
        }
        try await wrapped.put(key, data: data)
    }

    func create(_ key: ObjectKey, data: [UInt8]) async throws -> Bool { try await wrapped.create(key, data: data) }
    func get(_ key: ObjectKey) async throws -> [UInt8] { try await wrapped.get(key) }
    func get(_ key: ObjectKey, byteCountMax: Int) async throws -> [UInt8] {
        try await wrapped.get(key, byteCountMax: byteCountMax)
    }
    func get(_ key: ObjectKey, range: Range<UInt64>) async throws -> [UInt8] {
        try await wrapped.get(key, range: range)
    }
    func size(_ key: ObjectKey) async throws -> UInt64? { try await wrapped.size(key) }
    func list(prefix: String, after: ObjectKey?, limit: Int) async throws -> ObjectListing {
        try await wrapped.list(prefix: prefix, after: after, limit: limit)
    }
    func delete(_ key: ObjectKey) async throws {
        state.withLock { $0.deleted.append(key) }
        try await wrapped.delete(key)
    }
}
