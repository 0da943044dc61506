import BlockStore
import BlockStoreTesting
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

@Suite struct LocalDirectoryBackendTests {
    @Test func passesTheBackendConformanceSuiteAndLeavesNothingBehind() async throws {
        try await withTemporaryDirectory { root in
            let backend = try LocalDirectoryBackend(root: root)
            try await BackendConformance.run(backend, keyPrefix: "conformance")
            // Deletes removed the directories they emptied; writes left no temporary files.
            #expect(try FileManager.default.contentsOfDirectory(atPath: root) == [".tmp"])
            #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/.tmp").isEmpty)
        }
    }

    @Test func objectsAreFilesAtTheirKeysAndOutliveTheBackendInstance() async throws {
        try await withTemporaryDirectory { root in
            let data = Array("chunk bytes".utf8)
            try await LocalDirectoryBackend(root: root).put("data/ab/abcdef", data: data)
            #expect(FileManager.default.contents(atPath: root + "/data/ab/abcdef") == Data(data))
            let reopened = try LocalDirectoryBackend(root: root, create: false)
            #expect(try await reopened.get("data/ab/abcdef") == data)
            #expect(reopened.location == "directory \(root)")
        }
    }

    @Test func relativeRootsAreResolvedAgainstTheCurrentDirectory() throws {
        let backend = try LocalDirectoryBackend(root: "./", create: false)
        #expect(backend.root == FileManager.default.currentDirectoryPath)
        #expect(try LocalDirectoryBackend(root: "/tmp//./", create: false).root == "/tmp")
    }

