import CBlockSnapLinux

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The embedded default backend: objects are files in a local directory.
///
/// A key maps one to one to a relative path under ``root``; its segments are directories
/// (`data/ab/abcd…` is the file `abcd…` in the directory `data/ab`). Directories are created
/// when a write needs them and removed again when a delete leaves them empty.
///
/// Durability: ``put(_:data:)`` and ``create(_:data:)`` write the bytes to a temporary file in
/// `.tmp/` under the root, flush it, move (or hard-link) it into place and flush the directory,
/// so a crash at any instant leaves either the whole old object or the whole new one. A
/// ``delete(_:)`` is flushed too. A crash can leave temporary files behind; they are never
/// visible as objects, and ``removeStaleTemporaryFiles(olderThan:)`` removes them.
///
/// Limits that come from the file system rather than from ``StorageBackend``:
/// - Keys whose first segment is `.tmp` are reserved and rejected with
///   ``BlockStoreError/Code/invalidArgument``.
/// - One key cannot be both an object and a directory of other keys: with `a/b` stored, putting
///   `a` fails with ``BlockStoreError/Code/invalidArgument`` (and the other way round). The store
///   never chooses such keys.
/// - ``create(_:data:)`` needs hard links (`link(2)`), which every local POSIX file system has.
/// - A key segment longer than the file system's name limit (255 bytes on most) cannot be
///   stored: writes throw ``BlockStoreError/Code/limitExceeded``, reads find nothing.
///
/// Concurrent calls, from one process or several sharing the directory, and what makes each
/// pair safe:
/// - put / put of one key: each writes its own temporary file and `rename(2)` is atomic; the
///   last one wins.
/// - put / get of one key: a reader's open descriptor keeps the file it opened, so it reads the
///   old or the new bytes, whole.
/// - create / create of one key: `link(2)` fails with `EEXIST` for all but one.
/// - put or create / delete in one directory: a delete removes a directory only while it is
///   empty (`rmdir(2)`); a write that finds its directory gone creates it again and retries.
/// - list / put, create, delete: each directory is read once per page; a file deleted meanwhile
///   is skipped, one added meanwhile may or may not be listed.
/// - removeStaleTemporaryFiles / put, create: only files older than the given age are removed,
///   and a write in progress is younger.
///
/// ```swift
/// let backend = try LocalDirectoryBackend(root: "/var/lib/blocksnap")
/// try await backend.put("config", data: Array("hello".utf8))
/// let bytes = try await backend.get("config")
/// ```
public final class LocalDirectoryBackend: StorageBackend, Sendable {
    /// The store's directory: absolute, without a trailing `/`.
    public let root: String

    /// The folder under ``root`` that holds the temporary files of writes in progress.
    public static let temporaryFolderName = ".tmp"

    /// The random bytes in a temporary file's name (`.tmp/<32 hex>.tmp`): 128 bits, so concurrent
    /// writers in any number of processes never pick the same file.
    static let temporaryNameByteCount = 16

    /// How often a write retries when a concurrent delete removes the directory it writes into.
    private static let placementAttemptsMax = 8

