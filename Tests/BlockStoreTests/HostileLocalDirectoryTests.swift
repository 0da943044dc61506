import BlockStoreTesting
import Foundation
import Testing

@testable import BlockStore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A store directory that something other than BlockSnap has tampered with: FIFOs, sockets,
/// sparse 1 TiB files and symbolic links where objects belong. Every call returns, with a typed
/// error, in bounded memory, and no write lands outside the store.
@Suite struct HostileLocalDirectoryTests {
    /// A store with a point's worth of every kind of object: config, a key file, a pack, an
    /// index object and a root.
    struct Fixture {
        let root: String
        let backend: LocalDirectoryBackend
        let block: [UInt8]
        let blockID: ChunkID

        static let passphrase = "hostile"
        static let rootName = "points/p1"

        init(root: String) async throws {
            self.root = root
            backend = try LocalDirectoryBackend(root: root)
            var generator = SplitMix64(seed: 13)
            block = generator.bytes(count: 64 << 10)
            let store = try await ChunkStore.create(
                on: backend, encryption: .passphrase(Self.passphrase), options: fastOptions(lock: .none))
            blockID = try await store.putBlock(block).id
            try await store.publishRoot(Self.rootName, id: blockID, payload: [1, 2, 3])
            try await store.close()
        }

        func open() async throws -> ChunkStore {
            try await ChunkStore.open(on: backend, passphrase: Self.passphrase, options: fastOptions(lock: .none))
        }

        /// The one key of the store under `prefix`.
        func key(under prefix: String) async throws -> ObjectKey {
            let keys = try await backend.listAll(prefix: prefix).map(\.key)
            return try #require(keys.first, "no object under \(prefix)")
        }

        func path(_ key: ObjectKey) -> String { root + "/" + key.rawValue }
    }

    // MARK: - FIFOs and sockets

