import BlockStore

/// Builds a map from a base map plus changes given in ascending block order, streaming.
///
/// Only one tree path is open at a time (one node per level), so memory stays bounded whatever
/// the disk size, and only nodes on changed paths are written: O(changed blocks × height).
/// A full build (no base) streams the same way. The result is canonical: the same content and
/// geometry give the same root ID whatever the base and the order of builds.
///
/// A partial last block whose length changes with a resize has new content: pass its new ID.
///
/// ```swift
/// var builder = try await BlockMapBuilder(base: parent, geometry: parent.geometry, reader: reader)
/// try await builder.set(blockIndex: 12, to: newChunk)
/// try await builder.set(blockIndex: 40, to: .zero)     // now reads zeros
/// let child = try await builder.finish()
/// ```
public struct BlockMapBuilder {
    fileprivate struct OpenNode {
        var first: UInt64
        var entries: [StoreNode.Entry]
        var baseID: ChunkID?
        var dirty: Bool
    }

    private let reader: BlockMapReader
    private let base: BlockMap?
    /// The geometry of the map being built.
    public let geometry: BlockMapGeometry
    private let height: Int
    private let baseHeight: Int
    private let spans: [UInt64]
    /// Open nodes by level; `path[height - 1]` is the root, always open.
    private var path: [OpenNode?]
    private var lastBlock: UInt64?
    private var failed = false
    private var finished = false
    /// How many nodes this builder has written so far.
    public private(set) var nodesWritten = 0

    /// Starts a build.
    /// - Parameters:
    ///   - base: The parent map, or nil for a map of an all-zero disk.
    ///   - geometry: The new map's geometry (block size and fan-outs must match the base's;
    ///     the disk size may differ).
    ///   - reader: Reads base nodes and writes new ones (through `reader.store`).
    /// - Throws: ``PageRangeDiffError`` `geometryMismatch`, or a node error reading the base.
    public init(base: BlockMap?, geometry: BlockMapGeometry, reader: BlockMapReader) async throws {
        if let base, !base.geometry.isCompatible(with: geometry) {
            throw PageRangeDiffError(
                .geometryMismatch,
                "cannot build \(geometry) from a base of \(base.geometry)")
        }
        self.reader = reader
        self.base = base
        self.geometry = geometry
        height = geometry.height
        baseHeight = base?.geometry.height ?? 0
        spans = (0..<max(geometry.height, baseHeight)).map { geometry.blocksPerNode(atLevel: $0) }
        path = Array(repeating: nil, count: height)
        var root = OpenNode(first: 0, entries: [], baseID: nil, dirty: true)
        if let base {
            let baseRoot = try await reader.load(base.rootID)
            try baseRoot.check(
                level: baseHeight - 1, isRoot: true, geometry: base.geometry,
                firstBlock: 0, id: base.rootID)
            if baseHeight == height {
                root = OpenNode(
                    first: 0, entries: baseRoot.entries, baseID: base.rootID,
                    dirty: false)
            } else if baseHeight < height {
                // Lift: the base root becomes the slot-0 descendant at its own level.
                root.entries = baseRoot.entries.isEmpty ? [] : [StoreNode.Entry(slot: 0, id: base.rootID)]
            } else {
                // Lower: the new root is the base's slot-0 descendant at the new root level.
                var entries = baseRoot.entries
                var level = baseHeight - 1
                while level > height - 1 {
                    guard let first = entries.first, first.slot == 0 else {
                        entries = []
                        break
                    }
                    let child = try await reader.load(first.id)
                    try child.check(
                        level: level - 1, isRoot: false, geometry: base.geometry,
                        firstBlock: 0, id: first.id)
                    entries = child.entries
                    level -= 1
                }
                root.entries = entries
            }
        }
        path[height - 1] = root
        if baseHeight > 0 && baseHeight < height && !root.entries.isEmpty {
            // Rewrite the lifted root as a non-root node.
            try await openPath(to: 0)
        }
    }

    /// Sets one block's chunk ID (`ChunkID.zero` for a block that now reads zeros).
    /// - Parameters:
    ///   - blockIndex: The block; strictly greater than the previous call's, below the new
    ///     block count.
    ///   - id: The block's chunk.
    /// - Throws: ``PageRangeDiffError`` `invalidArgument` for order or range, node errors.
    public mutating func set(blockIndex: UInt64, to id: ChunkID) async throws {
        try checkUsable()
        guard blockIndex < geometry.blockCount else {
            throw PageRangeDiffError(
                .invalidArgument,
                "block \(blockIndex) is past the end of a \(geometry.blockCount)-block disk")
        }
        if let lastBlock, blockIndex <= lastBlock {
            throw PageRangeDiffError(
                .invalidArgument,
                "changes must be strictly ascending by block index (\(blockIndex) after \(lastBlock))")
        }
        lastBlock = blockIndex
        do {
            try await openPath(to: blockIndex)
            path[0]!.set(slot: UInt32(blockIndex - path[0]!.first), to: id)
        } catch {
            failed = true
            throw error
        }
    }

