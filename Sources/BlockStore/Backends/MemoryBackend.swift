import Synchronization

/// A backend that keeps objects in memory: for tests, and for hosts that want a throwaway store.
///
/// It meets every guarantee of ``StorageBackend``, including an atomic ``create(_:data:)``.
///
/// ```swift
/// let backend = MemoryBackend()
/// try await backend.put("config", data: Array("hello".utf8))
/// ```
public final class MemoryBackend: StorageBackend {
    private let objects = Mutex<[ObjectKey: [UInt8]]>([:])

    /// Creates an empty in-memory backend.
    public init() {}

    /// `"memory"`.
    public var location: String { "memory" }
    /// Always true: one lock guards every object.
    public var createIsAtomic: Bool { true }

    /// Stores or replaces an object.
    public func put(_ key: ObjectKey, data: [UInt8]) async throws {
        objects.withLock { $0[key] = data }
    }

    /// Stores an object unless the key exists; returns whether it did.
    public func create(_ key: ObjectKey, data: [UInt8]) async throws -> Bool {
        objects.withLock { store in
            if store[key] != nil { return false }
            store[key] = data
            return true
        }
    }

    /// The object's bytes; `notFound` when absent.
    public func get(_ key: ObjectKey) async throws -> [UInt8] {
        guard let data = objects.withLock({ $0[key] }) else {
            throw BlockStoreError(.notFound, "object \(key) does not exist in \(location)")
        }
        return data
    }

    /// The object's bytes when it holds at most `byteCountMax`; `notFound` when absent,
    /// `limitExceeded` (without copying it) when larger.
    public func get(_ key: ObjectKey, byteCountMax: Int) async throws -> [UInt8] {
        precondition(byteCountMax >= 0, "byteCountMax must not be negative")
        let found = objects.withLock { store -> (count: Int, data: [UInt8]?)? in
            guard let data = store[key] else { return nil }
            return (data.count, data.count <= byteCountMax ? data : nil)
        }
        guard let found else {
            throw BlockStoreError(.notFound, "object \(key) does not exist in \(location)")
        }
        guard let data = found.data else {
            throw BlockStoreError.objectTooLarge(
                key, sizeBytes: UInt64(found.count), byteCountMax: byteCountMax, location: location)
        }
        return data
    }

    /// The bytes of `range` (cut at the object's end); `notFound` when absent.
    public func get(_ key: ObjectKey, range: Range<UInt64>) async throws -> [UInt8] {
        let data = try await get(key)
        let end = min(range.upperBound, UInt64(data.count))
        let start = min(range.lowerBound, end)
        return Array(data[Int(start)..<Int(end)])
    }

    /// The object's size, or nil when absent.
    public func size(_ key: ObjectKey) async throws -> UInt64? {
        objects.withLock { $0[key].map { UInt64($0.count) } }
    }

    /// Up to `limit` keys under `prefix` after `after`, in key order.
    public func list(prefix: String, after: ObjectKey?, limit: Int) async throws -> ObjectListing {
        precondition(limit > 0, "limit must be positive")
        let sorted = objects.withLock { store in
            store.filter { $0.key.rawValue.hasPrefix(prefix) && (after == nil || after! < $0.key) }
                .map { ObjectListing.Entry(key: $0.key, sizeBytes: UInt64($0.value.count)) }
        }.sorted { $0.key < $1.key }
        let page = Array(sorted.prefix(limit))
        let more = sorted.count > limit
        return ObjectListing(entries: page, continuation: more ? page.last?.key : nil)
    }

    /// Deletes an object (absent objects are not an error).
    public func delete(_ key: ObjectKey) async throws {
        _ = objects.withLock { $0.removeValue(forKey: key) }
    }

    /// Every key currently stored, sorted (for tests).
    public var allKeys: [ObjectKey] {
        objects.withLock { Array($0.keys) }.sorted()
    }

    /// Replaces an object's bytes directly, bypassing the protocol (for corruption tests).
    public func overwriteForTesting(_ key: ObjectKey, with data: [UInt8]) {
        objects.withLock { $0[key] = data }
    }
}
