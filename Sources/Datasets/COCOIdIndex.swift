/// Id -> position lookup for the ids of one list (images, categories). COCO's ids are dense enough
/// (train2017: 118k image ids below 600k) for a flat table, which is several times faster than hashing for
/// the 860k lookups of a load; sparse ids fall back to a hash table.
package struct COCOIdIndex {
    private var base = 0
    /// position + 1 at `id - base`; 0 where no record has the id.
    private var table: [Int32] = []
    private var hash: [Int: Int32]?

    /// The first repeated id, if any: its id and the positions of its first and second occurrence.
    package private(set) var duplicate: (id: Int, first: Int, second: Int)?

    package init<C: Collection>(_ ids: C) where C.Element == Int {
        guard let lo = ids.min(), let hi = ids.max() else { return }
        let (span, overflow) = hi.subtractingReportingOverflow(lo)
        if !overflow && span < max(1 << 16, 8 * ids.count) {
            base = lo
            table = [Int32](repeating: 0, count: span + 1)
            for (i, id) in ids.enumerated() {
                let slot = id - lo
                if table[slot] != 0 {
                    if duplicate == nil { duplicate = (id, Int(table[slot]) - 1, i) }
                    continue
                }
                table[slot] = Int32(truncatingIfNeeded: i + 1)
            }
        } else {
            var h = [Int: Int32](minimumCapacity: ids.count)
            for (i, id) in ids.enumerated() {
                if let first = h[id] {
                    if duplicate == nil { duplicate = (id, Int(first), i) }
                    continue
                }
                h[id] = Int32(truncatingIfNeeded: i)
            }
            hash = h
        }
    }

    /// The position of the first record with this id.
    @inline(__always) package func position(of id: Int) -> Int? {
        if let hash { return hash[id].map(Int.init) }
        let slot = id &- base
        guard slot >= 0 && slot < table.count else { return nil }
        let v = table[slot]
        return v == 0 ? nil : Int(v) - 1
    }
}
