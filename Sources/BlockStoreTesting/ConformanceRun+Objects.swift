import BlockStore

/// The checks of single objects: missing keys, round trips, overwrites, create-only writes,
/// concurrency, ranged reads, deletes and nested keys.
extension ConformanceRun {
    /// A missing key: `get` and ranged `get` throw `notFound`, `size` is nil, `delete` succeeds,
    /// `list` is empty.
    func checkMissingObjects() async throws {
        let key = makeKey("missing/object")
        try await requireNotFound("get(\(key)) of a missing key") { try await backend.get(key) }
        try await requireNotFound("get(\(key), range: 0..<10) of a missing key") {
            try await backend.get(key, range: 0..<10)
        }
        let size = try await backend.size(key)
        try require(size == nil, "size(\(key)) of a missing key returned \(size!), expected nil")
        do {
            try await backend.delete(key)
        } catch {
            throw ConformanceFailure(
                "\(backend.location): delete(\(key)) of a missing key must succeed, threw \(error)")
        }
        let listing = try await backend.list(prefix: folder + "missing/", after: nil, limit: 10)
        try require(
            listing == ObjectListing(entries: [], continuation: nil),
            "list(prefix: \(folder)missing/) of no objects returned \(listing)")
    }

    /// `put` then `get` returns the same bytes, for empty, tiny, page-crossing and 20 MiB objects;
    /// `size` and `list` report the size.
    func checkRoundTrips() async throws {
        for count in [0, 1, 4097, Self.largeObjectBytes] {
            let key = makeKey("roundtrip/\(count)")
            let data = pattern(count, seed: 1)
            try await backend.put(key, data: data)
            try requireBytes(
                try await backend.get(key), data, "get(\(key)) after put of \(count) bytes")
            let size = try await backend.size(key)
            try require(
                size == UInt64(count),
                "size(\(key)) returned \(String(describing: size)), expected \(count)")
            let listing = try await backend.list(prefix: key.rawValue, after: nil, limit: 10)
            try require(
                listing.entries == [ObjectListing.Entry(key: key, sizeBytes: UInt64(count))],
                "list(prefix: \(key)) returned \(listing.entries), expected the one key of "
                    + "\(count) bytes"
            )
            if count == Self.largeObjectBytes {
                let range: Range<UInt64> =
                    Self.largeObjectRangeMiddle - 3..<Self.largeObjectRangeMiddle + 4097
                try requireBytes(
                    try await backend.get(key, range: range),
                    Array(data[Int(range.lowerBound)..<Int(range.upperBound)]),
                    "get(\(key), range: \(range))")
            }
            try await backend.delete(key)
        }
    }

    /// `put` over an existing object replaces it whole: longer, shorter and empty.
    func checkOverwrite() async throws {
        let key = makeKey("overwrite/object")
        for (step, count) in [1000, 10, 5000, 0].enumerated() {
            let data = pattern(count, seed: 10 + UInt64(step))
            try await backend.put(key, data: data)
            try requireBytes(
                try await backend.get(key), data,
                "get(\(key)) after overwrite \(step) with \(count) bytes")
            let size = try await backend.size(key)
            try require(
                size == UInt64(count),
                "size(\(key)) after overwrite with \(count) bytes returned "
                    + "\(String(describing: size))"
            )
        }
        try await backend.delete(key)
    }

    /// `create` writes only when the key is free and never touches an existing object.
    func checkCreateOnly() async throws {
        let key = makeKey("create/object")
        let first = pattern(300, seed: 20)
        try require(
            try await backend.create(key, data: first), "create(\(key)) of a new key returned false"
        )
        try requireBytes(try await backend.get(key), first, "get(\(key)) after create")
        let created = try await backend.create(key, data: pattern(700, seed: 21))
        try require(!created, "create(\(key)) of an existing key returned true")
        try requireBytes(
            try await backend.get(key), first,
            "get(\(key)) after a refused create (object must be untouched)")
        let size = try await backend.size(key)
        try require(
            size == 300, "size(\(key)) after a refused create returned \(String(describing: size))")
        let replacement = pattern(50, seed: 22)
        try await backend.put(key, data: replacement)
        try requireBytes(
            try await backend.get(key), replacement, "get(\(key)) after put over a created object")
        try await backend.delete(key)
        let again = pattern(10, seed: 23)
        try require(
            try await backend.create(key, data: again), "create(\(key)) after delete returned false"
        )
        try requireBytes(try await backend.get(key), again, "get(\(key)) after delete and create")
        try await backend.delete(key)
    }