    /// Writes the remaining open nodes and the root; returns the new map.
    /// - Throws: ``PageRangeDiffError`` node errors; the builder cannot be used afterwards.
    public mutating func finish() async throws -> BlockMap {
        try checkUsable()
        finished = true
        do {
            let count = geometry.blockCount
            if let base, count < base.blockCount, count > 0 {
                // Shrink: open the path to the new last block so its nodes are truncated.
                try await openPath(to: count - 1)
            }
            if height > 1 { try await close(downTo: height - 2) }
            var root = path[height - 1]!
            let removed = root.truncate(before: count, childSpan: height == 1 ? UInt64(1) : spans[height - 2])
            if !root.dirty && !removed, let base, base.geometry == geometry {
                return base
            }
            let node = StoreNode(
                header: MapNode.header(level: height - 1, root: geometry),
                entries: root.entries)
            let id = try await put(node)
            return BlockMap(rootID: id, geometry: geometry)
        } catch {
            failed = true
            throw error
        }
    }

    private func checkUsable() throws {
        guard !failed, !finished else {
            throw PageRangeDiffError(
                .invalidArgument,
                finished
                    ? "the builder has finished; start a new one"
                    : "the builder failed earlier and accepts no more changes")
        }
    }

    private mutating func put(_ node: StoreNode) async throws -> ChunkID {
        do {
            let id = try await reader.store.putNode(node)
            nodesWritten += 1
            return id
        } catch let error as PageRangeDiffError {
            throw error
        } catch {
            throw PageRangeDiffError(.storeError, "writing a map node failed", underlying: error)
        }
    }

    /// Makes sure the open path covers `block`, closing nodes that do not.
    private mutating func openPath(to block: UInt64) async throws {
        // Highest level whose open node does not cover the block (the root always does).
        var level = height - 2
        var lowestCovering = height - 1
        while level >= 0 {
            if let open = path[level], block >= open.first, block - open.first < spans[level] {
                lowestCovering = level
            } else {
                break
            }
            level -= 1
        }
        if lowestCovering == 0 { return }
        try await close(downTo: lowestCovering - 1)
        var parentLevel = lowestCovering
        while parentLevel > 0 {
            let level = parentLevel - 1
            let parent = path[parentLevel]!
            let slot = UInt32((block - parent.first) / spans[level])
            let first = parent.first + UInt64(slot) * spans[level]
            var open = OpenNode(first: first, entries: [], baseID: nil, dirty: false)
            if let entry = MapNodeSearch.entry(parent.entries, slot: slot), let base {
                if baseHeight < height && first == 0 && level >= baseHeight - 1 {
                    if level == baseHeight - 1 {
                        // The lifted base root: its entries, rewritten without the root header.
                        let node = try await reader.load(base.rootID)
                        open.entries = node.entries
                    } else {
                        open.entries = [StoreNode.Entry(slot: 0, id: entry.id)]
                    }
                    open.dirty = true
                } else {
                    let node = try await reader.load(entry.id)
                    try node.check(
                        level: level, isRoot: false, geometry: base.geometry,
                        firstBlock: first, id: entry.id)
                    open.entries = node.entries
                    open.baseID = entry.id
                }
            }
            path[level] = open
            parentLevel = level
        }
    }

    /// Closes open nodes at levels `0...top`, bottom-up, writing dirty ones into their parents.
    private mutating func close(downTo top: Int) async throws {
        guard top >= 0 else { return }
        let count = geometry.blockCount
        for level in 0...top {
            guard var open = path[level] else { continue }
            path[level] = nil
            let childSpan = level == 0 ? UInt64(1) : spans[level - 1]
            let removed = open.truncate(before: count, childSpan: childSpan)
            var id: ChunkID? = open.baseID
            if open.dirty || removed {
                if open.entries.isEmpty {
                    id = nil
                } else {
                    id = try await put(
                        StoreNode(
                            header: MapNode.header(level: level, root: nil),
                            entries: open.entries))
                }
            }
            let slot = UInt32((open.first - path[level + 1]!.first) / spans[level])
            path[level + 1]!.set(slot: slot, to: id ?? .zero)
        }
    }
}

extension BlockMapBuilder.OpenNode {
    /// Sets or removes (for zero) the entry at `slot`; marks the node dirty if it changed.
    mutating func set(slot: UInt32, to id: ChunkID) {
        let i = MapNodeSearch.firstIndex(entries, atOrAfter: slot)
        let present = i < entries.count && entries[i].slot == slot
        if id.isZero {
            if present {
                entries.remove(at: i)
                dirty = true
            }
        } else if present {
            if entries[i].id != id {
                entries[i].id = id
                dirty = true
            }
        } else {
            entries.insert(StoreNode.Entry(slot: slot, id: id), at: i)
            dirty = true
        }
    }

    /// Drops entries whose first block is at or past `blockCount`; returns whether any went.
    mutating func truncate(before blockCount: UInt64, childSpan: UInt64) -> Bool {
        let before = entries.count
        while let last = entries.last, first + UInt64(last.slot) * childSpan >= blockCount {
            entries.removeLast()
        }
        return entries.count != before
    }
}
