/// "Did you mean …?" suggestions for misspelt names (VOC classes, category names).
public enum NearestName {
    /// The candidate closest to `name` by edit distance (case-insensitive), when it is close enough to be a
    /// plausible typo: at most 2 edits, or a third of the longer name's length. Ties go to the earlier candidate.
    public static func suggestion(for name: String, among candidates: [String]) -> String? {
        let needle = Array(name.lowercased().unicodeScalars)
        var best: (name: String, distance: Int)?
        for candidate in candidates {
            let other = Array(candidate.lowercased().unicodeScalars)
            let d = editDistance(needle, other)
            if best == nil || d < best!.distance { best = (candidate, d) }
        }
        guard let best else { return nil }
        let limit = max(2, max(needle.count, best.name.unicodeScalars.count) / 3)
        return best.distance <= limit ? best.name : nil
    }

    /// Levenshtein distance (insertions, deletions, substitutions) between two strings, by Unicode scalars.
    public static func editDistance(_ a: String, _ b: String) -> Int {
        editDistance(Array(a.unicodeScalars), Array(b.unicodeScalars))
    }

    static func editDistance<T: Equatable>(_ a: [T], _ b: [T]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = min(substitution, previous[j] + 1, current[j - 1] + 1)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
