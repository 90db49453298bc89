import Foundation

/// CLIP's byte-level BPE tokenizer, giving the ids of Hugging Face transformers' (4.x, slow) `CLIPTokenizer` as
/// diffusers uses it: loaded from a diffusers `tokenizer/` folder, text cleaned the way transformers does it
/// without ftfy installed (see `CLIPTextCleanup`), `tokenizer(prompt, padding="max_length",
/// max_length=tokenizer.model_max_length, truncation=True)` for `callAsFunction`.
///
/// The stages, in order, as transformers runs them:
/// 1. added tokens (special tokens included) are cut out of the raw text as whole strings (`AddedTokenTrie`), with
///    their `lstrip`/`rstrip`/`single_word` flags applied to the neighbouring text;
/// 2. every other piece: clean-up, NFC, split on whitespace, lower-case (`CLIPTextCleanup`);
/// 3. the CLIP pre-tokenisation regex (`CLIPPreTokenizer`);
/// 4. UTF-8 bytes -> byte-level symbols -> BPE with `</w>` and the merge ranks (`BPE`), cached per pre-token;
/// 5. `<|startoftext|>` + ids + `<|endoftext|>`; truncation keeps the last id `<|endoftext|>`; padding with the
///    pad id of the folder (SD1: `<|endoftext|>` 49407, SD2: `!` 0).
///
/// Thread-safe: the BPE cache and the truncation warning are guarded by a lock.
// Unchecked: the BPE cache and the warning flag are guarded by a lock; the rest is immutable.
public final class CLIPTokenizer: @unchecked Sendable {
    /// The tokenizer folder it was loaded from.
    public let folder: URL
    /// Entries of `vocab.json` (49,408 for CLIP).
    public let vocabularySize: Int
    /// `model_max_length` of `tokenizer_config.json` (77 for Stable Diffusion), nil when the folder does not say.
    public let modelMaxLength: Int?
    public let bosToken: String
    public let eosToken: String
    public let unkToken: String
    public let padToken: String
    public let bosTokenID: Int
    public let eosTokenID: Int
    public let unkTokenID: Int
    public let padTokenID: Int
    /// Every token matched as a whole string before BPE (special tokens included), by id.
    public let addedTokens: [CLIPAddedToken]
    /// Ids of the special tokens (bos, eos, unk, pad, … and additional special tokens).
    public let specialTokenIDs: Set<Int>

    /// What `callAsFunction` reports the first time it truncates (the warning diffusers logs).
    public struct Truncation: Sendable, CustomStringConvertible {
        public var text: String
        /// Ids the text needs with bos and eos, before truncation.
        public var tokenCount: Int
        public var maxLength: Int
        /// The text of the ids that were cut off.
        public var removedText: String

        public var description: String {
            "The following part of your input was truncated because CLIP can only handle sequences up to \(maxLength) tokens: \(removedText)"
        }
    }

    /// Called once per tokenizer, on the first truncation (library code prints nothing; the caller decides).
    public var onTruncation: (@Sendable (Truncation) -> Void)? {
        get { lock.withLock { _onTruncation } }
        set { lock.withLock { _onTruncation = newValue } }
    }

    /// The first truncation seen by this tokenizer, if any.
    public var truncationWarning: Truncation? { lock.withLock { _truncationWarning } }

    // vocabulary
    private let vocab: [ByteString: Int]
    private let idToToken: [Int: [UInt8]]
    private let bpe: BPE
    private let symbolTokenID: [Int32]
    // added tokens
    private let addedEncoder: [[Unicode.Scalar]: Int]
    private let addedByID: [Int: CLIPAddedToken]
    private let trie: AddedTokenTrie
    /// First scalars of the added tokens: text without any of them needs no trie pass.
    private let addedFirstScalars: Set<UInt32>
    /// Added tokens that `decode` keeps apart from the byte-level text ("legacy added tokens").
    private let separateInDecode: Set<Int>
    private let cleanup: CLIPTextCleanup

    private let lock = NSLock()
    private var cache: [ByteString: [Int]] = [:]
    private var _onTruncation: (@Sendable (Truncation) -> Void)?
    private var _truncationWarning: Truncation?
    private static let cacheLimit = 200_000

