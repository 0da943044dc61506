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
        try walk.collect(directory: directory, namePrefix: namePrefix)
        guard walk.entries.count > limit else {
            return ObjectListing(entries: walk.entries, continuation: nil)
        }
        let page = Array(walk.entries.prefix(limit))
        return ObjectListing(entries: page, continuation: page.last?.key)
    }

    /// The names in a directory, without `.` and `..`; empty when the directory does not exist.
    func directoryNames(_ path: String) throws -> [String] {
        guard let stream = opendir(path) else {
            let error = errno
            if error == ENOENT || error == ENOTDIR { return [] }
            throw BlockStoreError.fileSystem(error, action: "list the directory", path: path)
        }
        defer { closedir(stream) }
        var names: [String] = []
        while true {
            errno = 0
            guard let entry = readdir(stream) else {
                if errno != 0 {
                    throw BlockStoreError.fileSystem(
                        errno, action: "list the directory", path: path)
                }
                return names
            }
            let name = withUnsafePointer(to: &entry.pointee.d_name) {
                $0.withMemoryRebound(
                    to: CChar.self, capacity: MemoryLayout.size(ofValue: $0.pointee)
                ) {
                    String(cString: $0)
                }
            }
            if name != "." && name != ".." { names.append(name) }
        }
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

    /// Collects the keys in `directory` (a key path ending in `/`, or `""` for the root) whose
    /// next segment starts with `namePrefix`, in ascending order, until `wanted` are found.
    mutating func collect(directory: String, namePrefix: String) throws {
        let path = backend.root + "/" + directory
        var children: [(name: String, isDirectory: Bool, order: [UInt8])] = []
        for name in try backend.directoryNames(path) where name.utf8.starts(with: namePrefix.utf8) {
            guard ObjectKey.isValid(name) else { continue }
            if directory.isEmpty && name == LocalDirectoryBackend.temporaryFolderName { continue }
            var info = stat()
            guard stat(path + name, &info) == 0 else { continue }  // Deleted meanwhile.
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                // Every key in directory `x` starts with `x/`, which orders it among its
                // siblings: `x.y` < `x/…` < `x0`.
                children.append((name, true, Array((name + "/").utf8)))
            case S_IFREG:
                children.append((name, false, Array(name.utf8)))
            default:
                continue
            }
        }
        children.sort { $0.order.lexicographicallyPrecedes($1.order) }
        for child in children {
            guard entries.count < wanted else { return }
            let keyText = directory + child.name
            if child.isDirectory {
                let subdirectory = keyText + "/"
                guard subdirectory.utf8.count < ObjectKey.maxLength else { continue }
                if let after, !after.starts(with: subdirectory.utf8),
                    !after.lexicographicallyPrecedes(subdirectory.utf8)
                {
                    continue  // Every key in it is before `after`.
                }
                try collect(directory: subdirectory, namePrefix: "")
            } else {
                if let after, !after.lexicographicallyPrecedes(keyText.utf8) { continue }
                guard let key = ObjectKey(keyText) else { continue }
                var info = stat()
                guard stat(path + child.name, &info) == 0 else { continue }  // Deleted meanwhile.
                entries.append(ObjectListing.Entry(key: key, sizeBytes: UInt64(info.st_size)))
            }
        }
    }
}
