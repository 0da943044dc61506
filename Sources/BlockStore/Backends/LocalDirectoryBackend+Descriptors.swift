#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Walking the store's directories by descriptor, never through a symbolic link.
///
/// Every path below the root is reached one segment at a time with `openat(2)` and
/// `O_NOFOLLOW | O_DIRECTORY` from a descriptor of the root, and every object is opened,
/// created, renamed, linked or removed relative to the descriptor of its directory. A symbolic
/// link anywhere below the root (a file, or a directory such as `data/ab` pointing elsewhere) is
/// therefore never followed: reads cannot leave the store and writes cannot land outside it,
/// whatever another process puts in the directory meanwhile.
extension LocalDirectoryBackend {
    /// What a name in a directory is, as `fstatat(2)` sees it without following a link.
    enum Entry: Equatable {
        /// Nothing has the name.
        case missing
        /// A directory (of other keys).
        case directory
        /// A regular file: an object.
        case regularFile(sizeBytes: UInt64)
        /// Anything else, described for messages: `"a symbolic link"`, `"a FIFO"` …
        case other(String)
    }

    /// Flags of every directory opened below the root.
    static let directoryFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC

    /// Opens the store's directory. Symbolic links in ``root`` itself are followed: the host
    /// chose that path.
    func openRoot() throws -> FileDescriptorOwner {
        let fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else {
            throw BlockStoreError.fileSystem(errno, action: "open the store directory", path: root)
        }
        return FileDescriptorOwner(taking: fd)
    }

    /// Opens the directory `folders` below the root, one segment at a time, never through a
    /// symbolic link.
    ///
    /// - Parameters:
    ///   - folders: The directory segments of a key (all but its last).
    ///   - creating: Create missing directories (flushing the parent of each one created).
    ///   - key: The key the directories are for, named in a conflict when `creating`.
    /// - Returns: The directory; nil when a segment is missing (without `creating`: then no key
    ///   under it exists; with it: a concurrent delete removed it, try again) or, without
    ///   `creating`, is a regular file or too long a name.
    /// - Throws: ``BlockStoreError`` `corruptObject` when a segment is a symbolic link or special
    ///   file, `invalidArgument` when `creating` finds a file where a directory belongs,
    ///   `ioError` when a directory cannot be opened or created.
    func openDirectory(
        _ folders: ArraySlice<Substring>, creating: Bool, for key: ObjectKey?
    ) throws -> FileDescriptorOwner? {
        var directory = try openRoot()
        var path = root
        for segment in folders {
            let name = String(segment)
            let parent = path
            path += "/" + name
            var fd = openat(directory.rawValue, name, Self.directoryFlags)
            if fd < 0 && errno == ENOENT && creating {
                if mkdirat(directory.rawValue, name, 0o755) == 0 {
                    try flushDirectory(directory.rawValue, path: parent)
                } else if errno != EEXIST {
                    throw BlockStoreError.fileSystem(
                        errno, action: "create the directory", path: path, volume: root)
                }
                fd = openat(directory.rawValue, name, Self.directoryFlags)
            }
            guard fd >= 0 else {
                let error = errno
                switch error {
                case ENOENT:
                    return nil
                case ENAMETOOLONG where !creating:
                    return nil
                case ENOTDIR, ELOOP, EMLINK:
                    // Not a directory: a file of another key, or something BlockSnap never writes.
                    switch try entry(name, in: directory.rawValue, path: path) {
                    case .missing, .directory:
                        return nil  // Changed meanwhile; the caller's retry or absence covers it.
                    case .regularFile:
                        guard creating else { return nil }
                        if let key { throw keyConflict(key, directoryAt: nil) }
                        throw BlockStoreError(
                            .corruptObject,
                            "\(path) in \(location) is a file where the store keeps a directory: "
                                + "something else put it there; remove it")
                    case .other(let what):
                        throw notAnObject(path, is: what)
                    }
                default:
                    throw BlockStoreError.fileSystem(
                        error, action: "open the directory", path: path, volume: root)
                }
            }
            directory = FileDescriptorOwner(taking: fd)
        }
        return directory
    }

    /// Opens `.tmp/` (creating it when missing and `creating`); nil when it is missing.
    /// - Throws: ``BlockStoreError`` `corruptObject` when `.tmp` is a symbolic link or special
    ///   file, `ioError` when it cannot be opened or created.
    func openTemporaryFolder(creating: Bool) throws -> FileDescriptorOwner? {
        let name = Self.temporaryFolderName
        let folders = [Substring(name)][...]
        for _ in 0..<Self.placementAttemptsMax {
            if let folder = try openDirectory(folders, creating: creating, for: nil) { return folder }
            guard creating else { return nil }
        }
        throw BlockStoreError(
            .ioError, "\(temporaryFolder) kept disappearing while being created: something removes it")
    }