    /// Loads `vocab.json`, `merges.txt` and the optional `tokenizer_config.json`, `special_tokens_map.json`,
    /// `added_tokens.json`, `tokenizer.json` (added tokens only) of a diffusers `tokenizer/` folder.
    /// - Parameter unicodeVersion: scalars first assigned after this Unicode version are treated as unassigned
    ///   (and so deleted), like Python's `unicodedata` of that version does; 14.0 is Python 3.11's, the
    ///   reference environment of the tests (3.12: 15.0, 3.13: 15.1).
    public init(folder: URL, unicodeVersion: (major: Int, minor: Int) = (14, 0)) throws {
        self.folder = folder
        self.cleanup = CLIPTextCleanup(unicodeVersion: unicodeVersion)
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: folder.path, isDirectory: &isDir), isDir.boolValue else {
            throw ModelLoadError(file: folder.path, message: "tokenizer folder not found",
                                 hint: "a diffusers model folder has a tokenizer/ folder with vocab.json and merges.txt")
        }
        func required(_ name: String) throws -> Data {
            let url = folder.appendingPathComponent(name)
            guard fm.fileExists(atPath: url.path) else {
                throw ModelLoadError(file: url.path, message: "missing: the CLIP tokenizer needs \(name) (looked for it in \(folder.path))",
                                     hint: "a diffusers tokenizer/ folder holds vocab.json, merges.txt, tokenizer_config.json and special_tokens_map.json")
            }
            do {
                return try Data(contentsOf: url)
            } catch {
                throw ModelLoadError(file: url.path, message: "cannot be read: \(error.localizedDescription)")
            }
        }

        // vocab.json
        let vocabPath = folder.appendingPathComponent("vocab.json").path
        let entries: [(key: [UInt8], value: Int)]
        do {
            entries = try BPEVocabJSON.parse(try required("vocab.json"))
        } catch let e as ModelLoadError {
            throw e
        } catch {
            throw ModelLoadError(file: vocabPath, message: "is not a JSON object of token -> id: \(error)")
        }
        var vocab: [ByteString: Int] = [:]
        vocab.reserveCapacity(entries.count)
        var idToToken: [Int: [UInt8]] = [:]
        idToToken.reserveCapacity(entries.count)
        for (key, id) in entries {
            // Token ids index embedding rows and are kept as 32-bit integers (the fuzzer found 2^40 trapping).
            guard id >= 0, id <= Int(Int32.max) else {
                throw ModelLoadError(file: vocabPath, key: String(decoding: key, as: UTF8.self),
                                     message: "has the id \(id); token ids are 0...\(Int32.max)", hint: "fix vocab.json (CLIP's ids are 0...49407)")
            }
            vocab[ByteString(key)] = id
            idToToken[id] = key
        }
        self.vocab = vocab
        self.vocabularySize = vocab.count

        // merges.txt
        let mergesPath = folder.appendingPathComponent("merges.txt").path
        let pairs = try BPEMergesFile.parse(try required("merges.txt"), file: mergesPath)
        self.bpe = BPE(merges: pairs)

        // special and added tokens
        let config = try CLIPTokenizerConfig.load(folder: folder)
        self.modelMaxLength = config.modelMaxLength
        let defaults = ["bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>", "pad_token": "<|endoftext|>"]
        var special: [String: CLIPTokenizerConfig.Token] = [:]
        for key in CLIPTokenizerConfig.specialAttributes {
            switch config.attributes[key] ?? .absent {
            case .absent:
                if let d = defaults[key] {
                    // CLIPTokenizer.__init__ wraps string bos/eos/unk in AddedToken; pad stays a string
                    special[key] = CLIPTokenizerConfig.Token(content: d, isObject: key != "pad_token")
                }
            case .null:
                break
            case .token(var t):
                // CLIPTokenizer.__init__ wraps string bos/eos/unk in AddedToken(lstrip=False, rstrip=False)
                if ["bos_token", "eos_token", "unk_token"].contains(key) && !t.isObject { t.isObject = true }
                special[key] = t
            }
        }

        var addedEncoder: [[Unicode.Scalar]: Int] = [:]
        var addedByID: [Int: CLIPAddedToken] = [:]
        func scalars(_ s: String) -> [Unicode.Scalar] { Array(s.unicodeScalars) }
        func register(_ t: CLIPTokenizerConfig.Token, id: Int, special: Bool) {
            addedByID[id] = CLIPAddedToken(content: t.content, id: id, special: special, lstrip: t.lstrip, rstrip: t.rstrip, singleWord: t.singleWord)
            addedEncoder[scalars(t.content)] = id
        }
        for (id, t) in config.addedTokensDecoder { register(t, id: id, special: t.special) }

