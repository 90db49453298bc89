import Foundation
import XCTest
@testable import Diffusion

/// Hand-made vocabularies and folders: BPE merge order, file parsing, errors, truncation, options.
final class CLIPTokenizerUnitTests: XCTestCase {
    // MARK: helpers

    private func tempFolder() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clip-unit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    /// A folder with the given merges (after a `#version` line) and a vocabulary of every single ASCII letter
    /// (with and without `</w>`), the merge results, and the two special tokens.
    private func tinyFolder(merges: [String], extraVocab: [String] = [], header: String? = "#version: 0.2", lineEnding: String = "\n") throws -> URL {
        let dir = try tempFolder()
        var vocab: [String] = []
        for c in "abcdefghijklmnopqrstuvwxyz!'.," { vocab.append(String(c)) }
        for c in "abcdefghijklmnopqrstuvwxyz!'.," { vocab.append(String(c) + "</w>") }
        for m in merges { vocab.append(m.replacingOccurrences(of: " ", with: "")) }
        vocab += extraVocab
        vocab += ["<|startoftext|>", "<|endoftext|>"]
        var object: [String: Int] = [:]
        for v in vocab where object[v] == nil { object[v] = object.count }
        let json = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        try json.write(to: dir.appendingPathComponent("vocab.json"))
        let lines = (header.map { [$0] } ?? []) + merges
        try (lines.joined(separator: lineEnding) + lineEnding).write(to: dir.appendingPathComponent("merges.txt"), atomically: true, encoding: .utf8)
        return dir
    }

    private func bpeStrings(_ merges: [String], _ word: String) -> [String] {
        let pairs = merges.map { m -> ([UInt8], [UInt8]) in
            let f = m.split(separator: " ")
            return (Array(f[0].utf8), Array(f[1].utf8))
        }
        let bpe = BPE(merges: pairs)
        return bpe.apply(Array(word.utf8)).map { String(decoding: bpe.symbolStrings[Int($0)], as: UTF8.self) }
    }

    // MARK: BPE

    func testLowestRankMergesFirstNotLeftmost() {
        let merges = ["b c", "a b", "bc d</w>", "a bc"]
        // (b,c) has rank 0 and goes first although (a,b) is further left; then (bc,d</w>) rank 2 beats (a,bc) rank 3
        XCTAssertEqual(bpeStrings(merges, "abcd"), ["a", "bcd</w>"])
        XCTAssertEqual(bpeStrings(["a b", "b c"], "abcd"), ["ab", "c", "d</w>"])
    }

    func testMergesEveryOccurrenceLeftToRightWithoutOverlap() {
        XCTAssertEqual(bpeStrings(["a a"], "aaa"), ["aa", "a</w>"])
        XCTAssertEqual(bpeStrings(["a a"], "aaaa"), ["aa", "a", "a</w>"])
        XCTAssertEqual(bpeStrings(["a a", "aa aa"], "aaaaa"), ["aaaa", "a</w>"])
        XCTAssertEqual(bpeStrings(["a a", "a a</w>"], "aaa"), ["aa", "a</w>"])
    }

    func testWordEndMarkerAndSingleCharacters() {
        XCTAssertEqual(bpeStrings(["l o", "lo w</w>", "e r</w>"], "low"), ["low</w>"])
        XCTAssertEqual(bpeStrings(["l o", "lo w</w>", "e r</w>"], "lower"), ["lo", "w", "er</w>"])
        XCTAssertEqual(bpeStrings([], "x"), ["x</w>"])
        // a multi-byte scalar is one symbol per byte, in byte-encoder characters
        XCTAssertEqual(bpeStrings([], "é"), ["Ã", "©</w>"])
    }

    func testDuplicateMergeKeepsItsLastRank() {
        // Python: dict(zip(merges, range(n))) -> ("b","c") ends with rank 2, after ("a","b") at rank 1
        XCTAssertEqual(bpeStrings(["b c", "a b", "b c"], "abcd"), ["ab", "c", "d</w>"])
    }

    func testTokenizerOnTinyVocabulary() throws {
        let dir = try tinyFolder(merges: ["l o", "lo w</w>", "e r</w>", "' s</w>"])
        let tok = try CLIPTokenizer(folder: dir)
        XCTAssertEqual(tok.tokenStrings("Low LOWER it's"), ["low</w>", "lo", "w", "er</w>", "i", "t</w>", "'s</w>"])
        XCTAssertEqual(tok.decode(tok.encode("Low LOWER it's")), "low lower it 's")
        // characters outside the vocabulary become unk (<|endoftext|> for CLIP)
        XCTAssertEqual(tok.tokenStrings("7"), ["<|endoftext|>"])
        XCTAssertEqual(tok.encode("7", addSpecialTokens: false), [tok.unkTokenID])
    }

