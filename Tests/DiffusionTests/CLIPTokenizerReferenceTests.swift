import Support
import Foundation
import XCTest
@testable import Diffusion

/// The real CLIP vocabulary and transformers' ids (tools/make_tokenizer_fixtures.py, transformers 4.x slow
/// CLIPTokenizer without ftfy) for every string of the corpus and every tokenizer-folder convention.
final class CLIPTokenizerReferenceTests: XCTestCase {
    func testRealVocabularyLoads() throws {
        let tok = try TokenizerFixtures.tokenizer("sd1")
        XCTAssertEqual(tok.vocabularySize, 49408)
        XCTAssertEqual(tok.bosTokenID, 49406)
        XCTAssertEqual(tok.eosTokenID, 49407)
        XCTAssertEqual(tok.padTokenID, 49407)
        XCTAssertEqual(tok.unkTokenID, 49407)
        XCTAssertEqual(tok.modelMaxLength, 77)
        XCTAssertEqual(tok.encode("a photo of a cat"), [49406, 320, 1125, 539, 320, 2368, 49407])
        XCTAssertEqual(tok.encode("a photo of an astronaut riding a horse on mars"),
                       [49406, 320, 1125, 539, 550, 18376, 6765, 320, 4558, 525, 7496, 49407])
        XCTAssertEqual(tok.encode(""), [49406, 49407])
        XCTAssertEqual(tok.tokenStrings("hello!!! world!"), ["hello</w>", "!!!</w>", "world</w>", "!</w>"])
    }

    func testReferenceCameFromTransformers4WithoutFTFY() throws {
        let data = try Data(contentsOf: TokenizerFixtures.directory.appendingPathComponent("expected_ids.json"))
        let meta = try XCTUnwrap((JSONSerialization.jsonObject(with: data) as? [String: Any])?["meta"] as? [String: Any])
        XCTAssertEqual(meta["ftfy"] as? Bool, false)
        XCTAssertTrue((meta["transformers"] as? String)?.hasPrefix("4.") ?? false)
        XCTAssertEqual(meta["unicodedata"] as? String, "14.0.0", "the default unicodeVersion (14, 0) matches the reference's Python")
    }

    func testEveryCorpusStringMatchesTransformersForEveryConfig() throws {
        let ref = try TokenizerFixtures.reference()
        var matched = 0
        var total = 0
        for name in ref.configNames {
            let tok = try TokenizerFixtures.tokenizer(name)
            XCTAssertEqual(tok.padTokenID, ref.padID[name], name)
            var failures = 0
            for (i, s) in ref.strings.enumerated() {
                let expected = ref.ids(config: name, index: i)
                let got = tok.encode(s)
                total += 1
                if got == expected {
                    matched += 1
                } else {
                    failures += 1
                    if failures <= 10 {
                        XCTFail("\(name) #\(i) \(s.debugDescription):\n  swift  \(got)\n  python \(expected)\n  tokens \(tok.tokenStrings(s))")
                    }
                }
            }
            XCTAssertEqual(failures, 0, "\(name): \(failures) of \(ref.strings.count) strings differ")
        }
        print("CLIPTokenizer reference: \(matched)/\(total) (strings x configs) equal transformers' ids; \(ref.strings.count) strings, configs \(ref.configNames)")
        XCTAssertEqual(matched, total)
        XCTAssertGreaterThanOrEqual(ref.strings.count, 300)
    }

    func testPaddedAndTruncatedMatchTransformers() throws {
        let ref = try TokenizerFixtures.reference()
        for name in ["sd1", "sd2"] {
            let tok = try TokenizerFixtures.tokenizer(name)
            let padded = try XCTUnwrap(ref.padded[name])
            XCTAssertEqual(padded.count, ref.paddedIndices.count)
            for (k, i) in ref.paddedIndices.enumerated() {
                let (ids, truncated) = tok(ref.strings[i], maxLength: 77)
                XCTAssertEqual(ids, padded[k], "\(name) #\(i) \(ref.strings[i].debugDescription)")
                XCTAssertEqual(truncated, ref.ids(config: name, index: i).count > 77)
                XCTAssertEqual(ids.count, 77)
                XCTAssertEqual(ids.first, 49406)
            }
        }
    }

    func testDecodeMatchesTransformers() throws {
        let ref = try TokenizerFixtures.reference()
        for name in ref.configNames {
            let tok = try TokenizerFixtures.tokenizer(name)
            var failures = 0
            for (i, s) in ref.strings.enumerated() {
                let expected = ref.decoded(config: name, index: i)
                let got = tok.decode(ref.ids(config: name, index: i), skipSpecialTokens: true)
                if got != expected {
                    failures += 1
                    if failures <= 5 { XCTFail("\(name) #\(i) \(s.debugDescription): decode \(got.debugDescription) != \(expected.debugDescription)") }
                }
            }
            XCTAssertEqual(failures, 0, name)
        }
    }