        // all_special_tokens_extended: bos, eos, unk, sep, pad, cls, mask, additional; first of each string
        var extended: [CLIPTokenizerConfig.Token] = []
        var seen = Set<[Unicode.Scalar]>()
        for key in CLIPTokenizerConfig.specialAttributes {
            if let t = special[key], seen.insert(scalars(t.content)).inserted { extended.append(t) }
        }
        for t in config.additionalSpecialTokens where seen.insert(scalars(t.content)).inserted {
            var t = t
            t.isObject = true
            extended.append(t)
        }
        // _add_tokens(…, special_tokens=True): a vocabulary (or added) id when the string has one, else a new id
        var currentVocab: [ByteString: Int] = vocab
        for (content, id) in addedEncoder { currentVocab[ByteString(Array(String(String.UnicodeScalarView(content)).utf8))] = id }
        let newIndex = currentVocab.count
        var addedCount = 0
        for t in extended where !t.content.isEmpty {
            let key = scalars(t.content)
            if !t.isObject && addedEncoder[key] != nil { continue }
            let bytes = ByteString(Array(t.content.utf8))
            let id: Int
            if let existing = currentVocab[bytes] {
                id = existing
            } else {
                id = newIndex + addedCount
                currentVocab[bytes] = id
                addedCount += 1
            }
            var flags = t
            if !t.isObject { flags = CLIPTokenizerConfig.Token(content: t.content) }
            register(flags, id: id, special: true)
        }
        self.addedEncoder = addedEncoder
        self.addedByID = addedByID
        self.addedTokens = addedByID.values.sorted { $0.id < $1.id }
        var trie = AddedTokenTrie()
        for t in addedTokens { trie.add(scalars(t.content)) }
        self.trie = trie
        self.addedFirstScalars = Set(addedTokens.compactMap { $0.content.unicodeScalars.first?.value })

        // token string -> id as `_convert_token_to_id_with_added_voc`: added tokens, vocabulary, unk
        func idOf(_ content: String) -> Int? {
            addedEncoder[scalars(content)] ?? vocab[ByteString(Array(content.utf8))]
        }
        guard let bos = special["bos_token"], let eos = special["eos_token"] else {
            throw ModelLoadError(file: folder.appendingPathComponent("tokenizer_config.json").path, key: "bos_token/eos_token",
                                 message: "is null: CLIP needs <|startoftext|> and <|endoftext|>")
        }
        guard let pad = special["pad_token"] else {
            throw ModelLoadError(file: folder.appendingPathComponent("tokenizer_config.json").path, key: "pad_token",
                                 message: "is null: padding to max_length needs a pad token", hint: "SD 1.x pads with <|endoftext|>, SD 2.x with !")
        }
        let unkContent = special["unk_token"]?.content ?? "<|endoftext|>"
        guard let unkID = vocab[ByteString(Array(unkContent.utf8))] ?? idOf(unkContent) else {
            throw ModelLoadError(file: vocabPath, key: unkContent, message: "the unknown token is not in the vocabulary")
        }
        func requiredID(_ t: CLIPTokenizerConfig.Token, _ key: String) throws -> Int {
            guard let id = idOf(t.content) else {
                throw ModelLoadError(file: vocabPath, key: t.content, message: "the \(key) is not in the vocabulary")
            }
            return id
        }
        self.bosToken = bos.content
        self.eosToken = eos.content
        self.padToken = pad.content
        self.unkToken = unkContent
        self.bosTokenID = try requiredID(bos, "bos_token")
        self.eosTokenID = try requiredID(eos, "eos_token")
        self.padTokenID = try requiredID(pad, "pad_token")
        self.unkTokenID = unkID

        // all_special_tokens / all_special_ids, and the "legacy added tokens" decode keeps apart
        var specialStrings = Set<[Unicode.Scalar]>()
        var specialIDs = Set<Int>()
        for t in extended {
            specialStrings.insert(scalars(t.content))
            specialIDs.insert(idOf(t.content) ?? unkID)
        }
        self.specialTokenIDs = specialIDs
        var separate = Set<Int>()
        for (content, id) in addedEncoder where !specialStrings.contains(content) { separate.insert(id) }
        for t in config.additionalSpecialTokens {
            if let id = idOf(t.content), id >= vocab.count { separate.insert(id) }
        }
        self.separateInDecode = separate

        // BPE symbol -> token id
        var symbolTokenID = [Int32](repeating: 0, count: bpe.symbolStrings.count)
        var addedByBytes: [ByteString: Int] = [:]
        for (content, id) in addedEncoder { addedByBytes[ByteString(Array(String(String.UnicodeScalarView(content)).utf8))] = id }
        for (i, s) in bpe.symbolStrings.enumerated() {
            let id = addedByBytes[ByteString(s)] ?? vocab[ByteString(s)] ?? unkID
            guard let narrow = Int32(exactly: id), narrow >= 0 else {
                throw ModelLoadError(file: folder.path, key: String(decoding: s, as: UTF8.self),
                                     message: "the token has the id \(id); token ids are 0...\(Int32.max)",
                                     hint: "fix the id in vocab.json, added_tokens.json or tokenizer_config.json")
            }
            symbolTokenID[i] = narrow
        }
        self.symbolTokenID = symbolTokenID
        self.idToToken = idToToken

