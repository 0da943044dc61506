import CZstd
import Synchronization

/// One zstd compression and one decompression context, reused across calls.
///
/// Contexts are not thread-safe; ``ZstdContextPool`` hands each to one task at a time.
package final class ZstdContext: @unchecked Sendable {
    private let cctx: OpaquePointer
    private let dctx: OpaquePointer
    private var level: Int32

    package init(level: Int32) {
        guard let c = ZSTD_createCCtx(), let d = ZSTD_createDCtx() else {
            fatalError("zstd could not allocate a context: out of memory")
        }
        cctx = c
        dctx = d
        self.level = level
        ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level)
    }

    private var scratchBuffer = UnsafeMutableRawBufferPointer(start: nil, count: 0)

    /// A reusable buffer of at least `minimumBytes`, owned by this context (grown, never shrunk).
    package func scratch(minimumBytes: Int) -> UnsafeMutableRawBufferPointer {
        if scratchBuffer.count < minimumBytes {
            scratchBuffer.deallocate()
            scratchBuffer = .allocate(byteCount: minimumBytes, alignment: 16)
        }
        return scratchBuffer
    }

    deinit {
        scratchBuffer.deallocate()
        ZSTD_freeCCtx(cctx)
        ZSTD_freeDCtx(dctx)
    }

    /// The worst-case compressed size of `count` bytes.
    package static func bound(_ count: Int) -> Int { ZSTD_compressBound(count) }

    /// Compresses `input` into `output`; returns the compressed size, or nil when the result
    /// would not fit in `output` (so the caller stores the block raw).
    package func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int? {
        let n = ZSTD_compress2(cctx, output.baseAddress, output.count, input.baseAddress, input.count)
        if ZSTD_isError(n) != 0 { return nil }
        return n
    }

    /// Decompresses a whole frame into `output`, which must be exactly the original size.
    /// - Throws: `compressionError` on a bad frame or a size mismatch.
    package func decompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws {
        let n = ZSTD_decompressDCtx(dctx, output.baseAddress, output.count, input.baseAddress, input.count)
        if ZSTD_isError(n) != 0 {
            throw BlockStoreError(
                .compressionError, "zstd could not decompress a chunk: \(String(cString: ZSTD_getErrorName(n)))")
        }
        guard n == output.count else {
            throw BlockStoreError(.corruptObject, "a chunk decompressed to \(n) bytes, its index says \(output.count)")
        }
    }
}

/// A small pool of ``ZstdContext``s so concurrent tasks each use their own, with no allocation
/// per block in steady state.
package final class ZstdContextPool: Sendable {
    private let free: Mutex<[ZstdContext]>
    private let level: Int32

    package init(level: Int32) {
        self.level = level
        self.free = Mutex([])
    }

    /// Runs `body` with a context no other task uses meanwhile.
    package func withContext<R>(_ body: (ZstdContext) throws -> R) rethrows -> R {
        let context = free.withLock { $0.popLast() } ?? ZstdContext(level: level)
        defer { free.withLock { $0.append(context) } }
        return try body(context)
    }
}