    /// Concurrent `create`s of one key: exactly one wins when `StorageBackend.createIsAtomic`
    /// (at least one otherwise), and the object holds the bytes of a winner.
    func checkConcurrentCreates() async throws {
        let creatorCount = 16
        for round in 0..<3 {
            let key = makeKey("concurrent-create/\(round)")
            let candidates = (0..<creatorCount).map { pattern(4096, seed: 100 + UInt64($0)) }
            let winners = try await withThrowingTaskGroup(of: (Int, Bool).self) { group in
                for (index, data) in candidates.enumerated() {
                    group.addTask { [backend] in (index, try await backend.create(key, data: data))
                    }
                }
                var winners: [Int] = []
                for try await (index, created) in group where created { winners.append(index) }
                return winners
            }
            if backend.createIsAtomic {
                try require(
                    winners.count == 1,
                    "\(creatorCount) concurrent create(\(key)): \(winners.count) returned true, "
                        + "expected exactly 1 (createIsAtomic is true)")
            } else {
                try require(
                    !winners.isEmpty,
                    "\(creatorCount) concurrent create(\(key)): none returned true")
            }
            let stored = try await backend.get(key)
            try require(
                winners.contains { candidates[$0] == stored },
                "after \(creatorCount) concurrent create(\(key)) the object holds "
                    + "\(stored.count) bytes "
                    + "that no winning creator wrote (winners: \(winners))")
            try await backend.delete(key)
        }
    }

    /// Concurrent `put`s of distinct keys all land, each with its own bytes.
    func checkConcurrentPuts() async throws {
        let keys = (0..<32).map { makeKey("concurrent-put/\($0 % 4)/object-\($0)") }
        let contents = keys.indices.map { pattern(1000 + 997 * $0, seed: 200 + UInt64($0)) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (key, data) in zip(keys, contents) {
                group.addTask { [backend] in try await backend.put(key, data: data) }
            }
            try await group.waitForAll()
        }
        for (key, data) in zip(keys, contents) {
            try requireBytes(try await backend.get(key), data, "get(\(key)) after concurrent puts")
        }
        let listed = try await backend.listAll(prefix: folder + "concurrent-put/").map(\.key)
        try require(
            listed == keys.sorted(),
            "list after \(keys.count) concurrent puts returned \(listed.count) keys, expected "
                + "\(keys.count)"
        )
        for key in keys { try await backend.delete(key) }
    }

    /// A reader racing a writer sees one whole version of an object, never a mix or a prefix.
    func checkReadersSeeWholeObjects() async throws {
        let key = makeKey("atomic/object")
        let versions = [pattern(256 << 10, seed: 300), pattern(512 << 10, seed: 301)]
        try await backend.put(key, data: versions[0])
        let torn = try await withThrowingTaskGroup(of: Int.self) { group in
            group.addTask { [backend] in
                for step in 1...8 { try await backend.put(key, data: versions[step % 2]) }
                return 0
            }
            for _ in 0..<2 {
                group.addTask { [backend] in
                    var tornCount = 0
                    for _ in 0..<12 {
                        let seen = try await backend.get(key)
                        if seen != versions[0] && seen != versions[1] { tornCount += 1 }
                    }
                    return tornCount
                }
            }
            return try await group.reduce(0, +)
        }
        try require(
            torn == 0, "\(torn) reads of \(key) raced with puts and saw neither whole version")
        try await backend.delete(key)
    }

