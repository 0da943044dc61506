/// A disk held in memory (tests, small images, data a host already has in RAM).
public struct MemoryDiskSource: DiskSource {
    /// The disk's bytes.
    public var bytes: [UInt8]

    /// Creates a disk from bytes; the count must be a multiple of 512.
    public init(bytes: [UInt8]) {
        precondition(bytes.count % 512 == 0, "a disk's size is a multiple of 512 bytes")
        self.bytes = bytes
    }

    /// The disk's size: the byte array's length.
    public var sizeBytes: UInt64 { UInt64(bytes.count) }

    /// Copies up to `buffer.count` bytes from `offsetBytes` (fewer only at the end of the disk).
    public func read(atOffset offsetBytes: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard offsetBytes < UInt64(bytes.count) else { return 0 }
        let n = min(buffer.count, bytes.count - Int(offsetBytes))
        bytes.withUnsafeBytes { raw in
            buffer.baseAddress!.copyMemory(from: raw.baseAddress! + Int(offsetBytes), byteCount: n)
        }
        return n
    }
}
