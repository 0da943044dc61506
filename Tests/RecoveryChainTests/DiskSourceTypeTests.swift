import BlockStore
import Foundation
import RecoveryChain
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Special files made for a test: a FIFO, a bound Unix socket, a directory, links to them.
struct SpecialFiles {
    let scratch = ScratchDirectory()

    func fifo() throws -> String {
        let path = scratch.file("fifo-\(UUID().uuidString)")
        try #require(mkfifo(path, 0o600) == 0, "mkfifo: \(String(cString: strerror(errno)))")
        return path
    }

    /// A Unix socket bound at a path (the descriptor stays open as long as the test needs it
    /// only for the path to exist; binding creates the path).
    func socket() throws -> String {
        let path = scratch.file("sock-\(UUID().uuidString.prefix(8))")
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        try #require(bytes.count < MemoryLayout.size(ofValue: address.sun_path), "socket path too long: \(path)")
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        try #require(bound == 0, "bind: \(String(cString: strerror(errno)))")
        return path
    }

    func directory() throws -> String {
        let path = scratch.file("dir-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        return path
    }

    func link(to target: String) throws -> String {
        let path = scratch.file("link-\(UUID().uuidString)")
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: target)
        return path
    }

    func file(bytes: Int) throws -> String {
        let path = scratch.file("file-\(UUID().uuidString).img")
        try Data(repeating: 0x5A, count: bytes).write(to: URL(fileURLWithPath: path))
        return path
    }
}

/// `FileDiskSource` takes regular files and block devices only (issue 13: `backup --disk
/// /dev/null` recorded a point of an empty disk).
@Suite struct DiskSourceTypeTests {
    /// The error opening `path` as a disk throws, or nil when it opens.
    func openError(_ path: String) -> RecoveryChainError? {
        do {
            _ = try FileDiskSource(path: path)
            return nil
        } catch let error as RecoveryChainError {
            return error
        } catch {
            Issue.record("\(path): \(error) is not a RecoveryChainError")
            return nil
        }
    }

    @Test func characterDevicesFIFOsSocketsAndDirectoriesAreRefusedNamingPathAndType() throws {
        let files = SpecialFiles()
        let cases: [(String, String)] = [
            ("/dev/null", "character device"), ("/dev/zero", "character device"),
            (try files.fifo(), "FIFO"), (try files.socket(), "socket"), (try files.directory(), "directory"),
        ]
        for (path, kind) in cases {
            // A FIFO without a writer must not block the open: this returns at once or hangs.
            let error = try #require(openError(path), "\(path) opened as a disk")
            #expect(error.code == .invalidArgument, "\(path): \(error)")
            #expect(error.message.contains(path) && error.message.contains(kind), "\(path): \(error.message)")
            // Through a symbolic link, the link's target is what counts.
            let linked = try #require(openError(try files.link(to: path)), "a link to \(path) opened")
            #expect(linked.code == .invalidArgument && linked.message.contains(kind), "\(linked)")
        }
    }

    @Test func anEmptyFileIsRefusedAndARegularFileOrALinkToOneOpens() throws {
        let files = SpecialFiles()
        let empty = try files.file(bytes: 0)
        let error = try #require(openError(empty), "an empty disk opened")
        #expect(error.code == .invalidArgument && error.message.contains("empty"), "\(error)")
        let image = try files.file(bytes: 8192)
        for path in [image, try files.link(to: image)] {
            let source = try FileDiskSource(path: path)
            #expect(source.sizeBytes == 8192)
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 8192, alignment: 4096)
            defer { buffer.deallocate() }
            #expect(try source.read(atOffset: 0, into: buffer) == 8192)
            #expect(buffer.allSatisfy { $0 == 0x5A })
        }
        #expect(openError(try files.link(to: empty + ".missing"))?.code == .notFound)
    }

    /// A refused disk records nothing: the backup never starts.
    @Test func noPointIsRecordedWhenADiskIsRefused() async throws {
        let files = SpecialFiles()
        let store = try await ChunkStore.create(on: MemoryBackend(), encryption: .none, options: testOptions())
        let chains = ChainStore(store: store, workerCount: 2)
        let good = try files.file(bytes: 4096)
        for bad in ["/dev/null", try files.fifo(), try files.directory()] {
            let attempt = await errorCode {
                try await chains.backup(
                    BackupRequest(
                        item: "vm",
                        disks: [
                            DiskInput(disk: 0, source: try FileDiskSource(path: good)),
                            DiskInput(disk: 1, source: try FileDiskSource(path: bad)),
                        ]))
            }
            #expect(attempt.code == .invalidArgument, "\(bad): \(String(describing: attempt.error))")
        }
        #expect(try await chains.items().isEmpty)
        try await store.close()
    }
}