    /// Opens (and by default creates) the store directory `root`.
    ///
    /// - Parameters:
    ///   - root: The directory; a relative path is resolved against the current directory.
    ///   - create: Create `root` (and missing parents) and its `.tmp/` folder when missing.
    ///     Pass `false` to open an existing store only, e.g. one on read-only media.
    /// - Throws: ``BlockStoreError`` `notFound` when `root` is missing and `create` is false,
    ///   `invalidArgument` when it is not a directory, `ioError` when it cannot be created or
    ///   read (the message names the path).
    public init(root: String, create: Bool = true) throws {
        guard !root.isEmpty else {
            throw BlockStoreError(.invalidArgument, "the store directory path is empty")
        }
        self.root = Self.absolutePath(root)
        if create {
            try makeDirectoryTree(self.root)
            try makeDirectoryTree(temporaryFolder)
        }
        var info = stat()
        guard stat(self.root, &info) == 0 else {
            let error = errno
            if error == ENOENT {
                throw BlockStoreError(
                    .notFound,
                    "store directory \(self.root) does not exist: create it, or open it with "
                        + "create: true")
            }
            throw BlockStoreError.fileSystem(
                error, action: "open the store directory", path: self.root)
        }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            throw BlockStoreError(
                .invalidArgument,
                "\(self.root) is not a directory: give the path of a directory to hold the store")
        }
        guard access(self.root, R_OK | X_OK) == 0 else {
            throw BlockStoreError.fileSystem(
                errno, action: "read the store directory", path: self.root)
        }
    }

    /// `"directory <root>"`.
    public var location: String { "directory \(root)" }

    /// `true`: ``create(_:data:)`` places the object with `link(2)`, which fails when the name
    /// exists.
    public var createIsAtomic: Bool { true }

    /// Writes an object, replacing any object of the same key, atomically and durably.
    /// - Throws: ``BlockStoreError`` `ioError` (disk full, permission denied …), `invalidArgument`
    ///   for a reserved key or one that collides with a directory of other keys.
    public func put(_ key: ObjectKey, data: [UInt8]) async throws {
        let target = try path(of: key)
        let temporary = try writeTemporaryFile(data)
        var placed = false
        defer { if !placed { _ = unlink(temporary) } }
        let error = try placeRetrying(key, target: target, source: temporary) {
            rename(temporary, target) == 0 ? 0 : errno
        }
        guard error == 0 else {
            throw BlockStoreError.fileSystem(
                error, action: "move a written object into place at", path: target, volume: root)
        }
        placed = true
        try flushDirectory(parentPath(of: key))
    }

    /// Writes an object only if no object has the key, atomically and durably.
    /// - Returns: `true` if this call created the object, `false` if the key already existed
    ///   (the existing object is untouched).
    /// - Throws: as ``put(_:data:)``.
    public func create(_ key: ObjectKey, data: [UInt8]) async throws -> Bool {
        let target = try path(of: key)
        let temporary = try writeTemporaryFile(data)
        defer { _ = unlink(temporary) }
        let error = try placeRetrying(key, target: target, source: temporary) {
            link(temporary, target) == 0 ? 0 : errno
        }
        switch error {
        case 0, EEXIST:
            // Flush on EEXIST too: the object may come from a concurrent creator that has not
            // flushed the directory yet, and the caller relies on it being there.
            try flushDirectory(parentPath(of: key))
            return error == 0
        case EPERM, EOPNOTSUPP:
            throw BlockStoreError(
                .ioError,
                "the file system of \(root) does not support hard links, which create-only writes "
                    + "need: put the store on a local POSIX file system (ext4, xfs, btrfs, apfs) "
                    + "(errno \(error))")
        default:
            throw BlockStoreError.fileSystem(
                error, action: "link a written object into place at", path: target, volume: root)
        }
    }

    /// Reads a whole object.
    /// - Throws: ``BlockStoreError`` `notFound` when it does not exist, `ioError` when it cannot
    ///   be read.
    public func get(_ key: ObjectKey) async throws -> [UInt8] {
        try read(key, range: nil)
    }

    /// Reads the bytes `range` of an object with `pread(2)`, clamped to its end.
    /// - Throws: as ``get(_:)``.
    public func get(_ key: ObjectKey, range: Range<UInt64>) async throws -> [UInt8] {
        try read(key, range: range)
    }

    /// The size of an object in bytes, from `stat(2)`, or nil when it does not exist.
    public func size(_ key: ObjectKey) async throws -> UInt64? {
        let target = try path(of: key)
        var info = stat()
        guard stat(target, &info) == 0 else {
            let error = errno
            // ENAMETOOLONG: a segment longer than the file system allows can never be stored.
            if error == ENOENT || error == ENOTDIR || error == ENAMETOOLONG { return nil }
            throw BlockStoreError.fileSystem(error, action: "read the size of", path: target)
        }
        return info.st_mode & S_IFMT == S_IFREG ? UInt64(info.st_size) : nil
    }

    /// Deletes an object durably, then the directories the delete left empty; succeeds when the
    /// object does not exist.
    public func delete(_ key: ObjectKey) async throws {
        let target = try path(of: key)
        guard unlink(target) == 0 else {
            let error = errno
            switch error {
            case ENOENT, ENOTDIR, EISDIR, ENAMETOOLONG:
                return  // No object; at most a directory of other keys (EISDIR).
            case EPERM where isDirectory(target):
                return  // The same on systems that answer EPERM for a directory.
            default:
                throw BlockStoreError.fileSystem(error, action: "delete", path: target)
            }
        }
        try flushDirectory(parentPath(of: key))
        removeEmptyParents(of: key)
    }

    /// Removes temporary files that interrupted writes left in `.tmp/`.
    ///
    /// Run it when the store opens, or from time to time; pass an age well above the longest
    /// write, since a write whose temporary file is removed fails.
    /// - Parameter age: Only files last modified longer ago than this are removed.
    /// - Returns: How many files were removed.
    /// - Throws: ``BlockStoreError`` `ioError` when the folder cannot be read or a file removed.
    public func removeStaleTemporaryFiles(olderThan age: Duration) throws -> Int {
        precondition(age >= .zero, "the age of stale temporary files must not be negative")
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let (ageSeconds, ageAttoseconds) = age.components
        let cutoff =
            Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
            - (Double(ageSeconds) + Double(ageAttoseconds) / 1e18)
        var removed = 0
        for name in try directoryNames(temporaryFolder) {
            let file = temporaryFolder + "/" + name
            var info = stat()
            guard lstat(file, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { continue }
            guard Self.modificationSeconds(info) < cutoff else { continue }
            if unlink(file) == 0 {
                removed += 1
            } else if errno != ENOENT {
                throw BlockStoreError.fileSystem(
                    errno, action: "remove the stale temporary file", path: file)
            }
        }
        return removed
    }
}