    @Test func leftoverTemporaryFilesAreInvisibleAndRemovedOnceStale() async throws {
        try await withTemporaryDirectory { root in
            let backend = try LocalDirectoryBackend(root: root)
            try await backend.put("data/kept", data: [1, 2, 3])
            // What an interrupted put leaves: a complete temporary file never moved into place.
            let leftover = root + "/.tmp/0123456789abcdef.tmp"
            #expect(FileManager.default.createFile(atPath: leftover, contents: Data([9, 9])))

            #expect(try await backend.listAll(prefix: "").map(\.key) == ["data/kept"])
            #expect(try await backend.list(prefix: ".t", after: nil, limit: 10).entries.isEmpty)
            #expect(try await backend.list(prefix: ".tmp/", after: nil, limit: 10).entries.isEmpty)
            let error = await #expect(throws: BlockStoreError.self) {
                try await backend.get(ObjectKey(validating: ".tmp/0123456789abcdef.tmp"))
            }
            #expect(error?.code == .invalidArgument)

            #expect(try backend.removeStaleTemporaryFiles(olderThan: .seconds(3600)) == 0)
            #expect(FileManager.default.fileExists(atPath: leftover))
            try FileManager.default.setAttributes(
                [.modificationDate: Date(timeIntervalSinceNow: -7200)], ofItemAtPath: leftover)
            #expect(try backend.removeStaleTemporaryFiles(olderThan: .seconds(3600)) == 1)
            #expect(!FileManager.default.fileExists(atPath: leftover))
            #expect(try backend.removeStaleTemporaryFiles(olderThan: .zero) == 0)
            #expect(try await backend.get("data/kept") == [1, 2, 3])
        }
    }

    @Test func keysUnderTheTemporaryFolderAreReserved() async throws {
        try await withTemporaryDirectory { root in
            let backend = try LocalDirectoryBackend(root: root)
            for text in [".tmp", ".tmp/x", ".tmp/a/b"] {
                let key = try ObjectKey(validating: text)
                let putError = await #expect(throws: BlockStoreError.self) {
                    try await backend.put(key, data: [1])
                }
                #expect(putError?.code == .invalidArgument)
                #expect(putError?.message.contains(".tmp/") == true)
                await #expect(throws: BlockStoreError.self) { try await backend.delete(key) }
            }
            // A longer first segment is an ordinary key.
            try await backend.put(".tmpx/y", data: [2])
            #expect(try await backend.listAll(prefix: ".").map(\.key) == [".tmpx/y"])
        }
    }

    @Test func hostileKeysAreRejectedBeforeReachingTheFileSystem() throws {
        let hostile = [
            "", "/", "/etc/passwd", "../escape", "a/../../b", "a/./b", ".", "..", "a//b", "a/",
            "a b", "a\\b", "a\0b", "a\nb", "caf\u{E9}", "a:b", "~", "a*", "%2e%2e/x",
            String(repeating: "a", count: ObjectKey.maxLength + 1),
        ]
        for text in hostile {
            #expect(ObjectKey(text) == nil, "accepted hostile key \(text.debugDescription)")
            let error = #expect(throws: BlockStoreError.self) { try ObjectKey(validating: text) }
            #expect(error?.code == .invalidArgument)
        }
        for text in [
            "a", "data/ab/abcdef", ".tmpx", "..a", "a.", "A-Z_0.9",
            String(repeating: "a", count: 512),
        ] {
            #expect(ObjectKey(text) != nil, "rejected valid key \(text)")
        }
    }

    @Test func hostilePrefixesListNothingOutsideTheRoot() async throws {
        try await withTemporaryDirectory { parent in
            let root = parent + "/store"
            try FileManager.default.createDirectory(
                atPath: parent + "/outside", withIntermediateDirectories: true)
            #expect(
                FileManager.default.createFile(
                    atPath: parent + "/outside/secret", contents: Data([1])))
            let backend = try LocalDirectoryBackend(root: root)
            try await backend.put("inside", data: [1])
            for prefix in ["../", "../outside/", "/", "//", "./", "inside/../", "a//"] {
                let listing = try await backend.list(prefix: prefix, after: nil, limit: 10)
                #expect(listing.entries.isEmpty, "prefix \(prefix) listed \(listing.entries)")
            }
            #expect(try await backend.listAll(prefix: "").map(\.key) == ["inside"])
        }
    }

    @Test func strayFilesWithInvalidNamesAreNotListed() async throws {
        try await withTemporaryDirectory { root in
            let backend = try LocalDirectoryBackend(root: root)
            try await backend.put("data/ok", data: [1])
            for stray in ["data/bad name", "data/x~", "data/caf\u{E9}"] {
                #expect(
                    FileManager.default.createFile(atPath: root + "/" + stray, contents: Data([0])))
            }
            try FileManager.default.createDirectory(
                atPath: root + "/bad dir", withIntermediateDirectories: true)
            #expect(
                FileManager.default.createFile(atPath: root + "/bad dir/inner", contents: Data([0]))
            )
            #expect(try await backend.listAll(prefix: "").map(\.key) == ["data/ok"])
        }
    }

    @Test func aKeyCannotBeBothAnObjectAndAFolderOfKeys() async throws {
        try await withTemporaryDirectory { root in
            let backend = try LocalDirectoryBackend(root: root)
            try await backend.put("a", data: [1])
            let underObject = await #expect(throws: BlockStoreError.self) {
                try await backend.put("a/b", data: [2])
            }
            #expect(underObject?.code == .invalidArgument)
            #expect(underObject?.message.contains("the object a ") == true)

            try await backend.put("c/d", data: [3])
            let overFolder = await #expect(throws: BlockStoreError.self) {
                try await backend.put("c", data: [4])
            }
            #expect(overFolder?.code == .invalidArgument)
            await #expect(throws: BlockStoreError.self) {
                _ = try await backend.create("c", data: [4])
            }
            // The folder is not an object: it reads as missing, and deleting it is a no-op.
            let readError = await #expect(throws: BlockStoreError.self) {
                try await backend.get("c")
            }
            #expect(readError?.code == .notFound)
            #expect(try await backend.size("c") == nil)
            try await backend.delete("c")
            #expect(try await backend.get("c/d") == [3])

            // Once the folder's last key is deleted, the name is free again.
            try await backend.delete("c/d")
            #expect(try await backend.create("c", data: [5]))
            #expect(try await backend.get("c") == [5])
        }
    }

    @Test func aSegmentLongerThanTheFileSystemAllowsIsALimitNotACrash() async throws {
        try await withTemporaryDirectory { root in
            let backend = try LocalDirectoryBackend(root: root)
            let key = try ObjectKey(validating: "data/" + String(repeating: "n", count: 300))
            let error = await #expect(throws: BlockStoreError.self) {
                try await backend.put(key, data: [1])
            }
            #expect(error?.code == .limitExceeded)
            #expect(error?.message.hasPrefix("name too long") == true)
            let readError = await #expect(throws: BlockStoreError.self) {
                try await backend.get(key)
            }
            #expect(readError?.code == .notFound)
            #expect(try await backend.size(key) == nil)
            try await backend.delete(key)
        }
    }

    @Test(.enabled(if: geteuid() != 0, "root reads unreadable directories"))
    func listingReadsOnlyTheDirectoriesItsPrefixAndAfterCanMatch() async throws {
        try await withTemporaryDirectory { root in
            let backend = try LocalDirectoryBackend(root: root)
            try await backend.put("data/ab/1", data: [1])
            try await backend.put("locked/x", data: [2])
            try await backend.put("zz", data: [3])
            #expect(chmod(root + "/locked", 0) == 0)
            defer { chmod(root + "/locked", 0o755) }
            #expect(try await backend.listAll(prefix: "data/").map(\.key) == ["data/ab/1"])
            #expect(try await backend.listAll(prefix: "z").map(\.key) == ["zz"])
            let late = try await backend.list(prefix: "", after: "locked0", limit: 10)
            #expect(late.entries.map(\.key) == ["zz"])
            let error = await #expect(throws: BlockStoreError.self) {
                _ = try await backend.listAll(prefix: "")
            }
            #expect(error?.message.hasPrefix("permission denied on \(root)/locked") == true)
        }
    }

    @Test func deletesRemoveTheDirectoriesTheyEmpty() async throws {
        try await withTemporaryDirectory { root in
            let backend = try LocalDirectoryBackend(root: root)
            try await backend.put("x/y/z", data: [1])
            try await backend.put("x/w", data: [2])
            try await backend.delete("x/y/z")
            #expect(!FileManager.default.fileExists(atPath: root + "/x/y"))
            #expect(FileManager.default.fileExists(atPath: root + "/x/w"))
            try await backend.delete("x/w")
            #expect(!FileManager.default.fileExists(atPath: root + "/x"))
            // An empty directory left behind (say by a crash) does not block a put of its name.
            try FileManager.default.createDirectory(
                atPath: root + "/e", withIntermediateDirectories: true)
            try await backend.put("e", data: [3])
            #expect(try await backend.get("e") == [3])
        }
    }

    @Test func aMissingRootWithoutCreateIsNotFoundAndNamesThePath() async throws {
        try await withTemporaryDirectory { parent in
            let root = parent + "/absent"
            let error = #expect(throws: BlockStoreError.self) {
                try LocalDirectoryBackend(root: root, create: false)
            }
            #expect(error?.code == .notFound)
            #expect(error?.message.contains(root) == true)
            #expect(!FileManager.default.fileExists(atPath: root))
            // With create (the default) the root and its parents are made.
            _ = try LocalDirectoryBackend(root: root + "/deeper")
            #expect(FileManager.default.fileExists(atPath: root + "/deeper/.tmp"))
        }
    }

    @Test func aRootThatIsAFileIsRejectedAndNamesThePath() async throws {
        try await withTemporaryDirectory { parent in
            let file = parent + "/file"
            #expect(FileManager.default.createFile(atPath: file, contents: Data([1])))
            let notDirectory = #expect(throws: BlockStoreError.self) {
                try LocalDirectoryBackend(root: file, create: false)
            }
            #expect(notDirectory?.code == .invalidArgument)
            #expect(notDirectory?.message.contains(file) == true)
            let underFile = #expect(throws: BlockStoreError.self) {
                try LocalDirectoryBackend(root: file + "/store")
            }
            #expect(underFile?.code == .ioError)
            #expect(underFile?.message.contains(file + "/store") == true)
        }
    }

    @Test(.enabled(if: geteuid() != 0, "root ignores file permissions"))
    func aReadOnlyRootGivesPermissionDeniedNamingThePath() async throws {
        try await withTemporaryDirectory { parent in
            let root = parent + "/store"
            let backend = try LocalDirectoryBackend(root: root)
            try await backend.put("data/kept", data: [1])
            try FileManager.default.removeItem(atPath: root + "/.tmp")
            #expect(chmod(root, 0o555) == 0)
            defer { chmod(root, 0o755) }
            let readOnly = try LocalDirectoryBackend(root: root, create: false)
            #expect(try await readOnly.get("data/kept") == [1])
            let error = await #expect(throws: BlockStoreError.self) {
                try await readOnly.put("data/new", data: [2])
            }
            #expect(error?.code == .ioError)
            #expect(error?.message.hasPrefix("permission denied on \(root)") == true)
            let opening = #expect(throws: BlockStoreError.self) {
                try LocalDirectoryBackend(root: root, create: true)
            }
            #expect(opening?.message.contains("permission denied on \(root)") == true)
        }
    }

    @Test func fileSystemErrorsBecomeTypedActionableErrors() {
        let path = "/srv/store/data/ab"
        let missing = BlockStoreError.fileSystem(ENOENT, action: "open", path: path)
        #expect(missing.code == .notFound)
        #expect(missing.message.contains(path))
        let denied = BlockStoreError.fileSystem(
            EACCES, action: "create a temporary file", path: path)
        #expect(denied.code == .ioError)
        #expect(
            denied.message.hasPrefix("permission denied on \(path): cannot create a temporary file")
        )
        let full = BlockStoreError.fileSystem(
            ENOSPC, action: "write", path: path, volume: "/srv/store")
        #expect(full.code == .ioError)
        #expect(full.message.hasPrefix("disk full"))
        #expect(full.message.contains("/srv/store"))
        let readOnly = BlockStoreError.fileSystem(EROFS, action: "write", path: path)
        #expect(readOnly.message.hasPrefix("read-only file system"))
        let other = BlockStoreError.fileSystem(EBADF, action: "read", path: path)
        #expect(other.code == .ioError)
        #expect(other.message.contains("errno \(EBADF)"))
    }
}

/// Runs `body` with a new empty directory under the system's temporary directory, then removes it.
private func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("blocksnap-test-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}