    /// Ranged `get`: inside, clamped past the end, empty, fully past the end, on an empty object.
    func checkRangedGets() async throws {
        let key = makeKey("range/object")
        let data = pattern(1000, seed: 400)
        try await backend.put(key, data: data)
        let cases: [(Range<UInt64>, Range<Int>)] = [
            (10..<20, 10..<20), (0..<1000, 0..<1000), (0..<1, 0..<1), (999..<1000, 999..<1000),
            (990..<2000, 990..<1000), (0..<UInt64.max, 0..<1000), (5..<5, 5..<5),
            (1000..<1010, 1000..<1000), (2000..<3000, 1000..<1000), (1000..<1000, 1000..<1000),
        ]
        for (range, expected) in cases {
            try requireBytes(
                try await backend.get(key, range: range), Array(data[expected]),
                "get(\(key), range: \(range)) of a 1000-byte object")
        }
        let empty = makeKey("range/empty")
        try await backend.put(empty, data: [])
        for range: Range<UInt64> in [0..<10, 0..<0, 5..<7] {
            try requireBytes(
                try await backend.get(empty, range: range), [],
                "get(\(empty), range: \(range)) of an empty object")
        }
        try await backend.delete(key)
        try await backend.delete(empty)
    }

    /// `delete` removes the object and only it, and deleting again succeeds.
    func checkDelete() async throws {
        let key = makeKey("delete/object")
        let sibling = makeKey("delete/sibling")
        let siblingData = pattern(64, seed: 500)
        try await backend.put(key, data: pattern(100, seed: 501))
        try await backend.put(sibling, data: siblingData)
        try await backend.delete(key)
        try await requireNotFound("get(\(key)) after delete") { try await backend.get(key) }
        let size = try await backend.size(key)
        try require(size == nil, "size(\(key)) after delete returned \(size!), expected nil")
        let listed = try await backend.listAll(prefix: folder + "delete/").map(\.key)
        try require(
            listed == [sibling],
            "list after delete(\(key)) returned \(listed), expected [\(sibling)]")
        try await backend.delete(key)
        try requireBytes(
            try await backend.get(sibling), siblingData,
            "get(\(sibling)) after deleting its neighbour")
        try await backend.delete(sibling)
        try await backend.delete(sibling)
        let left = try await backend.listAll(prefix: folder + "delete/")
        try require(left.isEmpty, "list after deleting every object returned \(left)")
    }

    /// Deeply nested keys and a key of the maximum length round-trip, list and delete.
    func checkNestedKeys() async throws {
        let deep = makeKey("nested/1/2/3/4/5/6/7/8/9/object")
        let beside = makeKey("nested/1/2/3/file")
        try await backend.put(deep, data: pattern(33, seed: 600))
        try await backend.put(beside, data: pattern(44, seed: 601))
        try requireBytes(try await backend.get(deep), pattern(33, seed: 600), "get(\(deep))")
        let listed = try await backend.listAll(prefix: folder + "nested/1/2/").map(\.key)
        try require(
            listed == [deep, beside], "list(prefix: \(folder)nested/1/2/) returned \(listed)")
        try await backend.delete(deep)
        let after = try await backend.listAll(prefix: folder + "nested/").map(\.key)
        try require(
            after == [beside],
            "list(prefix: \(folder)nested/) after deleting \(deep) returned \(after)")
        try await backend.delete(beside)

        // A key of exactly ObjectKey.maxLength bytes, in segments a file system accepts (when
        // the key prefix leaves room for one).
        guard folder.utf8.count + "nested/long/x".utf8.count <= ObjectKey.maxLength else { return }
        var name = "nested/long"
        while folder.utf8.count + name.utf8.count + 101 <= ObjectKey.maxLength {
            name += "/" + String(repeating: "s", count: 100)
        }
        name +=
            "/"
            + String(
                repeating: "x", count: ObjectKey.maxLength - folder.utf8.count - name.utf8.count - 1
            )
        let longest = makeKey(name)
        try require(
            longest.rawValue.utf8.count == ObjectKey.maxLength, "suite bug: long key length")
        let data = pattern(77, seed: 602)
        try await backend.put(longest, data: data)
        try requireBytes(
            try await backend.get(longest), data, "get of a \(ObjectKey.maxLength)-byte key")
        let found = try await backend.listAll(prefix: folder + "nested/long/").map(\.key)
        try require(
            found == [longest], "list of a \(ObjectKey.maxLength)-byte key returned \(found)")
        try await backend.delete(longest)
    }
}
