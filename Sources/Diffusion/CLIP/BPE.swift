import Foundation

/// UTF-8 bytes as a dictionary key: compared byte for byte (Python `str` equality; never Swift's canonical
/// equivalence) and hashed in one call over the buffer, which is several times faster than `[UInt8]`'s
/// element-by-element hashing on the 49k-entry vocabulary and the per-word cache.
struct ByteString: Hashable, Sendable {
    var bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    static func == (a: ByteString, b: ByteString) -> Bool { a.bytes == b.bytes }
}

/// Byte-level BPE with a word-end marker, as CLIP's `bpe()` does it: a pre-token's UTF-8 bytes become one symbol
/// each (through `ByteEncoder`), the last one carrying `</w>`; then, repeatedly, the adjacent pair with the lowest
/// merge rank is merged everywhere in the word, left to right, until no adjacent pair has a rank.
///
/// Symbols are small integers here instead of Python strings: every string that a merge mentions or produces,
/// and the 512 starting symbols, gets an id; two symbols are the same exactly when their strings are (compared
/// by UTF-8 bytes, never by Swift's canonical equivalence).
// Unchecked: the tables are filled by init and only read afterwards (private(set) for the loader's own use).
final class BPE: @unchecked Sendable {
    static let endOfWord = "</w>"

    /// Symbol string (UTF-8 bytes) -> symbol id.
    private(set) var symbolIDs: [ByteString: Int32] = [:]
    /// Symbol id -> its string's UTF-8 bytes.
    private(set) var symbolStrings: [[UInt8]] = []
    /// (left << 32 | right) -> (rank << 32 | merged symbol).
    private var merges: [UInt64: UInt64] = [:]
    /// Byte -> symbol for that byte inside a word, and at its end (with `</w>`).
    private var byteSymbol = [Int32](repeating: 0, count: 256)
    private var byteEndSymbol = [Int32](repeating: 0, count: 256)

    var mergeCount: Int { merges.count }

    /// - Parameter merges: the merge pairs in rank order (rank = index; a pair listed twice keeps its last rank,
    ///   like Python's `dict(zip(merges, range(len(merges))))`).
    init(merges pairs: [([UInt8], [UInt8])]) {
        let end = Array(Self.endOfWord.utf8)
        for b in 0..<256 {
            let s = ByteEncoder.utf8(ofByte: UInt8(b))
            byteSymbol[b] = symbol(s)
            byteEndSymbol[b] = symbol(s + end)
        }
        merges.reserveCapacity(pairs.count)
        for (rank, (a, b)) in pairs.enumerated() {
            let left = symbol(a)
            let right = symbol(b)
            let merged = symbol(a + b)
            merges[UInt64(UInt32(left)) << 32 | UInt64(UInt32(right))] = UInt64(rank) << 32 | UInt64(UInt32(merged))
        }
    }

    private func symbol(_ bytes: [UInt8]) -> Int32 {
        if let id = symbolIDs[ByteString(bytes)] { return id }
        let id = Int32(symbolStrings.count)
        symbolIDs[ByteString(bytes)] = id
        symbolStrings.append(bytes)
        return id
    }

