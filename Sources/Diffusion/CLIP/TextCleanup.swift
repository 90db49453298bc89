import Foundation

/// The text clean-up transformers' slow `CLIPTokenizer` does when ftfy is NOT installed (diffusers does not install
/// it): `BasicTokenizer(strip_accents=False, do_split_on_punc=False).tokenize(text)`, joined by spaces; the result
/// then goes through the CLIP pre-tokenisation regex (`CLIPPreTokenizer`). Step by step, as Python does it:
///
/// 1. `_clean_text`: drop U+0000, U+FFFD and every scalar whose general category is C* (Cc, Cf, Cs, Co, Cn —
///    so also zero-width space/joiners, BOM, soft hyphen, bidi marks, private use and unassigned scalars), except
///    `\t \n \r`; `\t \n \r`, space and every Zs scalar (NBSP, U+3000, …) become a space.
/// 2. `_tokenize_chinese_chars`: a space on each side of every CJK ideograph (the BERT ranges; not kana/hangul).
/// 3. NFC (`unicodedata.normalize("NFC", …)`).
/// 4. `whitespace_tokenize`: `str.split()` on Python whitespace (after step 1 only space, U+2028, U+2029 remain).
/// 5. each word `.lower()`: Python's full lower-case mapping (İ -> i̇, ẞ -> ß) with the Final_Sigma rule
///    (Σ -> ς at the end of a word). No accent stripping, no punctuation splitting.
///
/// Why this and not ftfy: with ftfy installed, transformers instead runs `ftfy.fix_text`, `\s+` -> " ", strip,
/// `.lower()`. Plain ASCII prompts come out the same, but of the 534 test strings 74 tokenise differently
/// (transformers 4.57.6 + ftfy 6.3.1): ftfy repairs mojibake ("cafÃ©" -> "café") and HTML entities (`&amp;`),
/// uncurls quotes (’ -> '), folds fullwidth forms and Latin ligatures (ｆｕｌｌ -> full, ﬁ -> fi, ǅ -> dž),
/// removes terminal escapes (`\x1b[31m`), turns NEL into "…" and C1 controls into cp1252 characters, and keeps
/// what BasicTokenizer deletes (zero-width space/joiners, bidi marks, soft hyphen, private-use, unassigned and
/// Unicode-15+ scalars); it does not put spaces around CJK ideographs. diffusers does not install ftfy, so the
/// BasicTokenizer path is what a diffusers pipeline sees by default.
///
/// transformers 5 has no Python CLIPTokenizer any more: its `CLIPTokenizer` is the `tokenizers` (Rust) one (5.23.0 checked), with
/// NFC, `\s+` -> " " and a per-character lower-case (no Final_Sigma, no case-insensitive `'s`), keeping control
/// characters and not splitting CJK. It differs from this on 91 of the 534 test strings (none of them plain
/// ASCII captions; the ASCII ones that differ hold control characters, or `<|EndOfText|>`).
///
/// Unicode data: Python's `unicodedata` of the reference environment is Unicode 14.0 (Python 3.11). Scalars
/// assigned in a later version are "Cn" (unassigned) to it, so transformers deletes them (e.g. the Unicode 15
/// emoji 🫨). `unicodeVersion` reproduces that by treating scalars newer than it as unassigned; categories,
/// case mappings and NFC otherwise come from Swift's own tables (Unicode 17 in Swift 6.3), which agree with
/// Python's for every scalar both know (checked code point by code point in the tests).
struct CLIPTextCleanup: Sendable {
    /// Scalars first assigned after this Unicode version count as unassigned, like Python's `unicodedata` of
    /// that version sees them.
    var unicodeVersion: (major: Int, minor: Int)

    init(unicodeVersion: (major: Int, minor: Int) = (14, 0)) {
        self.unicodeVersion = unicodeVersion
    }

    /// What `_clean_text` does with one scalar.
    enum CleanAction: Equatable { case remove, space, keep }

    func isAssigned(_ s: Unicode.Scalar) -> Bool {
        guard let age = s.properties.age else { return false }
        return age.major < unicodeVersion.major || (age.major == unicodeVersion.major && age.minor <= unicodeVersion.minor)
    }

    /// Python's `unicodedata.category(c)` as far as the tokenizer needs it, with the version cut-off.
    func generalCategory(_ s: Unicode.Scalar) -> Unicode.GeneralCategory {
        isAssigned(s) ? s.properties.generalCategory : .unassigned
    }

