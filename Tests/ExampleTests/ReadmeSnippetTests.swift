import BlockSnap
import Foundation
import Testing

// The README's usage snippet, verbatim between the markers (checked by a test below).
// README-SNIPPET-BEGIN
func protect(diskPath: String, storePath: String, restorePath: String) async throws -> PointID {
    // A store on the embedded default backend: a local directory, encrypted.
    let backend = try LocalDirectoryBackend(root: storePath)
    let store = try await ChunkStore.create(on: backend, encryption: .passphrase("correct horse battery staple"))
    let chains = ChainStore(store: store)

    // A full backup, then (after the disk changes) an incremental that stores only changed blocks.
    let disk = DiskInput(disk: 0, name: "os", source: try FileDiskSource(path: diskPath))
    let first = try await chains.backup(BackupRequest(item: "vm1", disks: [disk]))
    let second = try await chains.backup(BackupRequest(item: "vm1", disks: [disk]))

    // What differs between the two points, as Get Page Ranges with prevsnapshot lists it.
    let page = try await chains.diff(item: "vm1", from: first.point.id, to: second.point.id)
    for range in page.ranges { print(range.kind, range.start, range.end) }  // end inclusive

    // Any point back, bit-exact (zero blocks become holes).
    _ = try await chains.restore(item: "vm1", point: first.point.id, disk: 0, to: restorePath)

    // Merge-on-expire: the older point leaves; the newer one restores exactly as before.
    try await chains.expire(item: "vm1", point: first.point.id)
    try await store.close()
    return second.point.id
}
// README-SNIPPET-END

@Suite struct ReadmeSnippetTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func snippet(in path: String) throws -> String {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        guard let begin = text.range(of: "// README-SNIPPET-BEGIN\n"),
            let end = text.range(of: "// README-SNIPPET-END", range: begin.upperBound..<text.endIndex)
        else {
            throw CocoaError(.fileReadCorruptFile)
        }
        return String(text[begin.upperBound..<end.lowerBound])
    }

    @Test func theReadmeSnippetIsTheCodeThisTestRuns() throws {
        let readme = try Self.snippet(in: Self.packageRoot.appendingPathComponent("README.md").path)
        let here = try Self.snippet(in: #filePath)
        #expect(readme == here, "README.md and ReadmeSnippetTests.swift disagree: copy the snippet over")
    }

    @Test func theReadmeSnippetRunsAndRestoresBitExact() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("blocksnap-readme-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var bytes = [UInt8](repeating: 0, count: 4 << 20)
        for i in stride(from: 0, to: bytes.count / 2, by: 7) { bytes[i] = UInt8(truncatingIfNeeded: i) }
        _ = FileManager.default.createFile(atPath: "\(dir)/disk.img", contents: Data(bytes))
        let latest = try await protect(
            diskPath: "\(dir)/disk.img", storePath: "\(dir)/store", restorePath: "\(dir)/restored.img")
        #expect(try Data(contentsOf: URL(fileURLWithPath: "\(dir)/restored.img")) == Data(bytes))
        let store = try await ChunkStore.open(
            on: try LocalDirectoryBackend(root: "\(dir)/store", create: false),
            passphrase: "correct horse battery staple")
        #expect(try await ChainStore(store: store).points(item: "vm1").map(\.id) == [latest])
        try await store.close()
    }
}
