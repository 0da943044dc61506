#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension LocalDirectoryBackend {
    /// Lists keys that start with the string `prefix`, in ascending byte order, strictly after
    /// `after`, at most `limit` of them.
    ///
    /// `prefix` is a plain string prefix, as in S3: `a/b` matches `a/b/c`, `a/b-c` and `a/bc`.
    /// Only the directories that can hold matching keys after `after` are read, so a narrow
    /// prefix or a late `after` does not scan the whole tree. Temporary files, and files or
    /// directories whose names are not valid key segments, are not listed.
    ///
    /// - Precondition: `limit > 0`.
    /// - Complexity: Reads each directory on the path to the page's keys once; O(entries of
    ///   those directories) per page.
    public func list(prefix: String, after: ObjectKey?, limit: Int) async throws -> ObjectListing {
        precondition(limit > 0, "limit must be positive")
        // `prefix` splits into the directory it must be in and a name prefix within it. A
        // directory part that is not a valid key path (`../`, `/`, `a//`) matches no key.
        let prefixBytes = Array(prefix.utf8)
        var directory = ""
        var namePrefix = prefix
        if let slash = prefixBytes.lastIndex(of: UInt8(ascii: "/")) {
            directory = String(decoding: prefixBytes[...slash], as: UTF8.self)
            namePrefix = String(decoding: prefixBytes[(slash + 1)...], as: UTF8.self)
            guard ObjectKey.isValid(String(directory.dropLast())) else {
                return ObjectListing(entries: [], continuation: nil)
            }
            if directory.hasPrefix(Self.temporaryFolderName + "/") {
                return ObjectListing(entries: [], continuation: nil)
            }
        }
        var walk = ListingWalk(
            backend: self, after: after.map { Array($0.rawValue.utf8) }, wanted: limit + 1)
        let folders = directory.split(separator: "/")[...]
        // A directory of the prefix that is missing, a file, or a link or special file (never
        // followed) holds no keys.
        let opened: FileDescriptorOwner?
        do {
            opened = try openDirectory(folders, creating: false, for: nil)
        } catch let error as BlockStoreError where error.code == .corruptObject || error.code == .notFound {
            opened = nil
        }
        guard let opened else { return ObjectListing(entries: [], continuation: nil) }
        try walk.collect(opened.rawValue, directory: directory, namePrefix: namePrefix)
        guard walk.entries.count > limit else {
            return ObjectListing(entries: walk.entries, continuation: nil)
        }
        let page = Array(walk.entries.prefix(limit))
        return ObjectListing(entries: page, continuation: page.last?.key)
    }
}

/// One depth-first walk of the directory tree for a listing, in key order.
private struct ListingWalk {
    let backend: LocalDirectoryBackend
    /// The bytes of `after`: keys at or before it are skipped.
    let after: [UInt8]?
    /// How many entries to collect before stopping.
    let wanted: Int
    /// The entries found, ascending.
    var entries: [ObjectListing.Entry] = []

    /// Collects the keys in the open directory `descriptor` (at key path `directory`, ending in
    /// `/`, or `""` for the root) whose next segment starts with `namePrefix`, in ascending
    /// order, until `wanted` are found. Symbolic links and special files are skipped: a linked
    /// directory is never descended into, so a link loop cannot trap the walk.
    mutating func collect(_ descriptor: Int32, directory: String, namePrefix: String) throws {
        let path = backend.root + "/" + directory
        var children: [(name: String, sizeBytes: UInt64?, order: [UInt8])] = []
        for name in try backend.directoryNames(descriptor, path: path)
        where name.utf8.starts(with: namePrefix.utf8) {
            guard ObjectKey.isValid(name) else { continue }
            if directory.isEmpty && name == LocalDirectoryBackend.temporaryFolderName { continue }
            var info = stat()
            guard fstatat(descriptor, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { continue }  // Deleted meanwhile.
            switch LocalDirectoryBackend.entry(info) {
            case .directory:
                // Every key in directory `x` starts with `x/`, which orders it among its
                // siblings: `x.y` < `x/…` < `x0`.
                children.append((name, nil, Array((name + "/").utf8)))
            case .regularFile(let sizeBytes):
                children.append((name, sizeBytes, Array(name.utf8)))
            case .missing, .other:
                continue
            }
        }
        children.sort { $0.order.lexicographicallyPrecedes($1.order) }
        for child in children {
            guard entries.count < wanted else { return }
            let keyText = directory + child.name
            if let sizeBytes = child.sizeBytes {
                if let after, !after.lexicographicallyPrecedes(keyText.utf8) { continue }
                guard let key = ObjectKey(keyText) else { continue }
                entries.append(ObjectListing.Entry(key: key, sizeBytes: sizeBytes))
            } else {
                let subdirectory = keyText + "/"
                guard subdirectory.utf8.count < ObjectKey.maxLength else { continue }
                if let after, !after.starts(with: subdirectory.utf8),
                    !after.lexicographicallyPrecedes(subdirectory.utf8)
                {
                    continue  // Every key in it is before `after`.
                }
                // O_NOFOLLOW: replaced by a link since it was looked at, it is skipped.
                let fd = openat(descriptor, child.name, LocalDirectoryBackend.directoryFlags)
                guard fd >= 0 else { continue }
                let opened = FileDescriptorOwner(taking: fd)
                try collect(opened.rawValue, directory: subdirectory, namePrefix: "")
            }
        }
    }
}
