import Foundation
import RecoveryChain
import Testing

@Suite struct DiskSourceTests {
    func temporaryPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("blocksnap-\(UUID().uuidString)-\(name)").path
    }

    @Test func fileSourceReadsAndReportsHolesOfSparseFiles() throws {
        let path = temporaryPath("sparse.img")
        defer { try? FileManager.default.removeItem(atPath: path) }
        // 8 MiB sparse file with data at 1 MiB and 6 MiB.
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: 8 << 20)
        try handle.seek(toOffset: 1 << 20)
        try handle.write(contentsOf: Data(repeating: 0xAB, count: 65536))
        try handle.seek(toOffset: 6 << 20)
        try handle.write(contentsOf: Data(repeating: 0xCD, count: 4096))
        try handle.close()

        let source = try FileDiskSource(path: path)
        #expect(source.sizeBytes == 8 << 20)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 4096)
        defer { buffer.deallocate() }
        #expect(try source.read(atOffset: 1 << 20, into: buffer) == 4096)
        #expect(buffer.allSatisfy { $0 == 0xAB })
        #expect(try source.read(atOffset: (8 << 20) - 1024, into: buffer) == 1024, "short read only at the end")
        if let ranges = try source.allocatedRanges() {
            // File systems allocate in their own granularity; the data must be covered and
            // most of the file must be holes.
            #expect(ranges.contains { $0.contains(1 << 20) })
            #expect(ranges.contains { $0.contains(6 << 20) })
            #expect(ranges.reduce(0) { $0 + $1.count } < 4 << 20)
        }
    }

    @Test func unalignedAndMissingFilesAreTypedErrors() throws {
        let path = temporaryPath("odd.img")
        defer { try? FileManager.default.removeItem(atPath: path) }
        _ = FileManager.default.createFile(atPath: path, contents: Data(repeating: 1, count: 1000))
        do {
            _ = try FileDiskSource(path: path)
            Issue.record("a 1000-byte disk must be refused")
        } catch let error as RecoveryChainError {
            #expect(error.code == .invalidArgument)
            #expect(error.message.contains("512"))
        }
        do {
            _ = try FileDiskSource(path: path + ".missing")
            Issue.record("a missing disk must be refused")
        } catch let error as RecoveryChainError {
            #expect(error.code == .notFound)
        }
    }

    @Test func memorySourceReadsLikeAFile() throws {
        let bytes = (0..<2048).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let source = MemoryDiskSource(bytes: bytes)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1024, alignment: 16)
        defer { buffer.deallocate() }
        #expect(try source.read(atOffset: 1536, into: buffer) == 512)
        #expect(Array(buffer.prefix(512)) == Array(bytes[1536...]))
        #expect(try source.read(atOffset: 4096, into: buffer) == 0)
    }
}
