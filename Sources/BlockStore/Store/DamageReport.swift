/// What an operation found damaged before it refused to go on (the ``BlockStoreError/underlying``
/// of a ``BlockStoreError/Code/damaged`` error).
///
/// Garbage collection, repair and point expiry delete only on complete knowledge: when a root,
/// an index object or a pack header cannot be read and authenticated, or a chunk that a root
/// reaches is in no pack, they stop and name the damage here, having deleted nothing.
public struct DamageReport: Error, Sendable, Equatable, CustomStringConvertible {
    /// Objects that could not be read, decoded or authenticated (roots, index objects, packs).
    public var damagedObjects: [ObjectKey] = []
    /// Chunks that a root reaches but that no readable pack holds.
    public var missingChunks: [ChunkID] = []
    /// Roots that are damaged themselves or reach damaged or missing chunks.
    public var damagedRoots: [String] = []

    /// Creates a report.
    public init(damagedObjects: [ObjectKey] = [], missingChunks: [ChunkID] = [], damagedRoots: [String] = []) {
        self.damagedObjects = damagedObjects
        self.missingChunks = missingChunks
        self.damagedRoots = damagedRoots
    }

    /// Whether nothing is damaged.
    public var isEmpty: Bool { damagedObjects.isEmpty && missingChunks.isEmpty && damagedRoots.isEmpty }

    /// A one-line summary naming up to five objects of each kind.
    public var description: String {
        var parts: [String] = []
        func list<T>(_ values: [T], _ noun: String, _ name: (T) -> String) {
            guard !values.isEmpty else { return }
            let shown = values.prefix(5).map(name).joined(separator: ", ")
            parts.append("\(values.count) \(noun) (\(shown)\(values.count > 5 ? ", …" : ""))")
        }
        list(damagedObjects, "damaged objects") { $0.rawValue }
        list(missingChunks, "missing chunks") { $0.shortHex }
        list(damagedRoots, "damaged roots") { $0 }
        return parts.isEmpty ? "no damage" : parts.joined(separator: "; ")
    }
}
