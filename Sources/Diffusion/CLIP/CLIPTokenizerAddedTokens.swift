/// A token that transformers matches as a whole string in the raw text before any clean-up or BPE (special tokens
/// such as `<|startoftext|>`, SD2's pad `!`, and tokens added later, e.g. `<loc_12>`), with the flags of its
/// `AddedToken`.
public struct CLIPAddedToken: Sendable, Equatable {
    public var content: String
    public var id: Int
    /// The `special` flag as the folder gives it (bos/eos/unk/pad are always special). What
    /// `decode(skipSpecialTokens:)` drops is `CLIPTokenizer.specialTokenIDs` (bos, eos, unk, sep, pad, cls, mask
    /// and `additional_special_tokens`), as in transformers, not every token flagged here.
    public var special: Bool
    /// Eats the whitespace on its left / right; `singleWord`: only matches as a whole word.
    public var lstrip: Bool
    public var rstrip: Bool
    public var singleWord: Bool

    public init(content: String, id: Int, special: Bool = false, lstrip: Bool = false, rstrip: Bool = false, singleWord: Bool = false) {
        self.content = content
        self.id = id
        self.special = special
        self.lstrip = lstrip
        self.rstrip = rstrip
        self.singleWord = singleWord
    }
}

/// transformers' `Trie` (tokenization_utils.py), ported line for line over Unicode scalars (Python indexes code
/// points), quirks included: it finds the earliest-starting added token, extends to the longest one from the
/// states alive at that point, and cuts the text there.
struct AddedTokenTrie {
    private struct Node {
        var children: [UInt32: Int] = [:]
        var terminal = false
    }

    private var nodes: [Node] = [Node()]
    private(set) var isEmpty = true

    mutating func add(_ word: [Unicode.Scalar]) {
        guard !word.isEmpty else { return }
        isEmpty = false
        var ref = 0
        for s in word {
            if let next = nodes[ref].children[s.value] {
                ref = next
            } else {
                nodes.append(Node())
                nodes[ref].children[s.value] = nodes.count - 1
                ref = nodes.count - 1
            }
        }
        nodes[ref].terminal = true
    }

    /// `Trie.split`: the text cut at the boundaries of the added tokens found.
    func split(_ text: [Unicode.Scalar]) -> [ArraySlice<Unicode.Scalar>] {
        if isEmpty || text.isEmpty { return text.isEmpty ? [] : [text[...]] }
        // `states` is an insertion-ordered dict start -> node; starts are inserted in increasing order.
        var states: [(start: Int, node: Int)] = []
        var offsets = [0]
        var skip = 0
        let n = text.count

        for current in 0..<n {
            let currentChar = text[current].value
            if skip != 0 && current < skip { continue }

            var toRemove = Set<Int>()
            var reset = false

            var si = 0
            while si < states.count {
                var start = states[si].start
                let triePointer = states[si].node
                if nodes[triePointer].terminal {
                    var end = 0
                    for (lookstart, lookNode) in states {
                        var looktriePointer = lookNode
                        var lookaheadIndex: Int
                        if lookstart > start {
                            break
                        } else if lookstart < start {
                            lookaheadIndex = current + 1
                            end = current + 1
                        } else {
                            lookaheadIndex = current
                            end = current
                        }
                        var nextChar: UInt32? = lookaheadIndex < n ? text[lookaheadIndex].value : nil
                        if nodes[looktriePointer].terminal {
                            start = lookstart
                            end = lookaheadIndex
                            skip = lookaheadIndex
                        }
                        while let c = nextChar, let next = nodes[looktriePointer].children[c] {
                            looktriePointer = next
                            lookaheadIndex += 1
                            if nodes[looktriePointer].terminal {
                                start = lookstart
                                end = lookaheadIndex
                                skip = lookaheadIndex
                            }
                            if lookaheadIndex == n { break }
                            nextChar = text[lookaheadIndex].value
                        }
                    }
                    offsets.append(start)
                    offsets.append(end)
                    reset = true
                    break
                } else if let next = nodes[triePointer].children[currentChar] {
                    states[si].node = next
                } else {
                    toRemove.insert(start)
                }
                si += 1
            }

            if reset {
                states.removeAll(keepingCapacity: true)
            } else if !toRemove.isEmpty {
                states.removeAll { toRemove.contains($0.start) }
            }

            if current >= skip, let first = nodes[0].children[currentChar] {
                states.append((current, first))
            }
        }

        for (start, node) in states where nodes[node].terminal {
            offsets.append(start)
            offsets.append(n)
            break
        }

        // cut_text
        offsets.append(n)
        var tokens: [ArraySlice<Unicode.Scalar>] = []
        var start = 0
        for end in offsets {
            if start > end { continue }  // transformers logs "There was a bug in Trie algorithm" and goes on
            if start == end { continue }
            tokens.append(text[start..<end])
            start = end
        }
        return tokens
    }
}
