/// The in-memory map from chunk ID to location, built from index objects as they appear.
package struct ChunkIndex: Sendable {
    package private(set) var locations: [ChunkID: ChunkLocation] = [:]
    package private(set) var packIDs: [ChunkID] = []
    private var packNumbers: [ChunkID: UInt32] = [:]
    /// Index objects already merged in.
    package var loadedIndexObjects: Set<ObjectKey> = []

    package init() {}

    package var chunkCount: Int { locations.count }
    package var packCount: Int { packIDs.count }

    package func location(of id: ChunkID) -> ChunkLocation? { locations[id] }
    package func contains(_ id: ChunkID) -> Bool { locations[id] != nil }
    /// The pack with this number, or nil when the number is not (or no longer) known.
    package func packID(number: UInt32) -> ChunkID? {
        Int(number) < packIDs.count ? packIDs[Int(number)] : nil
    }
    package func packNumber(of packID: ChunkID) -> UInt32? { packNumbers[packID] }

    /// Adds a pack's entries. A chunk already known keeps its first location (both are valid).
    package mutating func add(packID: ChunkID, entries: [PackEntry]) {
        let number: UInt32
        if let existing = packNumbers[packID] {
            number = existing
        } else {
            number = UInt32(packIDs.count)
            packIDs.append(packID)
            packNumbers[packID] = number
        }
        locations.reserveCapacity(locations.count + entries.count)
        for e in entries where locations[e.id] == nil {
            locations[e.id] = ChunkLocation(
                packNumber: number, offset: e.offset, length: e.length, rawLength: e.rawLength, kind: e.kind)
        }
    }

    /// Forgets every location inside the given packs (after GC deleted them).
    package mutating func removePacks(_ removed: Set<ChunkID>) {
        guard !removed.isEmpty else { return }
        let numbers = Set(removed.compactMap { packNumbers[$0] })
        locations = locations.filter { !numbers.contains($0.value.packNumber) }
    }
}