    /// What `name` in the directory `directory` is, without following a symbolic link.
    /// - Parameter path: The full path of `name`, for messages.
    func entry(_ name: String, in directory: Int32, path: String) throws -> Entry {
        var info = stat()
        guard fstatat(directory, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
            let error = errno
            if error == ENOENT || error == ENOTDIR || error == ENAMETOOLONG { return .missing }
            throw BlockStoreError.fileSystem(error, action: "read the type of", path: path)
        }
        return Self.entry(info)
    }

    /// What the file described by `info` is.
    static func entry(_ info: stat) -> Entry {
        switch info.st_mode & S_IFMT {
        case S_IFREG: .regularFile(sizeBytes: UInt64(info.st_size))
        case S_IFDIR: .directory
        case S_IFLNK: .other("a symbolic link")
        case S_IFIFO: .other("a FIFO")
        case S_IFSOCK: .other("a socket")
        case S_IFCHR: .other("a character device")
        case S_IFBLK: .other("a block device")
        default: .other("a file of unknown type")
        }
    }

    /// The error for a symbolic link or special file where the store keeps objects or their
    /// directories.
    func notAnObject(_ path: String, is what: String) -> BlockStoreError {
        BlockStoreError(
            .corruptObject,
            "\(path) in \(location) is \(what), not a regular file or directory: BlockSnap never "
                + "writes one, so something else put it there; it is neither followed nor read. "
                + "Remove it (and restore the object it replaced from a copy)")
    }

    /// Flushes the entries of an open directory to stable storage.
    /// - Parameter path: The directory's path, for messages.
    func flushDirectory(_ directory: Int32, path: String) throws {
        // Some file systems cannot flush directories (EINVAL); their entries are durable anyway.
        if fsync(directory) != 0 && errno != EINVAL {
            throw BlockStoreError.fileSystem(errno, action: "flush the directory", path: path)
        }
    }

    /// Flushes the entries of the directory at `path` (the store's own path and its parents,
    /// where following links is the host's choice).
    func flushDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else {
            throw BlockStoreError.fileSystem(
                errno, action: "open the directory to flush it", path: path)
        }
        let owner = FileDescriptorOwner(taking: fd)
        try flushDirectory(owner.rawValue, path: path)
    }

    /// Creates `path` and its missing parents (as `mkdir -p`), flushing the parent of each
    /// directory created. For ``root`` only: the host's path, so links in it are followed.
    func makeDirectoryTree(_ path: String) throws {
        var directory = ""
        for segment in path.split(separator: "/") {
            let parent = directory.isEmpty ? "/" : directory
            directory += "/" + segment
            if mkdir(directory, 0o755) == 0 {
                try flushDirectory(parent)
            } else if errno != EEXIST {
                throw BlockStoreError.fileSystem(
                    errno, action: "create the directory", path: directory, volume: root)
            }
        }
    }

    /// Removes the directories of `key`'s path, deepest first, while they are empty.
    func removeEmptyParents(of key: ObjectKey) {
        var folders = Self.split(key).folders
        while let last = folders.popLast() {
            let opened: FileDescriptorOwner?
            do {
                opened = try openDirectory(folders, creating: false, for: nil)
            } catch {
                return
            }
            guard let parent = opened, unlinkat(parent.rawValue, String(last), AT_REMOVEDIR) == 0 else { return }
        }
    }

    /// The names in an open directory, without `.` and `..`.
    /// - Parameter path: The directory's path, for messages.
    func directoryNames(_ directory: Int32, path: String) throws -> [String] {
        // `fdopendir` takes the descriptor over (closedir closes it): give it a duplicate.
        let duplicate = dup(directory)
        guard duplicate >= 0 else {
            throw BlockStoreError.fileSystem(errno, action: "list the directory", path: path)
        }
        guard let stream = fdopendir(duplicate) else {
            let error = errno
            _ = close(duplicate)
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

    /// The error for a key that a directory cannot hold beside the keys already there.
    func keyConflict(_ key: ObjectKey, directoryAt directory: String?) -> BlockStoreError {
        let what: String
        if let directory {
            what = "\(directory) is a directory holding other keys"
        } else {
            let segments = key.rawValue.split(separator: "/")
            let file = (1..<max(segments.count, 1)).lazy
                .map { segments[..<$0].joined(separator: "/") }
                .first { prefix in
                    var info = stat()
                    return lstat(self.root + "/" + prefix, &info) != 0
                        || info.st_mode & S_IFMT != S_IFDIR
                }
            what = "the object \(file ?? "?") is stored where the key needs a directory"
        }
        return BlockStoreError(
            .invalidArgument,
            "cannot store key \(key) in \(location): \(what); a directory backend cannot hold "
                + "both an object 'a' and objects under 'a/'")
    }
}