// MARK: - Paths

extension LocalDirectoryBackend {
    /// The folder of temporary files.
    var temporaryFolder: String { root + "/" + Self.temporaryFolderName }

    /// The file of `key`; throws for keys in the reserved `.tmp/` namespace.
    func path(of key: ObjectKey) throws -> String {
        let reserved = Self.temporaryFolderName
        if key.rawValue == reserved || key.rawValue.hasPrefix(reserved + "/") {
            throw BlockStoreError(
                .invalidArgument,
                "key \(key) is reserved: \(location) keeps temporary files under '\(reserved)/'; "
                    + "choose another first segment")
        }
        return root + "/" + key.rawValue
    }

    /// The directory that holds the file of `key`.
    func parentPath(of key: ObjectKey) -> String {
        guard let slash = key.rawValue.utf8.lastIndex(of: UInt8(ascii: "/")) else { return root }
        return root + "/" + key.rawValue[..<slash]
    }

    /// `path` made absolute against the current directory, without `.` or empty segments and
    /// without a trailing `/` (`..` is kept: resolving it needs the file system).
    static func absolutePath(_ path: String) -> String {
        var full = path
        if !full.hasPrefix("/"), let cwd = getcwd(nil, 0) {
            full = String(cString: cwd) + "/" + full
            free(cwd)
        }
        let segments = full.split(separator: "/").filter { $0 != "." }
        return "/" + segments.joined(separator: "/")
    }

    /// Whether `path` is a directory (following symbolic links).
    func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR
    }

    /// The last modification time of a file, in seconds since the epoch.
    static func modificationSeconds(_ info: stat) -> Double {
        #if canImport(Darwin)
            return Double(info.st_mtimespec.tv_sec) + Double(info.st_mtimespec.tv_nsec) / 1e9
        #else
            return Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
        #endif
    }
}

