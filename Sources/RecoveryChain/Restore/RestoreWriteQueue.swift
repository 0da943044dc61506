import Dispatch
import Synchronization

/// The one place a restore's blocking calls on its target happen (`pwrite`, hole punching,
/// the final `fsync`): a serial dispatch queue, off Swift's cooperative thread pool, so the
/// decode tasks keep every cooperative thread busy while the target absorbs the writes.
///
/// Memory is bounded by a fixed pool of staging buffers: a ``BlockRunWriter`` fills one,
/// hands it over with ``write(_:stretches:)`` and takes another with ``take()``, which suspends
/// (without holding a thread) while every buffer is queued or being filled. The queue returns a
/// buffer to the pool as soon as its stretches are written.
///
/// The first failed operation is kept: later operations are skipped, ``take()`` and
/// ``finish(sync:)`` throw it.
final class RestoreWriteQueue: @unchecked Sendable {
    /// One staging buffer of the pool.
    struct Buffer: @unchecked Sendable {
        /// The buffer's memory (part of the pool's one allocation).
        let bytes: UnsafeMutableRawBufferPointer
    }

    /// One `pwrite`: `count` bytes from `start` in a buffer, to `offset` in the target.
    struct Stretch: Sendable {
        /// Where the stretch starts in the buffer.
        var start: Int
        /// Its length in bytes.
        var count: Int
        /// Where it goes in the target.
        var offset: UInt64
    }

    private struct State {
        var free: [Buffer]
        var waiting: [CheckedContinuation<Buffer, any Error>] = []
        var failure: (any Error)?
    }

    private let target: RestoreTarget
    private let queue = DispatchQueue(label: "blocksnap.restore.writes")
    private let memory: UnsafeMutableRawBufferPointer
    private let scratch: UnsafeMutableRawBufferPointer
    private let state: Mutex<State>

    /// Makes a queue writing to `target` with `bufferCount` buffers of `bufferBytes` each.
    ///
    /// `bufferCount` must exceed the number of writers filling buffers at once, so that a
    /// writer waiting in ``take()`` always has a queued buffer to wait for.
    init(target: RestoreTarget, bufferCount: Int, bufferBytes: Int) {
        self.target = target
        let count = max(1, bufferCount)
        let memory = UnsafeMutableRawBufferPointer.allocate(
            byteCount: count * bufferBytes, alignment: ChainLimits.bufferAlignment)
        self.memory = memory
        scratch = UnsafeMutableRawBufferPointer.allocate(
            byteCount: min(bufferBytes, 1 << 20), alignment: ChainLimits.bufferAlignment)
        state = Mutex(
            State(
                free: (0..<count).map {
                    Buffer(
                        bytes: UnsafeMutableRawBufferPointer(
                            rebasing: memory[($0 * bufferBytes)..<(($0 + 1) * bufferBytes)]))
                }))
    }

    deinit {
        // Every queued operation holds the queue, so none is left when it goes.
        memory.deallocate()
        scratch.deallocate()
    }

    /// A free buffer; waits (suspended, holding no thread) until the queue returns one.
    /// - Throws: The queue's first failure.
    func take() async throws -> Buffer {
        try await withCheckedThrowingContinuation { continuation in
            let ready: Result<Buffer, any Error>? = state.withLock { s in
                if let failure = s.failure { return .failure(failure) }
                if let buffer = s.free.popLast() { return .success(buffer) }
                s.waiting.append(continuation)
                return nil
            }
            if let ready { continuation.resume(with: ready) }
        }
    }

    /// Gives back a buffer that holds nothing to write.
    func give(_ buffer: Buffer) {
        let waiter: CheckedContinuation<Buffer, any Error>? = state.withLock { s in
            if s.waiting.isEmpty {
                s.free.append(buffer)
                return nil
            }
            return s.waiting.removeFirst()
        }
        waiter?.resume(returning: buffer)
    }

    /// Queues the stretches of `buffer` for writing; the buffer returns to the pool once they
    /// are written.
    func write(_ buffer: Buffer, stretches: [Stretch]) {
        queue.async { [self] in
            if !failed {
                do {
                    for s in stretches {
                        try target.write(
                            UnsafeRawBufferPointer(rebasing: buffer.bytes[s.start..<(s.start + s.count)]), at: s.offset)
                    }
                } catch {
                    fail(error)
                }
            }
            give(buffer)
        }
    }

    /// Queues making `range` of the target read as zeros (a hole where the file system can).
    func zero(_ range: Range<UInt64>) {
        queue.async { [self] in
            guard !failed else { return }
            do {
                try target.zero(range, scratch: scratch)
            } catch {
                fail(error)
            }
        }
    }

    /// Waits until everything queued is done, then, with `sync`, flushes the target to stable
    /// storage (on the queue too).
    /// - Throws: The queue's first failure.
    func finish(sync: Bool) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            queue.async { [self] in
                if sync && !failed {
                    do { try target.sync() } catch { fail(error) }
                }
                let failure = state.withLock { $0.failure }
                if let failure {
                    continuation.resume(throwing: failure)
                } else {
                    continuation.resume()
                }
            }
        }
    }

    private var failed: Bool { state.withLock { $0.failure != nil } }

    /// Keeps the first failure and wakes every waiting writer with it.
    private func fail(_ error: any Error) {
        let waiters = state.withLock { s -> [CheckedContinuation<Buffer, any Error>] in
            if s.failure == nil { s.failure = error }
            defer { s.waiting.removeAll() }
            return s.waiting
        }
        for w in waiters { w.resume(throwing: error) }
    }
}