        // the two strings CLIP's bpe() returns unchanged (its cache is seeded with them)
        for literal in ["<|startoftext|>", "<|endoftext|>"] {
            let bytes = ByteString(Array(literal.utf8))
            cache[bytes] = [addedByBytes[bytes] ?? vocab[bytes] ?? unkID]
        }
    }

    // MARK: - Encoding

    /// The token ids of `text` without bos/eos (transformers' `convert_tokens_to_ids(tokenize(text))`).
    func tokenIDs(_ text: String) -> [Int] {
        var ids: [Int] = []
        let scalars = Array(text.unicodeScalars)
        if trie.isEmpty || !scalars.contains(where: { addedFirstScalars.contains($0.value) }) {
            appendBPE(scalars[...], to: &ids)
            return ids
        }
        var chunks = trie.split(scalars)
        // PreTrainedTokenizer.tokenize: lstrip / rstrip / single_word of each added token
        for i in chunks.indices {
            guard let id = addedEncoder[Array(chunks[i])], let tok = addedByID[id] else { continue }
            let token = chunks[i]
            // `left` / `right` are read before the strips, as in Python
            let left: ArraySlice<Unicode.Scalar>? = i > 0 ? chunks[i - 1] : nil
            let right: ArraySlice<Unicode.Scalar>? = i < chunks.count - 1 ? chunks[i + 1] : nil
            if tok.rstrip, let right, !right.isEmpty { chunks[i + 1] = Self.lstripped(right) }
            if tok.lstrip, let left, !left.isEmpty { chunks[i - 1] = Self.rstripped(left) }
            if tok.singleWord, let left, !left.isEmpty, left.last != " " {
                chunks[i - 1] = (Array(chunks[i - 1]) + Array(token))[...]
                chunks[i] = [][...]
            } else if tok.singleWord, let right, !right.isEmpty, right.first != " " {
                chunks[i + 1] = (Array(token) + Array(chunks[i + 1]))[...]
                chunks[i] = [][...]
            }
        }
        for chunk in chunks where !chunk.isEmpty {
            if let id = addedEncoder[Array(chunk)] {
                ids.append(id)
            } else {
                appendBPE(chunk, to: &ids)
            }
        }
        return ids
    }

    /// `tokenizer(text).input_ids`: `<|startoftext|>` + the text's ids + `<|endoftext|>`, neither truncated nor
    /// padded; `addSpecialTokens: false` leaves out bos and eos (`add_special_tokens=False`).
    public func encode(_ text: String, addSpecialTokens: Bool = true) -> [Int] {
        addSpecialTokens ? [bosTokenID] + tokenIDs(text) + [eosTokenID] : tokenIDs(text)
    }

    /// `tokenizer(text, padding="max_length", max_length=maxLength, truncation=True).input_ids`: exactly
    /// `maxLength` ids (default `modelMaxLength`, else 77), truncated keeping `<|endoftext|>` last, padded with
    /// the pad id. `truncated` says whether ids were cut; the first truncation is also reported through
    /// `onTruncation` / `truncationWarning`, once per tokenizer.
    public func callAsFunction(_ text: String, maxLength: Int? = nil) -> (ids: [Int], truncated: Bool) {
        let maxLength = maxLength ?? modelMaxLength ?? 77
        precondition(maxLength >= 2, "maxLength must leave room for <|startoftext|> and <|endoftext|>")
        let body = tokenIDs(text)
        if body.count + 2 <= maxLength {
            return ([bosTokenID] + body + [eosTokenID] + [Int](repeating: padTokenID, count: maxLength - body.count - 2), false)
        }
        let kept = body.prefix(maxLength - 2)
        let warning = Truncation(text: text, tokenCount: body.count + 2, maxLength: maxLength,
                                 removedText: decode(Array(body[(maxLength - 2)...]), skipSpecialTokens: false))
        let callback: (@Sendable (Truncation) -> Void)? = lock.withLock {
            guard _truncationWarning == nil else { return nil }
            _truncationWarning = warning
            return _onTruncation
        }
        callback?(warning)
        return ([bosTokenID] + kept + [eosTokenID], true)
    }

    /// The token strings of `text` as transformers' `tokenize` gives them (byte-level, `</w>` ends a word).
    public func tokenStrings(_ text: String) -> [String] {
        tokenIDs(text).map { id in
            if let t = addedByID[id] { return t.content }
            return idToToken[id].map { String(decoding: $0, as: UTF8.self) } ?? unkToken
        }
    }

    private func appendBPE(_ text: ArraySlice<Unicode.Scalar>, to ids: inout [Int]) {
        for word in cleanup.words(text) {
            CLIPPreTokenizer.split(word) { piece in
                var bytes: [UInt8] = []
                bytes.reserveCapacity(piece.count)
                for s in piece {
                    if s.value < 0x80 {
                        bytes.append(UInt8(s.value))
                    } else {
                        bytes.append(contentsOf: UTF8.encode(s)!)
                    }
                }
                ids.append(contentsOf: bpeIDs(bytes))
            }
        }
    }

    private func bpeIDs(_ bytes: [UInt8]) -> [Int] {
        let key = ByteString(bytes)
        if let hit = lock.withLock({ cache[key] }) { return hit }
        let ids = bpe.apply(bytes).map { Int(symbolTokenID[Int($0)]) }
        lock.withLock {
            if cache.count >= Self.cacheLimit { cache.removeAll(keepingCapacity: true) }
            cache[key] = ids
        }
        return ids
    }

    private static func lstripped(_ s: ArraySlice<Unicode.Scalar>) -> ArraySlice<Unicode.Scalar> {
        var i = s.startIndex
        while i < s.endIndex && CLIPTextCleanup.isPythonSpace(s[i].value) { i += 1 }
        return s[i...]
    }

    private static func rstripped(_ s: ArraySlice<Unicode.Scalar>) -> ArraySlice<Unicode.Scalar> {
        var j = s.endIndex
        while j > s.startIndex && CLIPTextCleanup.isPythonSpace(s[j - 1].value) { j -= 1 }
        return s[..<j]
    }

    // MARK: - Decoding

    /// transformers' `decode(ids, skip_special_tokens=…, clean_up_tokenization_spaces=False)`: byte-level tokens
    /// back to UTF-8 (invalid sequences become U+FFFD), `</w>` -> space, stripped; non-special added tokens are
    /// kept as separate pieces joined by spaces.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = true) -> String {
        var pieces: [String] = []
        var current: [[UInt8]] = []
        func flush(always: Bool) {
            guard !current.isEmpty else { return }
            let s = Self.bytesToString(current)
            if always || !s.isEmpty { pieces.append(s) }
            current.removeAll()
        }
        for id in ids {
            if skipSpecialTokens && specialTokenIDs.contains(id) { continue }
            if separateInDecode.contains(id), let t = addedByID[id] {
                flush(always: false)
                pieces.append(t.content)
                continue
            }
            if let t = addedByID[id] {
                current.append(Array(t.content.utf8))
            } else if let token = idToToken[id] {
                current.append(token)
            }
        }
        flush(always: true)
        return pieces.joined(separator: " ")
    }

    /// `convert_tokens_to_string`: the byte-level scalars back to bytes, UTF-8 decoding with replacement,
    /// `</w>` -> " ", Python `strip()`.
    private static func bytesToString(_ tokens: [[UInt8]]) -> String {
        var bytes: [UInt8] = []
        for token in tokens {
            for s in String(decoding: token, as: UTF8.self).unicodeScalars {
                if s.value < 0x144, ByteEncoder.byteForScalar[Int(s.value)] >= 0 {
                    bytes.append(UInt8(ByteEncoder.byteForScalar[Int(s.value)]))
                } else {
                    bytes.append(contentsOf: UTF8.encode(s)!)
                }
            }
        }
        // "</w>" -> " " on the bytes: ASCII bytes never belong to an invalid UTF-8 sequence, so this equals
        // Python's replace after decoding (and works on scalars, not on Swift's grapheme clusters).
        let marker = Array(BPE.endOfWord.utf8)
        var replaced: [UInt8] = []
        replaced.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if bytes[i] == marker[0], i + marker.count <= bytes.count, Array(bytes[i..<(i + marker.count)]) == marker {
                replaced.append(0x20)
                i += marker.count
            } else {
                replaced.append(bytes[i])
                i += 1
            }
        }
        let text = String(decoding: replaced, as: UTF8.self)
        var scalars = Array(text.unicodeScalars)[...]
        while let f = scalars.first, CLIPTextCleanup.isPythonSpace(f.value) { scalars = scalars.dropFirst() }
        while let l = scalars.last, CLIPTextCleanup.isPythonSpace(l.value) { scalars = scalars.dropLast() }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }
}
