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
/// What else may sit in the directory, put there by something other than BlockSnap (the
/// directory is trusted no more than a bucket):
/// - Symbolic links are never followed below ``root`` (``root`` itself may be one): every
///   directory on a key's path is opened with `O_NOFOLLOW` from the root down, so a read never
///   leaves the store and a write never lands outside it. A symbolic link, FIFO, socket or
///   device at a key's path, or a symbolic link in place of one of its directories, makes reads,
///   ``size(_:)``, writes and deletes of that key throw ``BlockStoreError/Code/corruptObject``
///   naming the path; listings skip them and never descend into a linked directory.
/// - Reads open with `O_NONBLOCK` and check with `fstat(2)` that they got a regular file
///   before reading, so a FIFO cannot block a read; ``get(_:byteCountMax:)`` checks the size
///   before allocating.
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
    static let placementAttemptsMax = 8

    /// Opens (and by default creates) the store directory `root`.
    ///
    /// - Parameters:
    ///   - root: The directory; a relative path is resolved against the current directory.
    ///   - create: Create `root` (and missing parents) and its `.tmp/` folder when missing.
    ///     Pass `false` to open an existing store only, e.g. one on read-only media.
    /// - Throws: ``BlockStoreError`` `notFound` when `root` is missing and `create` is false,
    ///   `invalidArgument` when it is not a directory, `ioError` when it cannot be created or
    ///   read (the message names the path), `corruptObject` when its `.tmp` is not a directory.
    public init(root: String, create: Bool = true) throws {
        guard !root.isEmpty else {
            throw BlockStoreError(.invalidArgument, "the store directory path is empty")
        }
        self.root = Self.absolutePath(root)
        if create {
            try makeDirectoryTree(self.root)
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
        if create {
            _ = try openTemporaryFolder(creating: true)
        }
    }

    /// `"directory <root>"`.
    public var location: String { "directory \(root)" }

    /// `true`: ``create(_:data:)`` places the object with `link(2)`, which fails when the name
    /// exists.
    public var createIsAtomic: Bool { true }

    /// Writes an object, replacing any object of the same key, atomically and durably.
    /// - Throws: ``BlockStoreError`` `ioError` (disk full, permission denied …), `invalidArgument`
    ///   for a reserved key or one that collides with a directory of other keys,
    ///   `corruptObject` when a symbolic link or special file stands where a directory of the
    ///   key's path belongs.
    public func put(_ key: ObjectKey, data: [UInt8]) async throws {
        _ = try place(key, data: data, replacing: true)
    }

    /// Writes an object only if no object has the key, atomically and durably.
    /// - Returns: `true` if this call created the object, `false` if the key already existed
    ///   (the existing object is untouched).
    /// - Throws: as ``put(_:data:)``.
    public func create(_ key: ObjectKey, data: [UInt8]) async throws -> Bool {
        try place(key, data: data, replacing: false)
    }

    /// Reads a whole object.
    /// - Throws: ``BlockStoreError`` `notFound` when it does not exist, `corruptObject` when
    ///   its path holds a symbolic link or special file, `ioError` when it cannot be read.
    public func get(_ key: ObjectKey) async throws -> [UInt8] {
        try read(key, range: nil, byteCountMax: nil)
    }

    /// Reads a whole object of at most `byteCountMax` bytes; the size comes from `fstat(2)` of
    /// the opened file, before anything is allocated.
    /// - Throws: as ``get(_:)``; `limitExceeded` when the file is larger.
    public func get(_ key: ObjectKey, byteCountMax: Int) async throws -> [UInt8] {
        precondition(byteCountMax >= 0, "byteCountMax must not be negative")
        return try read(key, range: nil, byteCountMax: byteCountMax)
    }

    /// Reads the bytes `range` of an object with `pread(2)`, clamped to its end.
    /// - Throws: as ``get(_:)``.
    public func get(_ key: ObjectKey, range: Range<UInt64>) async throws -> [UInt8] {
        try read(key, range: range, byteCountMax: nil)
    }

    /// The size of an object in bytes, from `fstatat(2)` without following a symbolic link, or
    /// nil when it does not exist (a directory of other keys is no object either).
    /// - Throws: ``BlockStoreError`` `corruptObject` when the key's path holds a symbolic link or
    ///   special file, `ioError` when it cannot be read.
    public func size(_ key: ObjectKey) async throws -> UInt64? {
        let target = try path(of: key)
        let (folders, name) = Self.split(key)
        guard let directory = try openDirectory(folders, creating: false, for: nil) else { return nil }
        switch try entry(name, in: directory.rawValue, path: target) {
        case .missing, .directory:
            return nil
        case .regularFile(let sizeBytes):
            return sizeBytes
        case .other(let what):
            throw notAnObject(target, is: what)
        }
    }

    /// Deletes an object durably, then the directories the delete left empty; succeeds when the
    /// object does not exist.
    ///
    /// A symbolic link or special file at the key's path is removed like an object (the link
    /// itself, never what it points to).
    /// - Throws: ``BlockStoreError`` `corruptObject` when a symbolic link or special file stands
    ///   where a directory of the key's path belongs; `ioError` when the file cannot be removed.
    public func delete(_ key: ObjectKey) async throws {
        let target = try path(of: key)
        let (folders, name) = Self.split(key)
        guard let directory = try openDirectory(folders, creating: false, for: nil) else { return }
        guard unlinkat(directory.rawValue, name, 0) == 0 else {
            let error = errno
            switch error {
            case ENOENT, ENOTDIR, EISDIR, ENAMETOOLONG:
                return  // No object; at most a directory of other keys (EISDIR).
            default:
                // Some systems answer EPERM for a directory: no object either.
                if error == EPERM, try entry(name, in: directory.rawValue, path: target) == .directory { return }
                throw BlockStoreError.fileSystem(error, action: "delete", path: target)
            }
        }
        try flushDirectory(directory.rawValue, path: parentPath(of: key))
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
        guard let folder = try openTemporaryFolder(creating: false) else { return 0 }
        var removed = 0
        for name in try directoryNames(folder.rawValue, path: temporaryFolder) {
            var info = stat()
            guard fstatat(folder.rawValue, name, &info, AT_SYMLINK_NOFOLLOW) == 0,
                info.st_mode & S_IFMT == S_IFREG
            else { continue }
            guard Self.modificationSeconds(info) < cutoff else { continue }
            if unlinkat(folder.rawValue, name, 0) == 0 {
                removed += 1
            } else if errno != ENOENT {
                throw BlockStoreError.fileSystem(
                    errno, action: "remove the stale temporary file", path: temporaryFolder + "/" + name)
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

    /// The directories of `key`'s path and the name of its file.
    static func split(_ key: ObjectKey) -> (folders: ArraySlice<Substring>, name: String) {
        let segments = key.rawValue.split(separator: "/")
        return (segments.dropLast(), String(segments[segments.count - 1]))
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

    /// The last modification time of a file, in seconds since the epoch.
    static func modificationSeconds(_ info: stat) -> Double {
        #if canImport(Darwin)
            return Double(info.st_mtimespec.tv_sec) + Double(info.st_mtimespec.tv_nsec) / 1e9
        #else
            return Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
        #endif
    }
}