    @Test(arguments: ["config", "keys/", "index/", "roots/", "data/"])
    func aFIFOInPlaceOfAnObjectIsRefusedInsteadOfBlockingEveryRead(kind: String) async throws {
        try await withScratchDirectory { directory in
            let fixture = try await Fixture(root: directory + "/store")
            let key = kind == "config" ? ObjectKey("config") : try await fixture.key(under: kind)
            let fifo = fixture.path(key)
            try replaceWithFIFO(fifo)
            let backend = fixture.backend
            let reads: [(String, @Sendable () async throws -> Void)] = [
                ("get", { _ = try await backend.get(key) }),
                ("capped get", { _ = try await backend.get(key, byteCountMax: 1 << 20) }),
                ("ranged get", { _ = try await backend.get(key, range: 0..<10) }),
                ("size", { _ = try await backend.size(key) }),
            ]
            for (name, read) in reads {
                let error = try await #require(returnedError(unblocking: fifo, read), "\(name) of \(key)")
                #expect(error.code == .corruptObject, "\(name): \(error)")
                #expect(error.message.contains("a FIFO") && error.message.contains(fifo), "\(name): \(error)")
            }
            // Listings skip it; the store's own readers return.
            #expect(try await backend.listAll(prefix: kind == "config" ? "c" : kind).isEmpty)
            if kind == "config" {
                let error = try await #require(returnedError(unblocking: fifo) { _ = try await fixture.open() })
                #expect(error.code == .corruptObject, "\(error)")
            } else {
                let verified = await returned(unblocking: fifo) {
                    let store = try await fixture.open()
                    if kind == "roots/" {
                        let error = await #expect(throws: BlockStoreError.self) {
                            try await store.root(Fixture.rootName)
                        }
                        #expect(error?.code == .corruptObject)
                    }
                    let report = try await store.verify()
                    try await store.close()
                    return report
                }
                #expect(verified != nil, "verify beside a FIFO under \(kind) did not return")
            }
        }
    }

    @Test func aSocketInPlaceOfAnObjectIsRefused() async throws {
        try await withScratchDirectory { directory in
            let fixture = try await Fixture(root: directory + "/s")
            let key = try await fixture.key(under: "roots/")
            try FileManager.default.removeItem(atPath: fixture.path(key))
            let listening = try bindUnixSocket(at: fixture.path(key))
            defer { close(listening) }
            let error = await #expect(throws: BlockStoreError.self) {
                try await fixture.backend.get(key, byteCountMax: 1 << 16)
            }
            #expect(
                error?.code == .corruptObject && error?.message.contains("a socket") == true,
                "\(String(describing: error))")
            let store = try await fixture.open()
            let rootError = await #expect(throws: BlockStoreError.self) { try await store.root(Fixture.rootName) }
            #expect(rootError?.code == .corruptObject)
            #expect(try await store.rootListing().records.isEmpty)
            try await store.close()
        }
    }

    // MARK: - Sparse 1 TiB files

    @Test func sparseTebibyteObjectsAreRefusedBeforeAnyBufferIsAllocated() async throws {
        try await withScratchDirectory { directory in
            let fixture = try await Fixture(root: directory + "/store")
            let tebibyte: Int64 = 1 << 40
            let hugeKey = try ObjectKey(validating: "keys/" + String(repeating: "f", count: 64))
            let hugeIndex = try ObjectKey(validating: "index/" + String(repeating: "e", count: 64))
            let hugePack = try ObjectKey(validating: "data/dd/" + String(repeating: "d", count: 64))
            let hugeRoot: ObjectKey = "roots/points/huge"
            let cases: [(ObjectKey, Int)] = [
                (hugeKey, ObjectSizeLimits.keyFile), (hugeIndex, ObjectSizeLimits.indexObject),
                (hugePack, ObjectSizeLimits.pack), (hugeRoot, ObjectSizeLimits.root),
                ("config", ObjectSizeLimits.configuration),
            ]
            let config = try await fixture.backend.get("config")
            for (key, _) in cases { try makeSparseFile(fixture.path(key), sizeBytes: tebibyte) }
            for (key, limit) in cases {
                let error = await #expect(throws: BlockStoreError.self) {
                    try await fixture.backend.get(key, byteCountMax: limit)
                }
                #expect(error?.code == .limitExceeded, "\(key): \(String(describing: error))")
                #expect(
                    error?.message.contains("\(key)") == true && error?.message.contains("\(tebibyte)") == true
                        && error?.message.contains("\(limit)") == true, "\(key): \(String(describing: error))")
            }
            // A config that large is refused; the store does not open.
            let openError = await #expect(throws: BlockStoreError.self) { try await fixture.open() }
            #expect(openError?.code == .limitExceeded, "\(String(describing: openError))")
            try await fixture.backend.put("config", data: config)

            // Beside the intact objects, the huge ones are damage: the store opens with its
            // intact key, skips the huge index object, and verify names all four.
            let store = try await fixture.open()
            #expect(try await store.chunk(fixture.blockID) == fixture.block)
            let report = try await store.verify()
            for key in [hugeKey, hugeIndex, hugePack] {
                #expect(report.damagedObjects.contains(key), "\(key) not reported in \(report.damagedObjects)")
            }
            #expect(report.damagedRoots == ["points/huge"])
            // Garbage collection refuses to run beside damage, deleting nothing.
            try await store.close()
            let exclusive = try await ChunkStore.open(
                on: fixture.backend, passphrase: Fixture.passphrase, options: fastOptions(lock: .exclusive))
            let gcError = await #expect(throws: BlockStoreError.self) { try await exclusive.collectGarbage() }
            #expect(gcError?.code == .damaged, "\(String(describing: gcError))")
            for (key, _) in cases where key != "config" {
                #expect(FileManager.default.fileExists(atPath: fixture.path(key)), "\(key) was removed")
            }
            // Repair sees the huge pack as damaged but cannot copy it under quarantine/: it
            // replaces the index (the huge index object with it), then stops with
            // limitExceeded naming the pack, having allocated nothing for it.
            let dryRun = try await exclusive.repair(dryRun: true)
            #expect(dryRun.damagedPacks.contains(hugePack), "\(dryRun)")
            let repairError = await #expect(throws: BlockStoreError.self) { try await exclusive.repair() }
            #expect(
                repairError?.code == .limitExceeded && repairError?.message.contains(hugePack.rawValue) == true,
                "\(String(describing: repairError))")
            #expect(try await fixture.backend.listAll(prefix: "quarantine/").isEmpty)
            try await exclusive.close()
            #expect(!FileManager.default.fileExists(atPath: fixture.path(hugeIndex)))
            for key in [hugeKey, hugePack, hugeRoot] {
                #expect(FileManager.default.fileExists(atPath: fixture.path(key)), "\(key) was removed")
            }
        }
    }

    @Test func aPackTrailerClaimingAHugeHeaderIsRefusedBeforeTheHeaderIsRead() async throws {
        try await withScratchDirectory { directory in
            let fixture = try await Fixture(root: directory + "/store")
            let pack = try await fixture.key(under: "data/")
            // A sparse pack of 2 GiB whose trailer declares a header of almost all of it.
            let sizeBytes: Int64 = 2 << 30
            try makeSparseFile(fixture.path(pack), sizeBytes: sizeBytes)
            var trailer: [UInt8] = []
            let headerLength = UInt32(sizeBytes - 12 - 1)
            trailer += withUnsafeBytes(of: headerLength.littleEndian, Array.init)
            trailer += Array("BSPK".utf8) + [1, 0, 0, 0]
            let fd = open(fixture.path(pack), O_WRONLY)
            #expect(fd >= 0)
            #expect(pwrite(fd, trailer, trailer.count, off_t(sizeBytes) - 12) == trailer.count)
            close(fd)
            let store = try await fixture.open()
            let error = await #expect(throws: BlockStoreError.self) {
                try await store.packEntries(pack, sizeBytes: UInt64(sizeBytes))
            }
            #expect(
                error?.code == .limitExceeded && error?.message.contains("header") == true,
                "\(String(describing: error))")
            // Verify reports it (without reading its data, which would be 2 GiB of zeros).
            let id = try #require(ChunkID(hex: pack.lastSegment))
            let otherSlice = try PackSubset(try PackSubset(1, of: 2).contains(pack: id) ? 2 : 1, of: 2)
            let report = try await store.verify(dataSubset: otherSlice)
            #expect(report.damagedObjects.contains(pack), "\(report)")
            try await store.close()
        }
    }

    // MARK: - Symbolic links

    @Test func aLinkedDirectoryIsNeitherListedNorReadNorWrittenThrough() async throws {
        try await withScratchDirectory { directory in
            let backend = try LocalDirectoryBackend(root: directory + "/store")
            try await backend.put("data/aa/kept", data: [1])
            // One outside directory holding a file, one empty: the first for reads, the second
            // must stay empty whatever is written.
            let outsideWithFile = directory + "/elsewhere-full"
            let outsideEmpty = directory + "/elsewhere"
            try FileManager.default.createDirectory(atPath: outsideWithFile, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: outsideEmpty, withIntermediateDirectories: true)
            #expect(FileManager.default.createFile(atPath: outsideWithFile + "/secret", contents: Data([7, 7])))
            try FileManager.default.createSymbolicLink(
                atPath: directory + "/store/data/ab", withDestinationPath: outsideWithFile)
            try FileManager.default.createSymbolicLink(
                atPath: directory + "/store/data/ac", withDestinationPath: outsideEmpty)

            #expect(try await backend.listAll(prefix: "").map(\.key) == ["data/aa/kept"])
            #expect(try await backend.listAll(prefix: "data/ab/").isEmpty)
            for read in [
                { _ = try await backend.get("data/ab/secret") },
                { _ = try await backend.get("data/ab/secret", byteCountMax: 10) },
                { _ = try await backend.get("data/ab/secret", range: 0..<2) },
                { _ = try await backend.size("data/ab/secret") },
                { try await backend.delete("data/ab/secret") },
            ] as [@Sendable () async throws -> Void] {
                let error = await #expect(throws: BlockStoreError.self) { try await read() }
                #expect(error?.code == .corruptObject && error?.message.contains("a symbolic link") == true)
            }
            #expect(FileManager.default.fileExists(atPath: outsideWithFile + "/secret"))

            for write in [
                { try await backend.put("data/ac/new", data: [9]) },
                { _ = try await backend.create("data/ac/new", data: [9]) },
                { try await backend.put("data/ac/deeper/new", data: [9]) },
            ] as [@Sendable () async throws -> Void] {
                let error = await #expect(throws: BlockStoreError.self) { try await write() }
                #expect(error?.code == .corruptObject, "\(String(describing: error))")
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: outsideEmpty).isEmpty)
            // The backend still works beside them, and left no temporary file behind.
            try await backend.put("data/aa/other", data: [2])
            #expect(try await backend.get("data/aa/other", byteCountMax: 1) == [2])
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory + "/store/.tmp").isEmpty)
        }
    }

    @Test func aStoreWhoseDataFolderIsALinkWritesNothingOutsideIt() async throws {
        try await withScratchDirectory { directory in
            let outside = directory + "/elsewhere"
            try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
            let backend = try LocalDirectoryBackend(root: directory + "/store")
            try FileManager.default.createSymbolicLink(atPath: directory + "/store/data", withDestinationPath: outside)
            let store = try await ChunkStore.create(on: backend, encryption: .none, options: fastOptions(lock: .none))
            var generator = SplitMix64(seed: 21)
            _ = try await store.putBlock(generator.bytes(count: 64 << 10))
            let error = await #expect(throws: BlockStoreError.self) { try await store.flush() }
            #expect(error?.code == .corruptObject, "\(String(describing: error))")
            #expect(try FileManager.default.contentsOfDirectory(atPath: outside).isEmpty)
        }
    }

    @Test func aLinkedTemporaryFolderStopsWritesBeforeAByteLeavesTheStore() async throws {
        try await withScratchDirectory { directory in
            let outside = directory + "/elsewhere"
            try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
            let backend = try LocalDirectoryBackend(root: directory + "/store")
            try FileManager.default.removeItem(atPath: directory + "/store/.tmp")
            try FileManager.default.createSymbolicLink(atPath: directory + "/store/.tmp", withDestinationPath: outside)
            let error = await #expect(throws: BlockStoreError.self) { try await backend.put("config", data: [1]) }
            #expect(error?.code == .corruptObject && error?.message.contains("a symbolic link") == true)
            #expect(try FileManager.default.contentsOfDirectory(atPath: outside).isEmpty)
            // Cleaning up never removes files through the link either.
            #expect(FileManager.default.createFile(atPath: outside + "/theirs.tmp", contents: Data([1])))
            let cleanup = #expect(throws: BlockStoreError.self) {
                try backend.removeStaleTemporaryFiles(olderThan: .zero)
            }
            #expect(cleanup?.code == .corruptObject, "\(String(describing: cleanup))")
            #expect(FileManager.default.fileExists(atPath: outside + "/theirs.tmp"))
        }
    }

    @Test func aLinkedObjectIsRefusedAndDeletingItRemovesOnlyTheLink() async throws {
        try await withScratchDirectory { directory in
            let backend = try LocalDirectoryBackend(root: directory + "/store")
            try await backend.put("roots/real", data: [1, 2])
            let outsideFile = directory + "/outside-object"
            #expect(FileManager.default.createFile(atPath: outsideFile, contents: Data([5, 5, 5])))
            try FileManager.default.createSymbolicLink(
                atPath: directory + "/store/roots/linked", withDestinationPath: outsideFile)
            // A link to an object inside the store is refused as well.
            try FileManager.default.createSymbolicLink(
                atPath: directory + "/store/roots/inner", withDestinationPath: directory + "/store/roots/real")

            #expect(try await backend.listAll(prefix: "roots/").map(\.key) == ["roots/real"])
            for key: ObjectKey in ["roots/linked", "roots/inner"] {
                let error = await #expect(throws: BlockStoreError.self) {
                    try await backend.get(key, byteCountMax: 100)
                }
                #expect(error?.code == .corruptObject && error?.message.contains("a symbolic link") == true)
                let sizeError = await #expect(throws: BlockStoreError.self) { try await backend.size(key) }
                #expect(sizeError?.code == .corruptObject)
            }
            // A create over the link keeps it (the key is taken); a put replaces the link itself.
            #expect(try await backend.create("roots/linked", data: [8]) == false)
            try await backend.put("roots/inner", data: [9])
            #expect(try await backend.get("roots/inner") == [9])
            #expect(try await backend.get("roots/real") == [1, 2])
            try await backend.delete("roots/linked")
            #expect(FileManager.default.contents(atPath: outsideFile) == Data([5, 5, 5]))
            #expect(try await backend.size("roots/linked") == nil)
        }
    }

    @Test func symbolicLinkLoopsEndListingsAndReads() async throws {
        try await withScratchDirectory { directory in
            let store = directory + "/store"
            let backend = try LocalDirectoryBackend(root: store)
            try await backend.put("data/aa/kept", data: [1])
            try FileManager.default.createSymbolicLink(atPath: store + "/data/self", withDestinationPath: "self")
            try FileManager.default.createSymbolicLink(atPath: store + "/data/up", withDestinationPath: "..")
            try FileManager.default.createSymbolicLink(atPath: store + "/data/ping", withDestinationPath: "pong")
            try FileManager.default.createSymbolicLink(atPath: store + "/data/pong", withDestinationPath: "ping")
            try FileManager.default.createSymbolicLink(atPath: store + "/loop", withDestinationPath: store)

            let listed = await returned { try await backend.listAll(prefix: "").map(\.key) }
            #expect(try listed?.get() == ["data/aa/kept"])
            for key: ObjectKey in ["data/self/x", "data/up/data/aa/kept", "data/ping", "loop/data/aa/kept"] {
                let error = await returnedError { _ = try await backend.get(key, byteCountMax: 10) }
                #expect(error?.code == .corruptObject, "\(key): \(String(describing: error))")
            }
            let written = await returnedError { try await backend.put("data/up/escaped", data: [1]) }
            #expect(written?.code == .corruptObject)
            #expect(!FileManager.default.fileExists(atPath: store + "/escaped"))
        }
    }
}

