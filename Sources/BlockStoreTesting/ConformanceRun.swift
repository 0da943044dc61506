import BlockStore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One run of the suite: the backend and the folder it works in.
struct ConformanceRun: Sendable {
    let backend: any StorageBackend
    /// The run's folder, ending in `/`.
    let folder: String

    /// The most pages one listing may take before the suite calls it endless: the suite's
    /// largest folder paged one key at a time needs far fewer.
    static let listPageCountMax = 10_000
    /// The size of the suite's large object: 20 MiB, above the 16 MiB parts S3 backends upload
    /// by default, so the object is written in parts and read back across part boundaries.
    static let largeObjectBytes = 20 << 20
    /// Where the ranged read of the large object starts and ends around: 8 MiB, inside the
    /// object and off any page or part boundary by a few bytes on either side.
    static let largeObjectRangeMiddle: UInt64 = 8 << 20

    /// The key `folder + name`.
    func makeKey(_ name: String) -> ObjectKey {
        guard let key = ObjectKey(folder + name) else {
            preconditionFailure("the conformance suite built an invalid key \(folder + name)")
        }
        return key
    }

    /// Throws a ``ConformanceFailure`` with the backend's location and `message` unless
    /// `condition` holds.
    func require(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        if !condition { throw ConformanceFailure("\(backend.location): \(message())") }
    }

    /// Requires `actual` to equal `expected`, describing the first difference otherwise.
    func requireBytes(_ actual: [UInt8], _ expected: [UInt8], _ what: String) throws {
        guard let offset = firstDifference(actual, expected) else { return }
        throw ConformanceFailure(
            "\(backend.location): \(what) returned \(actual.count) bytes, expected "
                + "\(expected.count); first difference at offset \(offset)")
    }

    /// Requires `body` to throw `BlockStoreError` with code `notFound`.
    func requireNotFound<T>(_ what: String, _ body: () async throws -> T) async throws {
        let value: T
        do {
            value = try await body()
        } catch let error as BlockStoreError {
            try require(
                error.code == .notFound,
                "\(what) must throw BlockStoreError notFound, threw \(error.code): \(error)")
            return
        } catch {
            throw ConformanceFailure(
                "\(backend.location): \(what) must throw BlockStoreError notFound, threw \(error)")
        }
        throw ConformanceFailure(
            "\(backend.location): \(what) must throw BlockStoreError notFound, returned \(value)")
    }

    /// Seeded bytes, different for each seed.
    func pattern(_ count: Int, seed: UInt64) -> [UInt8] {
        var generator = SplitMix64(seed: seed &* 0x2545_F491_4F6C_DD1D &+ UInt64(count))
        return generator.bytes(count: count)
    }

    /// The keys of a listing, following continuations; fails when a page breaks a rule.
    func listKeys(prefix: String, after: ObjectKey? = nil, limit: Int) async throws
        -> [ObjectListing.Entry]
    {
        var entries: [ObjectListing.Entry] = []
        var cursor = after
        var pageCount = 0
        while true {
            let page = try await backend.list(prefix: prefix, after: cursor, limit: limit)
            pageCount += 1
            try require(
                page.entries.count <= limit,
                "list(prefix: \(prefix), limit: \(limit)) returned \(page.entries.count) keys")
            entries += page.entries
            guard let next = page.continuation else { return entries }
            try require(
                !page.entries.isEmpty,
                "list(prefix: \(prefix), after: \(cursor?.rawValue ?? "nil"), limit: \(limit)) "
                    + "returned an empty page with a continuation")
            try require(
                cursor == nil || cursor! < next,
                "list(prefix: \(prefix), limit: \(limit)) returned continuation \(next), not "
                    + "after the previous one \(cursor!)")
            try require(pageCount <= Self.listPageCountMax, "list(prefix: \(prefix)) does not end")
            cursor = next
        }
    }

    /// Deletes every object of the run and checks that none is left.
    func removeEverything() async throws {
        for entry in try await backend.listAll(prefix: folder) {
            try await backend.delete(entry.key)
        }
        let left = try await backend.listAll(prefix: folder)
        try require(
            left.isEmpty,
            "objects remain after deleting them all: \(left.prefix(5).map(\.key.rawValue))")
    }
}

/// The index of the first byte where `a` and `b` differ (the shorter count when one is a prefix
/// of the other), or nil when they are equal.
func firstDifference(_ a: [UInt8], _ b: [UInt8]) -> Int? {
    a.withUnsafeBytes { left in
        b.withUnsafeBytes { right in
            let common = min(left.count, right.count)
            if common > 0 && memcmp(left.baseAddress!, right.baseAddress!, common) != 0 {
                return (0..<common).first { left[$0] != right[$0] }
            }
            return left.count == right.count ? nil : common
        }
    }
}