    func testMergesFileIsReadLikePython() throws {
        // the first line is skipped whatever it is: here it is a real merge
        let noHeader = try CLIPTokenizer(folder: try tinyFolder(merges: ["l o", "lo w</w>"], header: nil))
        XCTAssertEqual(noHeader.tokenStrings("low"), ["l", "o", "w</w>"])
        // CRLF line ends, as Python's universal newlines reads them
        let crlf = try CLIPTokenizer(folder: try tinyFolder(merges: ["l o", "lo w</w>"], lineEnding: "\r\n"))
        XCTAssertEqual(crlf.tokenStrings("low"), ["low</w>"])
    }

    func testOnlyTheFirst48894MergesAreUsed() throws {
        var merges = ["l o"]
        while merges.count < 48894 { merges.append("zz zz") }
        merges.append("lo w</w>")  // line 48895 of the file: beyond transformers' [1 : 48895]
        let tok = try CLIPTokenizer(folder: try tinyFolder(merges: merges))
        XCTAssertEqual(tok.tokenStrings("low"), ["lo", "w</w>"])
        merges.removeLast(2)
        merges.append("lo w</w>")  // line 48894: used
        let tok2 = try CLIPTokenizer(folder: try tinyFolder(merges: merges))
        XCTAssertEqual(tok2.tokenStrings("low"), ["low</w>"])
    }

    // MARK: files and errors

    func testMissingVocabularyFileNamesTheFileAndTheFolder() throws {
        let dir = try tinyFolder(merges: ["l o"])
        try FileManager.default.removeItem(at: dir.appendingPathComponent("vocab.json"))
        XCTAssertThrowsError(try CLIPTokenizer(folder: dir)) { error in
            guard let e = error as? ModelLoadError else { return XCTFail("\(error)") }
            XCTAssertTrue(e.file.hasSuffix("/vocab.json"), e.file)
            XCTAssertTrue(e.description.contains(dir.path), e.description)
            XCTAssertTrue(e.message.contains("vocab.json"), e.message)
            XCTAssertNotNil(e.hint)
        }
    }

    func testMissingMergesFileNamesTheFile() throws {
        let dir = try tinyFolder(merges: ["l o"])
        try FileManager.default.removeItem(at: dir.appendingPathComponent("merges.txt"))
        XCTAssertThrowsError(try CLIPTokenizer(folder: dir)) { error in
            guard let e = error as? ModelLoadError else { return XCTFail("\(error)") }
            XCTAssertTrue(e.file.hasSuffix("/merges.txt"), e.file)
            XCTAssertTrue(e.description.contains("merges.txt"))
        }
    }

    func testMissingFolder() {
        let dir = URL(fileURLWithPath: "/nonexistent/sd/tokenizer")
        XCTAssertThrowsError(try CLIPTokenizer(folder: dir)) { error in
            guard let e = error as? ModelLoadError else { return XCTFail("\(error)") }
            XCTAssertEqual(e.file, dir.path)
        }
    }

    func testMalformedFilesAreModelLoadErrors() throws {
        let dir = try tinyFolder(merges: ["l o"])
        try Data("{\"a\": 1,".utf8).write(to: dir.appendingPathComponent("vocab.json"))
        XCTAssertThrowsError(try CLIPTokenizer(folder: dir)) { error in
            XCTAssertTrue((error as? ModelLoadError)?.file.hasSuffix("vocab.json") ?? false, "\(error)")
        }
        let dir2 = try tinyFolder(merges: ["l o"])
        try Data("not json".utf8).write(to: dir2.appendingPathComponent("tokenizer_config.json"))
        XCTAssertThrowsError(try CLIPTokenizer(folder: dir2)) { error in
            XCTAssertTrue((error as? ModelLoadError)?.file.hasSuffix("tokenizer_config.json") ?? false, "\(error)")
        }
        let dir3 = try tinyFolder(merges: ["l o"])
        try Data("{\"pad_token\": null}".utf8).write(to: dir3.appendingPathComponent("tokenizer_config.json"))
        XCTAssertThrowsError(try CLIPTokenizer(folder: dir3)) { error in
            XCTAssertEqual((error as? ModelLoadError)?.key, "pad_token", "\(error)")
        }
    }