// MARK: - Writing

extension LocalDirectoryBackend {
    /// Writes `data` to a new file in `.tmp/` and flushes it.
    /// - Returns: The file's path.
    func writeTemporaryFile(_ data: [UInt8]) throws -> String {
        let name = Hex.random(byteCount: Self.temporaryNameByteCount)
        let file = temporaryFolder + "/" + name + ".tmp"
        var fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        if fd < 0 && errno == ENOENT {
            try makeDirectoryTree(temporaryFolder)
            fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        }
        guard fd >= 0 else {
            throw BlockStoreError.fileSystem(
                errno, action: "create a temporary file", path: file, volume: root)
        }
        let owner = FileDescriptorOwner(taking: fd)
        var error = data.withUnsafeBytes { bytes -> Int32 in
            var done = 0
            while done < bytes.count {
                let written = write(owner.rawValue, bytes.baseAddress! + done, bytes.count - done)
                if written < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                done += written
            }
            return 0
        }
        if error == 0 && cbs_fsync(owner.rawValue) != 0 { error = cbs_errno() }
        let closeError = owner.close()
        if error == 0 { error = closeError }
        guard error == 0 else {
            _ = unlink(file)
            throw BlockStoreError.fileSystem(
                error, action: "write \(data.count) bytes to", path: file, volume: root)
        }
        return file
    }

    /// Runs `place` (a rename or link of `source` to `target`) until it does not fail for a
    /// reason this function can mend: a missing parent directory is created, an empty directory
    /// in the way is removed.
    /// - Returns: 0, or the `errno` of the last attempt that failed for another reason.
    /// - Throws: ``BlockStoreError`` `invalidArgument` when the key collides with a directory of
    ///   other keys or with an object where it needs a directory.
    func placeRetrying(
        _ key: ObjectKey, target: String, source: String, _ place: () -> Int32
    ) throws -> Int32 {
        var error: Int32 = 0
        for _ in 0..<Self.placementAttemptsMax {
            error = place()
            switch error {
            case ENOENT:
                // A parent is missing (never created, or removed by a concurrent delete) unless
                // the source itself vanished.
                guard access(source, F_OK) == 0 else { return error }
                try makeParentDirectories(of: key)
            case EISDIR:
                try removeDirectoryInTheWay(key, target: target)
            case EEXIST where isDirectory(target):
                try removeDirectoryInTheWay(key, target: target)
            case ENOTDIR:
                throw keyConflict(key, directoryAt: nil)
            default:
                return error
            }
        }
        return error
    }

    /// Removes the directory at `target`, the file of `key`, when it is empty (left by an
    /// interrupted delete); a non-empty one holds other keys, which is a conflict.
    func removeDirectoryInTheWay(_ key: ObjectKey, target: String) throws {
        guard rmdir(target) == 0 else { throw keyConflict(key, directoryAt: target) }
    }

    /// Creates the directories between the root and the file of `key`, flushing the parent of
    /// each directory created. Returns early when a concurrent delete removes one meanwhile: the
    /// caller tries again.
    func makeParentDirectories(of key: ObjectKey) throws {
        try makeDirectories(key.rawValue.split(separator: "/").dropLast(), under: root, for: key)
    }

    /// Creates `path` and its missing parents (as `mkdir -p`), flushing the parent of each
    /// directory created.
    func makeDirectoryTree(_ path: String) throws {
        try makeDirectories(path.split(separator: "/"), under: "", for: nil)
    }