    func testAddedTokensMatchTransformers() throws {
        let ref = try TokenizerFixtures.reference()
        for name in ref.configNames {
            let tok = try TokenizerFixtures.tokenizer(name)
            var got: [String: Int] = [:]
            for t in tok.addedTokens { got[t.content] = t.id }
            XCTAssertEqual(got, ref.added[name], name)
        }
    }

    /// Every code point: what Python's side (unicodedata 14 + `regex` + str methods) does with it, against the
    /// Swift classification the tokenizer uses.
    func testUnicodeClassesMatchPythonForEveryCodePoint() throws {
        let table = try TokenizerFixtures.unicodeTable()
        let cleanup = CLIPTextCleanup(unicodeVersion: (14, 0))
        let runs = table["runs"] as! [[Int]]
        var mismatches: [String] = []
        for (k, run) in runs.enumerated() {
            let start = run[0]
            let end = k + 1 < runs.count ? runs[k + 1][0] : 0x110000
            let code = run[1]
            if code < 0 { continue }  // surrogates
            let clean = code % 3
            let pySpace = (code / 3) % 2 == 1
            let rx = code / 6
            for v in start..<end {
                let s = Unicode.Scalar(UInt32(v))!
                let c: Int
                switch cleanup.cleanAction(s) {
                case .remove: c = 0
                case .space: c = 1
                case .keep: c = 2
                }
                let r: Int
                switch CLIPPreTokenizer.propertyClass(s) {
                case .other: r = 0
                case .whitespace: r = 1
                case .letter: r = 2
                case .number: r = 3
                }
                if c != clean { mismatches.append(String(format: "U+%04X clean %d, python %d", v, c, clean)) }
                if CLIPTextCleanup.isPythonSpace(UInt32(v)) != pySpace { mismatches.append(String(format: "U+%04X isspace", v)) }
                // the regex only ever sees scalars the clean-up keeps; compare all the same, Unicode 14 and older
                if r != rx && cleanup.isAssigned(s) { mismatches.append(String(format: "U+%04X regex class %d, python %d", v, r, rx)) }
            }
        }
        // str.lower() for every scalar the clean-up keeps
        var pyLower: [UInt32: [UInt32]] = [:]
        for entry in table["lower"] as! [[Any]] {
            pyLower[UInt32(entry[0] as! Int)] = (entry[1] as! [Int]).map { UInt32($0) }
        }
        for v in UInt32(0)...0x10FFFF {
            guard let s = Unicode.Scalar(v), cleanup.cleanAction(s) == .keep, v != 0x3A3 else { continue }
            let got = CLIPTextCleanup.pythonLower([s][...]).map(\.value)
            let expected = pyLower[v] ?? [v]
            if got != expected { mismatches.append(String(format: "U+%04X lower ", v) + "\(got) python \(expected)") }
        }
        XCTAssertEqual(mismatches.count, 0, "first mismatches: \(mismatches.prefix(20))")
    }

    func testNFCMatchesPython() throws {
        let table = try TokenizerFixtures.unicodeTable()
        let probes = table["nfc"] as! [[[Int]]]
        XCTAssertGreaterThan(probes.count, 2000)
        var bad: [String] = []
        for probe in probes {
            var view = String.UnicodeScalarView()
            view.append(contentsOf: probe[0].map { Unicode.Scalar(UInt32($0))! })
            let got = String(view).precomposedStringWithCanonicalMapping.unicodeScalars.map { Int($0.value) }
            if got != probe[1] { bad.append("\(probe[0]) -> \(got), python \(probe[1])") }
        }
        XCTAssertEqual(bad.count, 0, "\(bad.prefix(10))")
    }
}

// MARK: - Fixtures