    func cleanAction(_ s: Unicode.Scalar) -> CleanAction {
        let v = s.value
        if v < 0x80 {
            if v == 0x20 || v == 0x09 || v == 0x0A || v == 0x0D { return .space }
            if v < 0x20 || v == 0x7F { return .remove }
            return .keep
        }
        if v == 0xFFFD { return .remove }
        switch generalCategory(s) {
        case .control, .format, .surrogate, .privateUse, .unassigned: return .remove
        case .spaceSeparator: return .space
        default: return .keep
        }
    }

    /// BERT's "Chinese character" ranges (`BasicTokenizer._is_chinese_char`).
    static func isCJK(_ v: UInt32) -> Bool {
        (v >= 0x4E00 && v <= 0x9FFF) || (v >= 0x3400 && v <= 0x4DBF) || (v >= 0x20000 && v <= 0x2A6DF)
            || (v >= 0x2A700 && v <= 0x2B73F) || (v >= 0x2B740 && v <= 0x2B81F) || (v >= 0x2B820 && v <= 0x2CEAF)
            || (v >= 0xF900 && v <= 0xFAFF) || (v >= 0x2F800 && v <= 0x2FA1F)
    }

    /// Python's `str.isspace()` (bidi class WS, B or S, or category Zs): what `str.split()` and `str.strip()` use.
    static func isPythonSpace(_ v: UInt32) -> Bool {
        switch v {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// Steps 1–5 above on `text`: the lower-cased words, in order.
    func words<S: Sequence>(_ text: S) -> [[Unicode.Scalar]] where S.Element == Unicode.Scalar {
        var cleaned: [Unicode.Scalar] = []
        cleaned.reserveCapacity(text.underestimatedCount + 8)
        var needsNFC = false
        let space = Unicode.Scalar(0x20)!
        for s in text {
            switch cleanAction(s) {
            case .remove:
                continue
            case .space:
                cleaned.append(space)
            case .keep:
                if Self.isCJK(s.value) {
                    cleaned.append(space)
                    cleaned.append(s)
                    cleaned.append(space)
                } else {
                    cleaned.append(s)
                }
                // Every scalar below U+0300 is NFC-stable and composes with nothing before it.
                if s.value >= 0x300 { needsNFC = true }
            }
        }
        if needsNFC {
            var view = String.UnicodeScalarView()
            view.append(contentsOf: cleaned)
            cleaned = Array(String(view).precomposedStringWithCanonicalMapping.unicodeScalars)
        }
        var words: [[Unicode.Scalar]] = []
        var start = 0
        var i = 0
        while i <= cleaned.count {
            if i == cleaned.count || Self.isPythonSpace(cleaned[i].value) {
                if i > start { words.append(Self.pythonLower(cleaned[start..<i])) }
                start = i + 1
            }
            i += 1
        }
        return words
    }

    /// Python's `str.lower()`: full lower-case mapping, U+03A3 by the Final_Sigma context.
    static func pythonLower(_ word: ArraySlice<Unicode.Scalar>) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(word.count)
        var allASCII = true
        for s in word where s.value >= 0x80 {
            allASCII = false
            break
        }
        if allASCII {
            for s in word {
                let v = s.value
                out.append(v >= 0x41 && v <= 0x5A ? Unicode.Scalar(v + 0x20)! : s)
            }
            return out
        }
        let base = word.startIndex
        for (offset, s) in word.enumerated() {
            if s.value == 0x3A3 {
                out.append(Unicode.Scalar(isFinalSigma(word, at: base + offset) ? 0x3C2 : 0x3C3)!)
            } else if s.properties.changesWhenLowercased {
                out.append(contentsOf: s.properties.lowercaseMapping.unicodeScalars)
            } else {
                out.append(s)
            }
        }
        return out
    }

    /// CPython's `handle_capital_sigma`: `\p{cased}\p{case-ignorable}* Σ !(\p{case-ignorable}*\p{cased})`.
    static func isFinalSigma(_ word: ArraySlice<Unicode.Scalar>, at i: Int) -> Bool {
        var j = i - 1
        var c: Unicode.Scalar? = nil
        while j >= word.startIndex {
            c = word[j]
            if !word[j].properties.isCaseIgnorable { break }
            j -= 1
        }
        var finalSigma = j >= word.startIndex && (c?.properties.isCased ?? false)
        if finalSigma && i + 1 < word.endIndex {
            j = i + 1
            while j < word.endIndex {
                c = word[j]
                if !word[j].properties.isCaseIgnorable { break }
                j += 1
            }
            finalSigma = j == word.endIndex || !(c?.properties.isCased ?? false)
        }
        return finalSigma
    }
}
