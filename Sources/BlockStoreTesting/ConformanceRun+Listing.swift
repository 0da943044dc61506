import BlockStore

/// The checks of `list(prefix:after:limit:)`, against an oracle: the stored keys filtered by
/// byte prefix and sorted by bytes.
extension ConformanceRun {
    /// Names under `list/` chosen to catch wrong orders and prefix handling: `-` and `.` sort
    /// before `/`, `_` and letters after it, upper case before lower case, and `a/b` is a string
    /// prefix of `a/b-x`, `a/b.y`, `a/b_z` and `a/bc/1` as well as of `a/b/1`.
    static let listingNames = [
        "a/b/1", "a/b/2", "a/b-x", "a/b.y", "a/b_z", "a/bc/1", "a/c", "ab", "A", "Z9", "0",
        "b/deep/er/still/key",
    ]

    /// Listings by prefix, paging with small limits, and `after`.
    func checkListing() async throws {
        let base = folder + "list/"
        var sizes: [ObjectKey: UInt64] = [:]
        for (index, name) in Self.listingNames.enumerated() {
            let key = makeKey("list/" + name)
            try await backend.put(key, data: pattern(index + 1, seed: 700))
            sizes[key] = UInt64(index + 1)
        }
        let stored = sizes.keys.sorted()

        /// The oracle: what a listing of `prefix` strictly after `after` must return.
        func expected(_ prefix: String, after: ObjectKey? = nil) -> [ObjectListing.Entry] {
            stored.filter {
                $0.rawValue.utf8.starts(with: prefix.utf8) && (after == nil || after! < $0)
            }
            .map { ObjectListing.Entry(key: $0, sizeBytes: sizes[$0]!) }
        }
        func names(_ entries: [ObjectListing.Entry]) -> [String] {
            entries.map { String($0.key.rawValue.dropFirst(base.count)) }
        }

        let prefixes = [
            "", "a", "a/", "a/b", "a/b/", "a/bc", "a/b/1", "a/bz", "A", "b/deep/er/", "b/deep/e",
            "b/deep/er/still/key/", "zzz",
        ]
        for suffix in prefixes {
            let prefix = base + suffix
            let page = try await backend.list(
                prefix: prefix, after: nil, limit: ObjectListing.defaultPageSize)
            let want = expected(prefix)
            try require(
                page.entries == want,
                "list(prefix: \(prefix)) returned \(names(page.entries)), expected \(names(want)) "
                    + "(plain string prefix, ascending byte order, with sizes)")
            try require(
                page.continuation == nil,
                "list(prefix: \(prefix), limit: \(ObjectListing.defaultPageSize)) of \(want.count) "
                    + "keys returned a continuation"
            )
        }

        // Paging with small limits gives the full listing, in order, without repeats.
        for suffix in ["", "a/b", "b/"] {
            let prefix = base + suffix
            for limit in [1, 2, 3] {
                let paged = try await listKeys(prefix: prefix, limit: limit)
                try require(
                    paged == expected(prefix),
                    "paging list(prefix: \(prefix)) with limit \(limit) returned \(names(paged)), "
                        + "expected \(names(expected(prefix)))")
            }
        }
        let firstPage = try await backend.list(prefix: base, after: nil, limit: 3)
        try require(
            firstPage.entries == Array(expected(base).prefix(3)) && firstPage.continuation != nil,
            "list(prefix: \(base), limit: 3) of \(stored.count) keys returned "
                + "\(names(firstPage.entries)) with continuation "
                + "\(String(describing: firstPage.continuation))"
        )

        // `after` is exclusive, and need not be a stored key.
        var afterKeys = stored
        for name in ["a/b", "a/b0", "a/b/0", "a/b/1x", "a/bb", "b", "b/deep/er/still/key0", "zzz"] {
            afterKeys.append(makeKey("list/" + name))
        }
        afterKeys.append(makeKey("list"))
        afterKeys.append(ObjectKey(String(folder.dropLast()))!)
        for after in afterKeys {
            for suffix in ["", "a/"] {
                let prefix = base + suffix
                let want = expected(prefix, after: after)
                let got = try await backend.list(
                    prefix: prefix, after: after, limit: ObjectListing.defaultPageSize)
                try require(
                    got.entries == want && got.continuation == nil,
                    "list(prefix: \(prefix), after: \(after)) returned \(names(got.entries)), "
                        + "expected \(names(want)) (keys strictly after `after`)")
            }
            let paged = try await listKeys(prefix: base, after: after, limit: 2)
            try require(
                paged == expected(base, after: after),
                "paging list(prefix: \(base), after: \(after), limit: 2) returned \(names(paged))")
        }
        for key in stored { try await backend.delete(key) }
    }
}