enum TokenizerFixtures {
    static var directory: URL {
        if let resources = Bundle.module.resourceURL?.appendingPathComponent("Fixtures/tokenizer"),
           FileManager.default.fileExists(atPath: resources.path) {
            return resources
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/tokenizer")
    }

    static func decompressedFixture(_ name: String) throws -> Data {
        let raw = try Data(contentsOf: directory.appendingPathComponent(name))
        return Data(try Zstd.decompress([UInt8](raw)))
    }

    private static let lock = NSLock()
    // Unsafe (these four): every access goes through `lock`.
    nonisolated(unsafe) private static var vocabDir: URL?
    nonisolated(unsafe) private static var tokenizers: [String: CLIPTokenizer] = [:]
    nonisolated(unsafe) private static var ref: Reference?
    nonisolated(unsafe) private static var table: [String: Any]?

    /// Temporary folders of this test process: `<tmp>/DataEngine-CLIPTokenizer-tests/<pid>/`. Folders of test
    /// processes that are gone are removed on first use, so runs do not pile up copies of the vocabulary.
    private static func scratchRoot() throws -> URL {
        let fm = FileManager.default
        let parent = fm.temporaryDirectory.appendingPathComponent("DataEngine-CLIPTokenizer-tests")
        let pid = ProcessInfo.processInfo.processIdentifier
        for name in (try? fm.contentsOfDirectory(atPath: parent.path)) ?? [] {
            if let other = Int32(name), other != pid, kill(other, 0) != 0 {
                try? fm.removeItem(at: parent.appendingPathComponent(name))
            }
        }
        let root = parent.appendingPathComponent(String(pid))
        try fm.createDirectory(at: root, withIntermediateDirectories: true)
        return root
    }

    /// The real vocab.json and merges.txt, decompressed once per test run into a temporary folder.
    static func vocabularyFolder() throws -> URL {
        try lock.withLock {
            if let d = vocabDir { return d }
            let dir = try scratchRoot().appendingPathComponent("vocab")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try decompressedFixture("clip-vocab.json.zst").write(to: dir.appendingPathComponent("vocab.json"))
            try decompressedFixture("clip-merges.txt.zst").write(to: dir.appendingPathComponent("merges.txt"))
            vocabDir = dir
            return dir
        }
    }

    /// A tokenizer folder: the real vocabulary plus the json files of `configs/<name>`.
    static func makeFolder(config name: String) throws -> URL {
        let vocab = try vocabularyFolder()
        let fm = FileManager.default
        let dir = vocab.deletingLastPathComponent().appendingPathComponent("\(name)-\(UUID().uuidString)")
        try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        for f in ["vocab.json", "merges.txt"] {
            try fm.copyItem(at: vocab.appendingPathComponent(f), to: dir.appendingPathComponent(f))
        }
        let cfg = directory.appendingPathComponent("configs/\(name)")
        for f in try fm.contentsOfDirectory(atPath: cfg.path) where f.hasSuffix(".json") {
            try fm.copyItem(at: cfg.appendingPathComponent(f), to: dir.appendingPathComponent(f))
        }
        return dir
    }

    static func tokenizer(_ name: String) throws -> CLIPTokenizer {
        if let t = lock.withLock({ tokenizers[name] }) { return t }
        let t = try CLIPTokenizer(folder: try makeFolder(config: name))
        lock.withLock { tokenizers[name] = t }
        return t
    }

    struct Reference {
        var strings: [String]
        var configNames: [String]
        var sd1IDs: [[Int]]
        var differs: [String: [Int: [Int]]]
        var sd1Decoded: [String]
        var decodedDiffers: [String: [Int: String]]
        var paddedIndices: [Int]
        var padded: [String: [[Int]]]
        var padID: [String: Int]
        var added: [String: [String: Int]]

        func ids(config: String, index: Int) -> [Int] {
            differs[config]?[index] ?? sd1IDs[index]
        }

        func decoded(config: String, index: Int) -> String {
            decodedDiffers[config]?[index] ?? sd1Decoded[index]
        }
    }

    static func reference() throws -> Reference {
        if let r = lock.withLock({ ref }) { return r }
        let data = try Data(contentsOf: directory.appendingPathComponent("expected_ids.json"))
        let root = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        let configs = root["configs"] as! [String: Any]
        let names = ["sd1", "sd2", "sdxl2", "added", "bare"].filter { configs[$0] != nil }
        var r = Reference(strings: root["strings"] as! [String], configNames: names, sd1IDs: [], differs: [:], sd1Decoded: [],
                          decodedDiffers: [:], paddedIndices: root["padded_indices"] as! [Int], padded: [:], padID: [:], added: [:])
        for name in names {
            let c = configs[name] as! [String: Any]
            r.padID[name] = c["pad_id"] as? Int
            r.added[name] = c["added"] as? [String: Int]
            if let p = c["padded"] as? [[Int]] { r.padded[name] = p }
            if name == "sd1" {
                r.sd1IDs = c["ids"] as! [[Int]]
                r.sd1Decoded = c["decoded"] as! [String]
            } else {
                var d: [Int: [Int]] = [:]
                for (k, v) in c["differs"] as! [String: [Int]] { d[Int(k)!] = v }
                r.differs[name] = d
                var dd: [Int: String] = [:]
                for (k, v) in c["decoded_differs"] as! [String: String] { dd[Int(k)!] = v }
                r.decodedDiffers[name] = dd
            }
        }
        lock.withLock { ref = r }
        return r
    }

    static func unicodeTable() throws -> [String: Any] {
        if let t = lock.withLock({ table }) { return t }
        let t = try JSONSerialization.jsonObject(with: try decompressedFixture("unicode_table.json.zst")) as! [String: Any]
        lock.withLock { table = t }
        return t
    }
}
