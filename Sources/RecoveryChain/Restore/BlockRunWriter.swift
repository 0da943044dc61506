/// Gathers decoded blocks of a restore into one staging buffer and writes each stretch of
/// neighbouring blocks with a single `pwrite`, so the target sees large sequential writes even
/// though chunks arrive in pack order (roughly, not exactly, block order).
///
/// The stage covers `capacity` consecutive blocks from `firstBlock`; a block outside it flushes
/// the stage and starts a new one a little before that block. One writer belongs to one worker
/// task; its buffer is allocated once and reused for every run the worker restores.
final class BlockRunWriter {
    private let target: RestoreTarget
    private let sizeBytes: UInt64
    private let blockSizeBytes: Int
    private let capacity: Int
    private let stage: UnsafeMutableRawBufferPointer
    private var filled: [Bool]
    private var firstBlock: UInt64 = 0
    private var filledCount = 0

    /// Blocks before the first one of a new stage that it also covers (at most a quarter of it), so a block that arrives
    /// just after its successor (neighbouring chunks packed out of order) still joins the stage.
    private static let lookBehindBlocks: UInt64 = 4

    init(target: RestoreTarget, sizeBytes: UInt64, blockSizeBytes: Int, capacity: Int) {
        self.target = target
        self.sizeBytes = sizeBytes
        self.blockSizeBytes = blockSizeBytes
        self.capacity = max(1, capacity)
        self.stage = UnsafeMutableRawBufferPointer.allocate(
            byteCount: self.capacity * blockSizeBytes, alignment: ChainLimits.bufferAlignment)
        self.filled = [Bool](repeating: false, count: self.capacity)
    }

    deinit { stage.deallocate() }

    /// The bytes of `block` on the disk (the last block may be cut short by the disk's end).
    func length(of block: UInt64) -> Int {
        Int(min(UInt64(blockSizeBytes), sizeBytes - block * UInt64(blockSizeBytes)))
    }

    /// The block-sized buffer `block` decodes into; flushes first when the block lies outside the
    /// current stage.
    func slot(for block: UInt64) throws -> UnsafeMutableRawBufferPointer {
        if filledCount > 0 && (block < firstBlock || block >= firstBlock + UInt64(capacity)) {
            try flush()
        }
        if filledCount == 0 {
            firstBlock = block - min(block, Self.lookBehindBlocks, UInt64((capacity - 1) / 4))
        }
        let i = Int(block - firstBlock)
        return UnsafeMutableRawBufferPointer(rebasing: stage[(i * blockSizeBytes)..<((i + 1) * blockSizeBytes)])
    }

    /// Marks `block`, decoded into its slot, as ready to write.
    func commit(_ block: UInt64) {
        let i = Int(block - firstBlock)
        if !filled[i] {
            filled[i] = true
            filledCount += 1
        }
    }

    /// Writes every stretch of filled slots with one `pwrite` each and empties the stage.
    func flush() throws {
        guard filledCount > 0 else { return }
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
            try target.write(
                UnsafeRawBufferPointer(rebasing: stage[(i * blockSizeBytes)..<(i * blockSizeBytes + byteCount)]),
                at: (firstBlock + UInt64(i)) * UInt64(blockSizeBytes))
            i = j
        }
        filledCount = 0
    }
}