    /// Creates `base/segments[0]`, `base/segments[0]/segments[1]`, … where missing, flushing the
    /// parent of each directory created.
    /// - Parameter key: The key the directories are for: an object in the way is a conflict, and
    ///   a directory removed meanwhile ends the call early. Nil for the store's own directories.
    private func makeDirectories(
        _ segments: some Sequence<Substring>, under base: String, for key: ObjectKey?
    ) throws {
        var directory = base
        for segment in segments {
            let parent = directory.isEmpty ? "/" : directory
            directory += "/" + segment
            if mkdir(directory, 0o755) == 0 {
                try flushDirectory(parent)
                continue
            }
            let error = errno
            switch (error, key) {
            case (EEXIST, _):
                continue
            case (ENOENT, .some):
                return
            case (ENOTDIR, .some(let key)):
                throw keyConflict(key, directoryAt: nil)
            default:
                throw BlockStoreError.fileSystem(
                    error, action: "create the directory", path: directory, volume: root)
            }
        }
    }

    /// Flushes a directory's entries to stable storage.
    func flushDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else {
            throw BlockStoreError.fileSystem(
                errno, action: "open the directory to flush it", path: path)
        }
        let owner = FileDescriptorOwner(taking: fd)
        // Some file systems cannot flush directories (EINVAL); their entries are durable anyway.
        if fsync(owner.rawValue) != 0 && errno != EINVAL {
            throw BlockStoreError.fileSystem(errno, action: "flush the directory", path: path)
        }
    }

    /// Removes the directories of `key`'s path, deepest first, while they are empty.
    func removeEmptyParents(of key: ObjectKey) {
        var segments = key.rawValue.split(separator: "/").dropLast()
        while !segments.isEmpty {
            guard rmdir(root + "/" + segments.joined(separator: "/")) == 0 else { return }
            segments.removeLast()
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
                .first { !self.isDirectory(self.root + "/" + $0) }
            what = "the object \(file ?? "?") is stored where the key needs a directory"
        }
        return BlockStoreError(
            .invalidArgument,
            "cannot store key \(key) in \(location): \(what); a directory backend cannot hold "
                + "both an object 'a' and objects under 'a/'")
    }
}

// MARK: - Reading

extension LocalDirectoryBackend {
    /// Reads `range` of an object (the whole object when nil), clamped to its end.
    func read(_ key: ObjectKey, range: Range<UInt64>?) throws -> [UInt8] {
        let target = try path(of: key)
        let fd = open(target, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let error = errno
            if error == ENOENT || error == ENOTDIR || error == ENAMETOOLONG { throw notFound(key) }
            throw BlockStoreError.fileSystem(error, action: "open the object", path: target)
        }
        let owner = FileDescriptorOwner(taking: fd)
        var info = stat()
        guard fstat(owner.rawValue, &info) == 0 else {
            throw BlockStoreError.fileSystem(errno, action: "read the size of", path: target)
        }
        guard info.st_mode & S_IFMT == S_IFREG else { throw notFound(key) }
        let sizeBytes = UInt64(info.st_size)
        let end = min(range?.upperBound ?? sizeBytes, sizeBytes)
        let start = min(range?.lowerBound ?? 0, end)
        let count = Int(end - start)
        var error: Int32 = 0
        var endedEarly = false
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            while initialized < count {
                let got = pread(
                    owner.rawValue, buffer.baseAddress! + initialized, count - initialized,
                    off_t(start) + off_t(initialized))
                if got > 0 {
                    initialized += got
                } else if got == 0 {
                    endedEarly = true
                    return
                } else if errno != EINTR {
                    error = errno
                    return
                }
            }
        }
        guard error == 0 else {
            throw BlockStoreError.fileSystem(error, action: "read", path: target)
        }
        if endedEarly {
            throw BlockStoreError(
                .ioError,
                "object \(key) at \(target) ended after \(start + UInt64(bytes.count)) of "
                    + "\(sizeBytes) bytes while being read: something outside BlockSnap is "
                    + "changing files in the store directory")
        }
        return bytes
    }

    /// The error for a missing object.
    func notFound(_ key: ObjectKey) -> BlockStoreError {
        BlockStoreError(.notFound, "object \(key) does not exist in \(location)")
    }
}