// MARK: - Helpers

/// Runs `body` in a new scratch directory, removed afterwards.
private func withScratchDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("blocksnap-hostile-\(UUID().uuidString)")
        .path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

/// How long a call may take before the test calls it hung: generous, since only returning at
/// all is checked, never speed.
private let hangBound: Duration = .seconds(120)

/// Runs `body` and returns its result, or nil when it has not returned within ``hangBound``.
///
/// A call blocked on a FIFO (a regression) would hold its thread forever: after the bound the
/// FIFO at `fifo` is opened for writing and closed, which ends the blocked read with EOF, so the
/// test reports the hang instead of hanging itself.
private func returned<T: Sendable>(
    unblocking fifo: String? = nil, _ body: @escaping @Sendable () async throws -> T
) async -> Result<T, any Error>? {
    await withTaskGroup(of: Result<T, any Error>?.self) { group in
        group.addTask {
            do { return .success(try await body()) } catch { return .failure(error) }
        }
        group.addTask {
            try? await Task.sleep(for: hangBound)
            return nil
        }
        let first = await group.next() ?? nil
        if first == nil, let fifo {
            let writer = open(fifo, O_WRONLY | O_NONBLOCK)
            if writer >= 0 { close(writer) }
        }
        group.cancelAll()
        return first
    }
}

