import Foundation

/// What a diffusers `tokenizer/` folder says besides the vocabulary: special tokens, added tokens and
/// `model_max_length`, resolved the way transformers 4.x `CLIPTokenizer.from_pretrained` does it
/// (`PreTrainedTokenizerBase._from_pretrained`, `CLIPTokenizer.__init__`, `PreTrainedTokenizer.__init__`):
///
/// - `tokenizer_config.json` (optional) gives the init arguments; values may be strings or
///   `{"__type": "AddedToken", "content": …, "lstrip": …}` objects.
/// - If it has `added_tokens_decoder` (files saved by transformers >= 4.34), that is the added-token table and
///   `special_tokens_map.json` is NOT read. Otherwise `special_tokens_map.json` (optional) overrides the special
///   tokens of the config, and `added_tokens.json` / `tokenizer.json`'s `added_tokens` (optional) add tokens.
/// - Defaults (CLIPTokenizer's): bos `<|startoftext|>`, eos/unk/pad `<|endoftext|>`; an explicit `null` means none.
/// - Every special token (bos, eos, unk, sep, pad, cls, mask, additional, first occurrence of each string) then
///   becomes an added token too, with its vocabulary id, or a new id after the vocabulary when it has none. That
///   is why SD2's pad `!` is matched as a whole string (id 0) before BPE: "hi!!" gives `hi`, `!`, `!` there,
///   and `hi`, `!!` with SD1's files.
struct CLIPTokenizerConfig {
    struct Token {
        var content: String
        var lstrip = false
        var rstrip = false
        var singleWord = false
        var special = false
        /// An `AddedToken` object (flags given) rather than a plain string.
        var isObject = false
    }

    /// A special-token attribute: not given (use the default), given as null, or given.
    enum Attribute {
        case absent
        case null
        case token(Token)
    }

    static let specialAttributes = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"]

    var attributes: [String: Attribute] = [:]
    var additionalSpecialTokens: [Token] = []
    /// Added tokens from the files, in file order (id, token).
    var addedTokensDecoder: [(Int, Token)] = []
    var modelMaxLength: Int?

