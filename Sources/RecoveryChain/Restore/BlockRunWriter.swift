/// Gathers decoded blocks of a restore into a staging buffer and hands each full stage to the
/// ``RestoreWriteQueue``, which writes every stretch of neighbouring blocks with a single
/// `pwrite`, so the target sees large sequential writes even though chunks arrive in pack
/// order (roughly, not exactly, block order).
///
/// The stage covers `capacity` consecutive blocks from `firstBlock`; a block outside it sends
/// the stage to the queue and starts a new one (a buffer from the queue's pool) a little before
/// that block. One writer belongs to one worker task; it never calls the target itself, so a
/// slow target suspends the worker in ``slot(for:)`` instead of blocking its thread.
final class BlockRunWriter {
    private let queue: RestoreWriteQueue
    private let sizeBytes: UInt64
    private let blockSizeBytes: Int
    private let capacity: Int
    private var stage: RestoreWriteQueue.Buffer?
    private var filled: [Bool]
    private var firstBlock: UInt64 = 0
    private var filledCount = 0

    /// Blocks before the first one of a new stage that it also covers (at most a quarter of it), so a block that arrives
    /// just after its successor (neighbouring chunks packed out of order) still joins the stage.
    private static let lookBehindBlocks: UInt64 = 4

    /// Makes a writer whose stages hold `capacity` blocks (the queue's buffers must hold them).
    init(queue: RestoreWriteQueue, sizeBytes: UInt64, blockSizeBytes: Int, capacity: Int) {
        self.queue = queue
        self.sizeBytes = sizeBytes
        self.blockSizeBytes = blockSizeBytes
        self.capacity = max(1, capacity)
        self.filled = [Bool](repeating: false, count: self.capacity)
    }

    deinit {
        // A writer abandoned by a failed restore returns its buffer, so no other writer waits
        // for it.
        if let stage { queue.give(stage) }
    }

    /// The bytes of `block` on the disk (the last block may be cut short by the disk's end).
    func length(of block: UInt64) -> Int {
        Int(min(UInt64(blockSizeBytes), sizeBytes - block * UInt64(blockSizeBytes)))
    }

    /// The block-sized buffer `block` decodes into; sends the stage to the queue first when the
    /// block lies outside it, and waits for a free buffer when it needs one.
    func slot(for block: UInt64) async throws -> UnsafeMutableRawBufferPointer {
        if filledCount > 0 && (block < firstBlock || block >= firstBlock + UInt64(capacity)) {
            flush()
        }
        if filledCount == 0 {
            firstBlock = block - min(block, Self.lookBehindBlocks, UInt64((capacity - 1) / 4))
        }
        let buffer: RestoreWriteQueue.Buffer
        if let stage {
            buffer = stage
        } else {
            buffer = try await queue.take()
            stage = buffer
        }
        let i = Int(block - firstBlock)
        return UnsafeMutableRawBufferPointer(
            rebasing: buffer.bytes[(i * blockSizeBytes)..<((i + 1) * blockSizeBytes)])
    }

    /// Marks `block`, decoded into its slot, as ready to write.
    func commit(_ block: UInt64) {
        let i = Int(block - firstBlock)
        if !filled[i] {
            filled[i] = true
            filledCount += 1
        }
    }

    /// Sends every stretch of filled slots to the queue (one `pwrite` each) with the stage's
    /// buffer, and empties the stage.
    func flush() {
        guard let buffer = stage else { return }
        stage = nil
        guard filledCount > 0 else {
            queue.give(buffer)
            return
        }
        var stretches: [RestoreWriteQueue.Stretch] = []
        var i = 0
        while i < capacity {
            guard filled[i] else {
                i += 1
                continue
            }
            var j = i
            var byteCount = 0
            while j < capacity && filled[j] {
                byteCount += length(of: firstBlock + UInt64(j))
                filled[j] = false
                j += 1
            }
            stretches.append(
                .init(
                    start: i * blockSizeBytes, count: byteCount,
                    offset: (firstBlock + UInt64(i)) * UInt64(blockSizeBytes)))
            i = j
        }
        filledCount = 0
        queue.write(buffer, stretches: stretches)
    }
}