    func testVocabJSONKeepsExactScalars() throws {
        let json = #"{"caf\u00e9": 1, "cafe\u0301": 2, "\ud83d\ude00": 3, "a\"b\\c": 4, "dup": 5, "dup": 6}"#
        let entries = try BPEVocabJSON.parse(Data(json.utf8))
        var d: [[UInt8]: Int] = [:]
        for (k, v) in entries { d[k] = v }
        XCTAssertEqual(d[Array("caf\u{e9}".utf8)], 1)
        XCTAssertEqual(d[Array("cafe\u{301}".utf8)], 2)  // canonically equivalent to the key above, kept apart
        XCTAssertEqual(d[Array("😀".utf8)], 3)
        XCTAssertEqual(d[Array("a\"b\\c".utf8)], 4)
        XCTAssertEqual(d[Array("dup".utf8)], 6)
        XCTAssertThrowsError(try BPEVocabJSON.parse(Data(#"{"a": 1.5}"#.utf8)))
        XCTAssertThrowsError(try BPEVocabJSON.parse(Data(#"{"a": 1} x"#.utf8)))
        XCTAssertEqual(try BPEVocabJSON.parse(Data("{}".utf8)).count, 0)
    }

    // MARK: padding, truncation, added tokens

    func testPaddingIDPerConvention() throws {
        let sd1 = try TokenizerFixtures.tokenizer("sd1")
        let sd2 = try TokenizerFixtures.tokenizer("sd2")
        let (a, ta) = sd1("a cat")
        let (b, tb) = sd2("a cat")
        XCTAssertFalse(ta || tb)
        XCTAssertEqual(a, [49406, 320, 2368, 49407] + Array(repeating: 49407, count: 73))
        XCTAssertEqual(b, [49406, 320, 2368, 49407] + Array(repeating: 0, count: 73))
        XCTAssertEqual(sd2.padToken, "!")
        // SD2's pad "!" is an added token: cut out whole, never merged by BPE
        XCTAssertEqual(sd1.tokenStrings("wow!!"), ["wow</w>", "!!</w>"])
        XCTAssertEqual(sd2.tokenStrings("wow!!"), ["wow</w>", "!", "!"])
        XCTAssertEqual(sd2.encode("!", addSpecialTokens: false), [0])
    }

    func testTruncationKeepsEOSAndWarnsOncePerTokenizer() throws {
        let tok = try CLIPTokenizer(folder: try TokenizerFixtures.makeFolder(config: "sd1"))
        // Unchecked: `warnings` is only touched with `lock` held.
        final class Box: @unchecked Sendable {
            var warnings: [CLIPTokenizer.Truncation] = []
            let lock = NSLock()
        }
        let box = Box()
        tok.onTruncation = { w in box.lock.withLock { box.warnings.append(w) } }
        let short = tok("a photo of a dog")
        XCTAssertFalse(short.truncated)
        XCTAssertNil(tok.truncationWarning)
        let long = String(repeating: "cat ", count: 100)
        let (ids, truncated) = tok(long)
        XCTAssertTrue(truncated)
        XCTAssertEqual(ids.count, 77)
        XCTAssertEqual(ids.first, 49406)
        XCTAssertEqual(ids.last, 49407)
        XCTAssertEqual(Array(ids[1..<76]), Array(repeating: 2368, count: 75))
        let again = tok(long + " dog")
        XCTAssertTrue(again.truncated)
        XCTAssertEqual(box.warnings.count, 1, "one warning per tokenizer")
        let w = try XCTUnwrap(tok.truncationWarning)
        XCTAssertEqual(w.tokenCount, 102)
        XCTAssertEqual(w.maxLength, 77)
        XCTAssertEqual(w.removedText, String(repeating: "cat ", count: 25).trimmingCharacters(in: .whitespaces))
        XCTAssertTrue(w.description.contains("truncated because CLIP can only handle sequences up to 77 tokens"))
        // another tokenizer warns on its own
        let other = try CLIPTokenizer(folder: try TokenizerFixtures.makeFolder(config: "sd2"))
        XCTAssertNil(other.truncationWarning)
        _ = other(long)
        XCTAssertNotNil(other.truncationWarning)
    }

    func testCustomMaxLength() throws {
        let tok = try TokenizerFixtures.tokenizer("sd2")
        let (ids, truncated) = tok("a photo of a cat with a hat", maxLength: 5)
        XCTAssertTrue(truncated)
        XCTAssertEqual(ids, [49406, 320, 1125, 539, 49407])
        let (ids2, t2) = tok("a cat", maxLength: 6)
        XCTAssertFalse(t2)
        XCTAssertEqual(ids2, [49406, 320, 2368, 49407, 0, 0])
        let exact = tok("a cat", maxLength: 4)
        XCTAssertEqual(exact.ids, [49406, 320, 2368, 49407])
        XCTAssertFalse(exact.truncated)
    }

    func testAddedTokensAreMatchedWholeBeforeBPE() throws {
        let tok = try TokenizerFixtures.tokenizer("added")
        let byContent = Dictionary(uniqueKeysWithValues: tok.addedTokens.map { ($0.content, $0) })
        XCTAssertEqual(byContent["<loc_0>"]?.id, 49408)
        XCTAssertEqual(byContent["<loc_10>"]?.id, 49410)
        XCTAssertEqual(byContent["<|endoftext|>"]?.special, true)
        XCTAssertEqual(tok.encode("a <loc_0> dog"), [49406, 320, 49408, 1929, 49407])
        // longest match among overlapping added tokens, glued to text on both sides
        XCTAssertEqual(tok.encode("x<loc_100>y", addSpecialTokens: false), [343, 49411, 344])
        XCTAssertTrue(Set(tok.encode("<loc_1000>", addSpecialTokens: false)).isDisjoint(with: [49408, 49409, 49410, 49411]))
        // lower-casing does not apply to added tokens (matched on the raw text)
        XCTAssertFalse(tok.encode("<LOC_0>").contains(49408))
        // decode keeps non-special added tokens as separate words
        XCTAssertEqual(tok.decode(tok.encode("a photo of <loc_0><loc_10> a dog")), "a photo of <loc_0> <loc_10> a dog")
    }

    func testBareFolderUsesCLIPDefaults() throws {
        let tok = try TokenizerFixtures.tokenizer("bare")
        XCTAssertNil(tok.modelMaxLength)
        XCTAssertEqual(tok.padTokenID, 49407)
        XCTAssertEqual(tok("a cat").ids.count, 77)  // no model_max_length: 77
    }

    // MARK: options, threads

    func testUnicodeVersionOption() throws {
        let folder = try TokenizerFixtures.makeFolder(config: "sd1")
        let py311 = try CLIPTokenizer(folder: folder)
        let py312 = try CLIPTokenizer(folder: folder, unicodeVersion: (15, 0))
        // U+1FAE8 (Unicode 15): unassigned to Python 3.11's unicodedata, so deleted; kept by 3.12's
        XCTAssertEqual(py311.encode("\u{1FAE8}"), [49406, 49407])
        XCTAssertGreaterThan(py312.encode("\u{1FAE8}").count, 2)
        XCTAssertEqual(py311.encode("a cat"), py312.encode("a cat"))
    }

    func testConcurrentEncodingIsConsistent() throws {
        let tok = try CLIPTokenizer(folder: try TokenizerFixtures.makeFolder(config: "sd1"))
        let ref = try TokenizerFixtures.reference()
        let strings = Array(ref.strings.prefix(200))
        let expected = strings.indices.map { ref.ids(config: "sd1", index: $0) }
        // Unchecked: `bad` is only touched with `lock` held.
        final class Results: @unchecked Sendable {
            var bad = 0
            let lock = NSLock()
        }
        let results = Results()
        DispatchQueue.concurrentPerform(iterations: 8) { k in
            for (i, s) in strings.enumerated() where (i + k) % 2 == 0 {
                if tok.encode(s) != expected[i] { results.lock.withLock { results.bad += 1 } }
            }
        }
        XCTAssertEqual(results.bad, 0)
    }
}

/// Crash inputs the fuzzer found (Fixtures/fuzz-crashes), replayed: each is an error with a message now, not a trap.
final class CLIPTokenizerFuzzCrashTests: XCTestCase {
    /// `clip-tokenizer-folder` (session 8): a vocab.json id of 69,444,444,444 trapped converting it to a 32-bit id.
    /// The input is the fuzz target's: vocab.json, merges.txt, tokenizer_config.json, special_tokens_map.json and
    /// added_tokens.json joined by the bytes FF 00 FF.
    func testAnIdBeyond32BitsIsAnErrorNotATrap() throws {
        let input = try Data(contentsOf: SchedulerFixtures.directory.deletingLastPathComponent()
            .appendingPathComponent("fuzz-crashes/clip-tokenizer-folder-8791ee47"))
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tokenizer-crash-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let names = ["vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json"]
        for (name, part) in zip(names, [UInt8](input).split(separator: [0xFF, 0x00, 0xFF], omittingEmptySubsequences: false)) where !part.isEmpty {
            try Data(part).write(to: folder.appendingPathComponent(name))
        }
        XCTAssertThrowsError(try CLIPTokenizer(folder: folder)) { error in
            XCTAssertTrue("\(error)".contains("69444444444") && "\(error)".contains("vocab.json"), "\(error)")
        }
    }
}
