import BlockStore
import BlockStoreTesting
import Testing

/// A memory backend with one deliberate flaw.
struct BrokenBackend: StorageBackend {
    enum Flaw: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case createOverwrites, createRaces, missingGetIsNotNotFound, rangeNotClamped
        case listUnsorted, listPrefixAsFolder, listAfterInclusive, listDropsLastPage
        case deleteMissingThrows, putTruncatesLargeObjects, sizeOfMissingIsZero
        case cappedGetIgnoresCap, cappedGetRefusesExactCap, cappedGetOfMissingIsTooLarge

        var testDescription: String { rawValue }

        /// A word the failure message must contain.
        var expectedMention: String {
            switch self {
            case .createOverwrites, .createRaces: "create("
            case .missingGetIsNotNotFound: "notFound"
            case .rangeNotClamped: "ranged gets"
            case .listUnsorted, .listPrefixAsFolder, .listAfterInclusive, .listDropsLastPage: "list"
            case .deleteMissingThrows: "delete("
            case .putTruncatesLargeObjects: "20971520"
            case .sizeOfMissingIsZero: "size("
            case .cappedGetIgnoresCap, .cappedGetRefusesExactCap: "limitExceeded"
            case .cappedGetOfMissingIsTooLarge: "notFound"
            }
        }
    }

    let flaw: Flaw
    let memory = MemoryBackend()

    var location: String { "broken memory" }
    var createIsAtomic: Bool { true }

    func put(_ key: ObjectKey, data: [UInt8]) async throws {
        let kept =
            flaw == .putTruncatesLargeObjects && data.count > 1 << 20
            ? Array(data.prefix(1 << 20)) : data
        try await memory.put(key, data: kept)
    }

    func create(_ key: ObjectKey, data: [UInt8]) async throws -> Bool {
        switch flaw {
        case .createOverwrites:
            try await memory.put(key, data: data)
            return true
        case .createRaces:
            if try await memory.size(key) != nil { return false }
            try await Task.sleep(for: .milliseconds(5))
            try await memory.put(key, data: data)
            return true
        default:
            return try await memory.create(key, data: data)
        }
    }

    func get(_ key: ObjectKey) async throws -> [UInt8] {
        if flaw == .missingGetIsNotNotFound, try await memory.size(key) == nil {
            throw BlockStoreError(.backendError, "no such object")
        }
        return try await memory.get(key)
    }

    func get(_ key: ObjectKey, byteCountMax: Int) async throws -> [UInt8] {
        switch flaw {
        case .cappedGetIgnoresCap:
            return try await memory.get(key)
        case .cappedGetRefusesExactCap:
            return try await memory.get(key, byteCountMax: max(byteCountMax, 1) - 1)
        case .cappedGetOfMissingIsTooLarge:
            guard try await memory.size(key) != nil else {
                throw BlockStoreError.objectTooLarge(
                    key, sizeBytes: nil, byteCountMax: byteCountMax, location: location)
            }
            return try await memory.get(key, byteCountMax: byteCountMax)
        default:
            return try await memory.get(key, byteCountMax: byteCountMax)
        }
    }

    func get(_ key: ObjectKey, range: Range<UInt64>) async throws -> [UInt8] {
        guard flaw == .rangeNotClamped else { return try await memory.get(key, range: range) }
        let data = try await memory.get(key)
        guard range.upperBound <= UInt64(data.count) else {
            throw BlockStoreError(.invalidArgument, "range past the end")
        }
        return Array(data[Int(range.lowerBound)..<Int(range.upperBound)])
    }

    func size(_ key: ObjectKey) async throws -> UInt64? {
        let size = try await memory.size(key)
        return flaw == .sizeOfMissingIsZero ? size ?? 0 : size
    }

    func list(prefix: String, after: ObjectKey?, limit: Int) async throws -> ObjectListing {
        switch flaw {
        case .listUnsorted:
            var page = try await memory.list(prefix: prefix, after: after, limit: limit)
            page.entries.reverse()
            return page
        case .listPrefixAsFolder:
            let folder = prefix.isEmpty || prefix.hasSuffix("/") ? prefix : prefix + "/"
            let exact = ObjectKey(prefix).map { [$0] } ?? []
            var page = try await memory.list(prefix: folder, after: after, limit: limit)
            for key in exact where after.map({ $0 < key }) ?? true {
                if let size = try await memory.size(key) {
                    page.entries.insert(.init(key: key, sizeBytes: size), at: 0)
                }
            }
            return page
        case .listAfterInclusive:
            var page = try await memory.list(prefix: prefix, after: after, limit: limit)
            if let after, after.rawValue.hasPrefix(prefix), let size = try await memory.size(after) {
                page.entries.insert(.init(key: after, sizeBytes: size), at: 0)
                if page.entries.count > limit { page.entries.removeLast() }
            }
            return page
        case .listDropsLastPage:
            var page = try await memory.list(prefix: prefix, after: after, limit: limit)
            if after != nil && page.continuation == nil { page.entries = [] }
            return page
        default:
            return try await memory.list(prefix: prefix, after: after, limit: limit)
        }
    }

    func delete(_ key: ObjectKey) async throws {
        if flaw == .deleteMissingThrows, try await memory.size(key) == nil {
            throw BlockStoreError(.notFound, "not found")
        }
        try await memory.delete(key)
    }
}