    /// Reads the optional json files of `folder`.
    static func load(folder: URL) throws -> CLIPTokenizerConfig {
        var config = CLIPTokenizerConfig()
        let fm = FileManager.default
        func path(_ name: String) -> URL { folder.appendingPathComponent(name) }
        func exists(_ name: String) -> Bool { fm.fileExists(atPath: path(name).path) }

        var initKwargs: [String: Any] = [:]
        if exists("tokenizer_config.json") {
            initKwargs = try readObject(path("tokenizer_config.json"))
        }
        var addedMap: [String: Token] = [:]
        if let decoder = initKwargs["added_tokens_decoder"] {
            guard let dict = decoder as? [String: Any] else {
                throw ModelLoadError(file: path("tokenizer_config.json").path, key: "added_tokens_decoder", message: "is not an object of id -> token")
            }
            // JSON object order is lost by JSONSerialization; transformers keeps file order, which only matters
            // for two ids with the same content. Sort by id for a stable result.
            for (key, value) in dict.sorted(by: { (Int($0.key) ?? 0) < (Int($1.key) ?? 0) }) {
                guard let id = Int(key), var token = parseToken(value, addedTokenDefault: true) else {
                    throw ModelLoadError(file: path("tokenizer_config.json").path, key: "added_tokens_decoder.\(key)", message: "is not a token entry {\"content\": …}")
                }
                token.isObject = true
                config.addedTokensDecoder.append((id, token))
                addedMap[token.content] = token
            }
        } else {
            if exists("special_tokens_map.json") {
                let map = try readObject(path("special_tokens_map.json"))
                for (key, value) in map {
                    if var dict = value as? [String: Any] {
                        dict["special"] = true
                        initKwargs[key] = dict
                    } else if key == "additional_special_tokens", let list = value as? [Any] {
                        var merged = (initKwargs["additional_special_tokens"] as? [Any]) ?? []
                        for item in list {
                            var entry = item
                            if var d = item as? [String: Any] {
                                d["special"] = true
                                entry = d
                            }
                            let content = parseToken(entry, addedTokenDefault: true)?.content
                            if !merged.contains(where: { parseToken($0, addedTokenDefault: true)?.content == content }) {
                                merged.append(entry)
                            }
                        }
                        initKwargs[key] = merged
                    } else {
                        initKwargs[key] = value
                    }
                }
            }
            var specialStrings = Set<String>()
            for key in specialAttributes {
                if let t = parseToken(initKwargs[key] as Any, addedTokenDefault: false) { specialStrings.insert(t.content) }
            }
            for item in (initKwargs["additional_special_tokens"] as? [Any]) ?? [] {
                if let t = parseToken(item, addedTokenDefault: false) { specialStrings.insert(t.content) }
            }
            if exists("added_tokens.json") {
                let data = try Data(contentsOf: path("added_tokens.json"))
                let entries: [(key: [UInt8], value: Int)]
                do {
                    entries = try BPEVocabJSON.parse(data)
                } catch {
                    throw ModelLoadError(file: path("added_tokens.json").path, message: "is not a JSON object of token -> id: \(error)")
                }
                for (key, id) in entries {
                    let content = String(decoding: key, as: UTF8.self)
                    let special = specialStrings.contains(content)
                    let token = Token(content: content, special: special, isObject: true)
                    config.addedTokensDecoder.append((id, token))
                    addedMap[content] = token
                }
            }
            if exists("tokenizer.json") {
                let object = try readObject(path("tokenizer.json"))
                for entry in (object["added_tokens"] as? [[String: Any]]) ?? [] {
                    guard let idValue = number(entry["id"]), let id = Int(exactly: idValue), var token = parseToken(entry, addedTokenDefault: true) else { continue }
                    token.isObject = true
                    config.addedTokensDecoder.append((id, token))
                    addedMap[token.content] = token
                }
            }
        }

        // special-token attributes; the added-token table's object replaces a plain value of the same content
        for key in specialAttributes {
            guard initKwargs.keys.contains(key) else {
                config.attributes[key] = .absent
                continue
            }
            let value = initKwargs[key]!
            if value is NSNull {
                config.attributes[key] = .null
                continue
            }
            guard var token = parseToken(value, addedTokenDefault: false) else {
                throw ModelLoadError(file: path("tokenizer_config.json").path, key: key, message: "is neither a string nor a token object")
            }
            if !addedMap.isEmpty, let mapped = addedMap[token.content] { token = mapped }
            config.attributes[key] = .token(token)
        }
        for item in (initKwargs["additional_special_tokens"] as? [Any]) ?? [] {
            if let token = parseToken(item, addedTokenDefault: false) { config.additionalSpecialTokens.append(token) }
        }
        // transformers' "unset" is int(1e30); treat anything that large as no limit
        if let d = number(initKwargs["model_max_length"]), d >= 1, d < 1e15 { config.modelMaxLength = Int(d) }
        return config
    }

    static func number(_ value: Any?) -> Double? {
        switch value {
        case let i as Int: return Double(i)
        case let d as Double: return d
        case let n as NSNumber: return n.doubleValue
        default: return nil
        }
    }

    /// A string, `{"content": …}` or `{"__type": "AddedToken", …}`.
    static func parseToken(_ value: Any, addedTokenDefault: Bool) -> Token? {
        if let s = value as? String { return Token(content: s) }
        if let d = value as? [String: Any], let content = d["content"] as? String {
            func flag(_ k: String) -> Bool {
                if let b = d[k] as? Bool { return b }
                return (d[k] as? NSNumber)?.boolValue ?? false
            }
            return Token(content: content, lstrip: flag("lstrip"), rstrip: flag("rstrip"), singleWord: flag("single_word"),
                         special: flag("special"), isObject: true)
        }
        return nil
    }

    static func readObject(_ url: URL) throws -> [String: Any] {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ModelLoadError(file: url.path, message: "cannot be read: \(error.localizedDescription)")
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            throw ModelLoadError(file: url.path, message: "is not valid JSON: \(error.localizedDescription)")
        }
        guard let dict = object as? [String: Any] else {
            throw ModelLoadError(file: url.path, message: "is not a JSON object")
        }
        return dict
    }
}