/// The error `body` threw, when it returned within ``hangBound`` with a ``BlockStoreError``;
/// records an issue and returns nil when it hung, succeeded or threw anything else.
private func returnedError(
    unblocking fifo: String? = nil, _ body: @escaping @Sendable () async throws -> Void,
    sourceLocation: SourceLocation = #_sourceLocation
) async -> BlockStoreError? {
    switch await returned(unblocking: fifo, body) {
    case nil:
        Issue.record("the call did not return within \(hangBound)", sourceLocation: sourceLocation)
    case .success?:
        Issue.record("the call succeeded; expected a BlockStoreError", sourceLocation: sourceLocation)
    case .failure(let error as BlockStoreError)?:
        return error
    case .failure(let error)?:
        Issue.record("the call threw \(error); expected a BlockStoreError", sourceLocation: sourceLocation)
    }
    return nil
}

/// Replaces the file at `path` by a FIFO that nothing writes to.
private func replaceWithFIFO(_ path: String) throws {
    try FileManager.default.removeItem(atPath: path)
    guard mkfifo(path, 0o644) == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
}

/// Makes (or replaces) a sparse file of `sizeBytes` at `path`, creating its directory.
func makeSparseFile(_ path: String, sizeBytes: Int64) throws {
    try FileManager.default.createDirectory(
        atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
    defer { close(fd) }
    guard ftruncate(fd, off_t(sizeBytes)) == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
}

/// A UNIX socket bound (and listening) at `path`; close the returned descriptor when done.
private func bindUnixSocket(at path: String) throws -> Int32 {
    #if canImport(Glibc)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    #else
        let fd = socket(AF_UNIX, SOCK_STREAM, 0)
    #endif
    guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
        close(fd)
        throw POSIXError(.ENAMETOOLONG)
    }
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        raw.copyBytes(from: bytes)
        raw[bytes.count] = 0
    }
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
        }
    }
    guard bound == 0, listen(fd, 1) == 0 else {
        let error = errno
        close(fd)
        throw POSIXError(.init(rawValue: error) ?? .EIO)
    }
    return fd
}