    /// The symbols BPE turns `bytes` (a pre-token's UTF-8 bytes, not empty) into.
    func apply<C: Collection>(_ bytes: C) -> [Int32] where C.Element == UInt8 {
        var word: [Int32] = []
        word.reserveCapacity(bytes.count)
        var it = bytes.makeIterator()
        var pending = it.next()!
        while let b = it.next() {
            word.append(byteSymbol[Int(pending)])
            pending = b
        }
        word.append(byteEndSymbol[Int(pending)])
        if word.count < 2 { return word }

        var scratch: [Int32] = []
        scratch.reserveCapacity(word.count)
        while word.count > 1 {
            // The pair with the lowest rank (ranks are unique, so there are no ties to break).
            var bestRank = UInt64.max
            var bestLeft: Int32 = 0
            var bestRight: Int32 = 0
            var bestMerged: Int32 = 0
            for k in 0..<(word.count - 1) {
                if let m = merges[UInt64(UInt32(word[k])) << 32 | UInt64(UInt32(word[k + 1]))] {
                    let rank = m >> 32
                    if rank < bestRank {
                        bestRank = rank
                        bestLeft = word[k]
                        bestRight = word[k + 1]
                        bestMerged = Int32(truncatingIfNeeded: m & 0xFFFF_FFFF)
                    }
                }
            }
            if bestRank == UInt64.max { break }
            scratch.removeAll(keepingCapacity: true)
            var k = 0
            while k < word.count {
                if k + 1 < word.count && word[k] == bestLeft && word[k + 1] == bestRight {
                    scratch.append(bestMerged)
                    k += 2
                } else {
                    scratch.append(word[k])
                    k += 1
                }
            }
            swap(&word, &scratch)
        }
        return word
    }
}

/// Reads `merges.txt` as transformers' `CLIPTokenizer` does: `read().strip().split("\n")[1 : 49152-256-2+1]`
/// (the first line is skipped whatever it holds, at most 48,894 merges are used), each line split on whitespace;
/// lines that are not exactly two fields can never match a pair and are ignored. Files are read in Python's
/// universal-newline mode, so `\r\n` and `\r` end lines too.
enum BPEMergesFile {
    static let maxMerges = 49152 - 256 - 2

    static func parse(_ data: Data, file: String) throws -> [([UInt8], [UInt8])] {
        guard let text = String(data: data, encoding: .utf8) else {
            throw ModelLoadError(file: file, message: "is not valid UTF-8", hint: "merges.txt is a UTF-8 text file of BPE merges, one `left right` pair a line")
        }
        var scalars = Array(text.unicodeScalars)
        // universal newlines
        var normalized: [Unicode.Scalar] = []
        normalized.reserveCapacity(scalars.count)
        var i = 0
        while i < scalars.count {
            let s = scalars[i]
            if s == "\r" {
                normalized.append("\n")
                if i + 1 < scalars.count && scalars[i + 1] == "\n" { i += 1 }
            } else {
                normalized.append(s)
            }
            i += 1
        }
        scalars = normalized
        // strip()
        var lo = 0
        var hi = scalars.count
        while lo < hi && CLIPTextCleanup.isPythonSpace(scalars[lo].value) { lo += 1 }
        while hi > lo && CLIPTextCleanup.isPythonSpace(scalars[hi - 1].value) { hi -= 1 }

        var pairs: [([UInt8], [UInt8])] = []
        pairs.reserveCapacity(maxMerges)
        var lineIndex = 0
        var lineStart = lo
        var k = lo
        while k <= hi {
            if k == hi || scalars[k] == "\n" {
                if lineIndex >= 1 {
                    if lineIndex > maxMerges { break }
                    let fields = splitOnPythonSpace(scalars[lineStart..<k])
                    // Other lines become 1- or 3-tuples in Python, which no pair equals; only the order of
                    // ranks matters, so leaving them out changes nothing.
                    if fields.count == 2 { pairs.append((utf8(fields[0]), utf8(fields[1]))) }
                }
                lineIndex += 1
                lineStart = k + 1
            }
            k += 1
        }
        return pairs
    }

    private static func splitOnPythonSpace(_ line: ArraySlice<Unicode.Scalar>) -> [ArraySlice<Unicode.Scalar>] {
        var fields: [ArraySlice<Unicode.Scalar>] = []
        var start = line.startIndex
        var i = line.startIndex
        while i <= line.endIndex {
            if i == line.endIndex || CLIPTextCleanup.isPythonSpace(line[i].value) {
                if i > start { fields.append(line[start..<i]) }
                start = i + 1
            }
            i += 1
        }
        return fields
    }

    private static func utf8(_ s: ArraySlice<Unicode.Scalar>) -> [UInt8] {
        var out: [UInt8] = []
        for scalar in s { out.append(contentsOf: UTF8.encode(scalar)!) }
        return out
    }
}
