import BlockStore

/// Binary search in sorted node entries.
enum MapNodeSearch {
    /// The entry at `slot`, if present.
    static func entry(_ entries: [StoreNode.Entry], slot: UInt32) -> StoreNode.Entry? {
        let i = firstIndex(entries, atOrAfter: slot)
        return i < entries.count && entries[i].slot == slot ? entries[i] : nil
    }

    /// The index of the first entry whose slot is `>= slot`.
    static func firstIndex<C: RandomAccessCollection<StoreNode.Entry>>(
        _ entries: C,
        atOrAfter slot: UInt32
    ) -> Int where C.Index == Int {
        var lo = entries.startIndex
        var hi = entries.endIndex
        while lo < hi {
            let mid = (lo + hi) / 2
            if entries[mid].slot < slot { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }
}
