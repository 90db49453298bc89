/// CLIP's pre-tokenisation regex, written out by hand on Unicode properties (no regex engine, so no dependence
/// on ICU or Foundation versions):
///
///     <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
///
/// compiled by transformers with `regex.IGNORECASE` and applied with `findall`. At each position the first
/// alternative that matches wins (not the longest); positions no alternative matches (whitespace) are skipped.
/// IGNORECASE uses simple case folding, so `s` also matches `S` and `ſ` (U+017F); the text is lower-cased before
/// (`CLIPTextCleanup`), so in practice only `ſ` is left to matter. `\s` is the White_Space property, `\p{L}` the
/// L* general categories, `\p{N}` Nd/Nl/No (checked against Python's `regex` module for every code point in
/// the tests).
enum CLIPPreTokenizer {
    /// Calls `body` with each piece of `word` (a lower-cased word without Python whitespace, or any text).
    static func split(_ word: [Unicode.Scalar], _ body: (ArraySlice<Unicode.Scalar>) -> Void) {
        let n = word.count
        var i = 0
        while i < n {
            let s = word[i]
            if s == "<", let len = matchSpecialLiteral(word, at: i) {
                body(word[i..<(i + len)])
                i += len
                continue
            }
            if s == "'", let len = matchContraction(word, at: i) {
                body(word[i..<(i + len)])
                i += len
                continue
            }
            switch propertyClass(s) {
            case .letter:
                var j = i + 1
                while j < n, propertyClass(word[j]) == .letter { j += 1 }
                body(word[i..<j])
                i = j
            case .number:
                body(word[i..<(i + 1)])
                i += 1
            case .other:
                var j = i + 1
                while j < n, propertyClass(word[j]) == .other { j += 1 }
                body(word[i..<j])
                i = j
            case .whitespace:
                i += 1
            }
        }
    }

    enum PropertyClass: Equatable { case whitespace, letter, number, other }

    static func propertyClass(_ s: Unicode.Scalar) -> PropertyClass {
        let v = s.value
        if v < 0x80 {
            if (v >= 0x61 && v <= 0x7A) || (v >= 0x41 && v <= 0x5A) { return .letter }
            if v >= 0x30 && v <= 0x39 { return .number }
            if v == 0x20 || (v >= 0x09 && v <= 0x0D) { return .whitespace }
            return .other
        }
        let p = s.properties
        if p.isWhitespace { return .whitespace }
        switch p.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return .other
        }
    }

    /// The scalars that `regex.IGNORECASE` treats as equal to the ASCII letter `c` (simple case folding).
    @inline(__always)
    static func foldEquals(_ s: Unicode.Scalar, _ c: UInt8) -> Bool {
        let v = s.value
        let lower = UInt32(c)
        if v == lower || v == lower - 0x20 { return true }
        return c == UInt8(ascii: "s") && v == 0x17F
    }

    private static let startOfText: [UInt8] = Array("<|startoftext|>".utf8)
    private static let endOfText: [UInt8] = Array("<|endoftext|>".utf8)

    static func matchSpecialLiteral(_ word: [Unicode.Scalar], at i: Int) -> Int? {
        for literal in [startOfText, endOfText] where i + literal.count <= word.count {
            var ok = true
            for (k, c) in literal.enumerated() {
                let s = word[i + k]
                let isLetter = c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")
                if isLetter ? !foldEquals(s, c) : s.value != UInt32(c) {
                    ok = false
                    break
                }
            }
            if ok { return literal.count }
        }
        return nil
    }

    /// `'s|'t|'re|'ve|'m|'ll|'d`, in that order.
    static func matchContraction(_ word: [Unicode.Scalar], at i: Int) -> Int? {
        let n = word.count
        guard i + 1 < n else { return nil }
        let a = word[i + 1]
        if foldEquals(a, UInt8(ascii: "s")) || foldEquals(a, UInt8(ascii: "t")) { return 2 }
        if i + 2 < n {
            let b = word[i + 2]
            if foldEquals(a, UInt8(ascii: "r")) && foldEquals(b, UInt8(ascii: "e")) { return 3 }
            if foldEquals(a, UInt8(ascii: "v")) && foldEquals(b, UInt8(ascii: "e")) { return 3 }
        }
        if foldEquals(a, UInt8(ascii: "m")) { return 2 }
        if i + 2 < n, foldEquals(a, UInt8(ascii: "l")) && foldEquals(word[i + 2], UInt8(ascii: "l")) { return 3 }
        if foldEquals(a, UInt8(ascii: "d")) { return 2 }
        return nil
    }
}
