import Foundation

/// A small, strict XML 1.0 parser: enough for Pascal VOC annotation files and for checking the SVG and XML
/// that DataEngine writes, with no dependency on libxml2 (FoundationXML).
///
/// Supported: elements, attributes (single or double quoted), text, CDATA sections, the five predefined
/// entities (`&lt; &gt; &amp; &quot; &apos;`), decimal and hexadecimal character references, comments,
/// the XML declaration (encodings UTF-8, US-ASCII and ISO-8859-1), processing instructions (skipped) and a
/// DOCTYPE declaration (skipped; entities it declares are not expanded, so using one is an error).
/// Not supported: namespaces as such (a prefixed name is just a name), validation, UTF-16 input.
///
/// Whitespace: line ends (`\r\n`, `\r`) become `\n` in text. Whitespace-only text between the children of an
/// element that has child elements (indentation) is dropped; all other text is kept exactly. Invalid UTF-8
/// is decoded with U+FFFD replacement characters rather than rejected.
///
/// Errors are `MiniXML.ParseError` with the 1-based line and column (counted in characters) of the problem.
public enum MiniXML {
    public struct ParseError: Error, CustomStringConvertible, Hashable, Sendable {
        /// 1-based line.
        public var line: Int
        /// 1-based column, in characters (Unicode scalars), not bytes.
        public var column: Int
        /// Byte offset in the input.
        public var offset: Int
        public var message: String

        public init(line: Int, column: Int, offset: Int, message: String) {
            self.line = line
            self.column = column
            self.offset = offset
            self.message = message
        }

        /// "line 3, column 7" — the form `DatasetError.location` and `LoadIssue` messages use.
        public var location: String { "line \(line), column \(column)" }
        public var description: String { "\(location): \(message)" }
    }

    public struct Attribute: Hashable, Sendable {
        public var name: String
        public var value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    public enum Node: Hashable, Sendable {
        case element(Element)
        case text(String)
    }

    public struct Element: Hashable, Sendable {
        public var name: String
        /// In document order.
        public var attributes: [Attribute]
        public var children: [Node]
        /// Byte offset of the element's `<` in the parsed input (see `Document.position(ofOffset:)`).
        public var offset: Int

        public init(name: String, attributes: [Attribute] = [], children: [Node] = [], offset: Int = 0) {
            self.name = name
            self.attributes = attributes
            self.children = children
            self.offset = offset
        }

        /// The value of the attribute `name`, or nil.
        public func attribute(_ name: String) -> String? {
            attributes.first { $0.name == name }?.value
        }

        /// The child elements, in document order.
        public var elements: [Element] {
            children.compactMap { if case .element(let e) = $0 { return e } else { return nil } }
        }

        /// The first child element called `name`, or nil.
        public func child(_ name: String) -> Element? {
            for node in children { if case .element(let e) = node, e.name == name { return e } }
            return nil
        }

        /// The child elements called `name`, in document order.
        public func children(named name: String) -> [Element] {
            children.compactMap { if case .element(let e) = $0, e.name == name { return e } else { return nil } }
        }

        /// The element's own text: its text children (CDATA included) concatenated, descendants excluded.
        public var text: String {
            var parts: [String] = []
            for node in children { if case .text(let t) = node { parts.append(t) } }
            return parts.count == 1 ? parts[0] : parts.joined()
        }

        /// All text in the element and its descendants, in document order.
        public var allText: String {
            var out = ""
            for node in children {
                switch node {
                case .text(let t): out += t
                case .element(let e): out += e.allText
                }
            }
            return out
        }

        /// Every element in this subtree (self included) called `name`, in document order.
        public func descendants(named name: String) -> [Element] {
            var out: [Element] = []
            var stack: [Element] = [self]
            while let e = stack.popLast() {
                if e.name == name { out.append(e) }
                stack.append(contentsOf: e.elements.reversed())
            }
            return out
        }
    }

    public struct Document: Sendable {
        public var root: Element
        /// The bytes the offsets refer to (the input, or its UTF-8 transcoding for ISO-8859-1 input).
        public let source: [UInt8]

        /// 1-based line and column (in characters) of a byte offset in `source`.
        public func position(ofOffset offset: Int) -> (line: Int, column: Int) {
            MiniXML.position(of: offset, in: source)
        }

        /// 1-based line and column of an element's start tag.
        public func position(of element: Element) -> (line: Int, column: Int) {
            position(ofOffset: element.offset)
        }
    }

    /// Parses a complete document.
    public static func parse(_ bytes: [UInt8]) throws -> Document {
        var input = bytes
        if let encoding = try declaredEncoding(bytes) {
            switch encoding {
            case "utf-8", "utf8", "us-ascii", "ascii":
                break
            case "iso-8859-1", "latin1", "latin-1", "iso8859-1", "iso_8859-1":
                input = latin1ToUTF8(bytes)
            default:
                throw error(at: 0, in: bytes,
                            "unsupported encoding \"\(encoding)\" in the XML declaration (supported: UTF-8, US-ASCII, "
                            + "ISO-8859-1); convert the file to UTF-8")
            }
        }
        let root = try input.withUnsafeBufferPointer { buffer -> Element in
            var parser = Parser(bytes: buffer)
            return try parser.parseDocument()
        }
        return Document(root: root, source: input)
    }

    public static func parse(_ text: String) throws -> Document { try parse(Array(text.utf8)) }

    // MARK: - Escaping for writers

    /// Escapes text content: `&`, `<`, `>`. Characters XML 1.0 cannot carry at all (C0 controls other than tab,
    /// line feed and carriage return) become U+FFFD.
    public static func escapeText(_ s: String) -> String { escape(s, quotes: false) }

    /// Escapes an attribute value for double or single quotes: `& < > " '`, and tab / line feed / carriage
    /// return as character references so they survive attribute-value normalisation.
    public static func escapeAttribute(_ s: String) -> String { escape(s, quotes: true) }

    private static func escape(_ s: String, quotes: Bool) -> String {
        var needs = false
        for u in s.utf8 where u == 0x26 || u == 0x3C || u == 0x3E || u < 0x20 || (quotes && (u == 0x22 || u == 0x27)) {
            needs = true
            break
        }
        if !needs { return s }
        var out = ""
        out.reserveCapacity(s.utf8.count + 16)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"" where quotes: out += "&quot;"
            case "'" where quotes: out += "&apos;"
            case "\t" where quotes: out += "&#9;"
            case "\n" where quotes: out += "&#10;"
            case "\r": out += "&#13;"
            case "\t", "\n": out.unicodeScalars.append(scalar)
            default:
                if scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF {
                    out += "\u{FFFD}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    // MARK: - Internals

    static func position(of offset: Int, in bytes: [UInt8]) -> (line: Int, column: Int) {
        let end = min(max(offset, 0), bytes.count)
        var line = 1
        var lineStart = 0
        for i in 0..<end where bytes[i] == 0x0A {
            line += 1
            lineStart = i + 1
        }
        var column = 1
        for i in lineStart..<end where bytes[i] & 0xC0 != 0x80 { column += 1 }
        return (line, column)
    }

    static func error(at offset: Int, in bytes: [UInt8], _ message: String) -> ParseError {
        let p = position(of: offset, in: bytes)
        return ParseError(line: p.line, column: p.column, offset: offset, message: message)
    }

    /// The lower-cased `encoding` of a leading XML declaration, or nil when there is none (or it names none).
    private static func declaredEncoding(_ bytes: [UInt8]) throws -> String? {
        if bytes.count >= 2 && ((bytes[0] == 0xFE && bytes[1] == 0xFF) || (bytes[0] == 0xFF && bytes[1] == 0xFE)) {
            throw ParseError(line: 1, column: 1, offset: 0,
                             message: "the file is UTF-16 (byte order mark FE FF / FF FE); convert it to UTF-8")
        }
        var start = 0
        if bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF { start = 3 }
        let prefix: [UInt8] = Array("<?xml".utf8)
        guard bytes.count >= start + 6, Array(bytes[start..<start + 5]) == prefix, isSpace(bytes[start + 5]) else {
            return nil
        }
        var end = start
        while end + 1 < bytes.count && !(bytes[end] == 0x3F && bytes[end + 1] == 0x3E) { end += 1 }
        let decl = String(decoding: bytes[start..<min(end, bytes.count)], as: UTF8.self)
        guard let range = decl.range(of: "encoding") else { return nil }
        var rest = decl[range.upperBound...].drop { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard rest.first == "=" else { return nil }
        rest = rest.dropFirst().drop { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let quote = rest.first, quote == "\"" || quote == "'" else { return nil }
        rest = rest.dropFirst()
        guard let close = rest.firstIndex(of: quote) else { return nil }
        return rest[..<close].lowercased()
    }

    private static func latin1ToUTF8(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + bytes.count / 8)
        for b in bytes {
            if b < 0x80 {
                out.append(b)
            } else {
                out.append(0xC0 | (b >> 6))
                out.append(0x80 | (b & 0x3F))
            }
        }
        return out
    }

    @inline(__always) static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }

    @inline(__always) static func isNameStart(_ b: UInt8) -> Bool {
        (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || b == 0x5F || b == 0x3A || b >= 0x80
    }

    @inline(__always) static func isNameChar(_ b: UInt8) -> Bool {
        isNameStart(b) || (b >= 0x30 && b <= 0x39) || b == 0x2D || b == 0x2E
    }

    private struct Parser {
        let b: UnsafeBufferPointer<UInt8>
        var i = 0
        /// Text of the element being filled, as bytes, flushed into a `.text` node before the next child.
        var text: [UInt8] = []

        init(bytes: UnsafeBufferPointer<UInt8>) { self.b = bytes }

        func fail(_ message: String, at offset: Int? = nil) -> ParseError {
            MiniXML.error(at: offset ?? i, in: Array(b), message)
        }

        func hasPrefix(_ s: StaticString, at offset: Int) -> Bool {
            let n = s.utf8CodeUnitCount
            guard offset + n <= b.count else { return false }
            let p = s.utf8Start
            for k in 0..<n where b[offset + k] != p[k] { return false }
            return true
        }

        func describe(_ offset: Int) -> String {
            guard offset < b.count else { return "the end of the file" }
            let c = b[offset]
            if c >= 0x21 && c < 0x7F { return "'\(Character(Unicode.Scalar(c)))'" }
            if c == 0x0A { return "a line break" }
            if c == 0x20 || c == 0x09 || c == 0x0D { return "whitespace" }
            let hex = String(c, radix: 16, uppercase: true)
            return "byte 0x" + (hex.count < 2 ? "0" + hex : hex)
        }

        mutating func skipSpace() {
            while i < b.count && MiniXML.isSpace(b[i]) { i += 1 }
        }

        mutating func parseName(_ what: String) throws -> String {
            let start = i
            guard i < b.count, MiniXML.isNameStart(b[i]) else {
                throw fail("expected \(what), found \(describe(i))")
            }
            i += 1
            while i < b.count && MiniXML.isNameChar(b[i]) { i += 1 }
            return String(decoding: UnsafeBufferPointer(rebasing: b[start..<i]), as: UTF8.self)
        }

        mutating func parseDocument() throws -> Element {
            if b.count >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF { i = 3 }
            if hasPrefix("<?xml", at: i) && i + 5 < b.count && MiniXML.isSpace(b[i + 5]) {
                try skipDeclaration()
            }
            var sawDoctype = false
            while true {
                skipSpace()
                guard i < b.count else { throw fail("the file has no root element") }
                if hasPrefix("<!--", at: i) {
                    try skipComment()
                } else if hasPrefix("<?", at: i) {
                    try skipProcessingInstruction()
                } else if hasPrefix("<!DOCTYPE", at: i) {
                    if sawDoctype { throw fail("a second DOCTYPE declaration") }
                    sawDoctype = true
                    try skipDoctype()
                } else if b[i] == 0x3C {
                    break
                } else {
                    throw fail("expected the root element ('<'), found \(describe(i))")
                }
            }
            let root = try parseElementTree()
            while true {
                skipSpace()
                guard i < b.count else { break }
                if hasPrefix("<!--", at: i) {
                    try skipComment()
                } else if hasPrefix("<?", at: i) {
                    try skipProcessingInstruction()
                } else {
                    throw fail("content after the end of the root element </\(root.name)> (a file has one root element)")
                }
            }
            return root
        }

        mutating func skipDeclaration() throws {
            let start = i
            i += 5
            while i + 1 < b.count && !(b[i] == 0x3F && b[i + 1] == 0x3E) { i += 1 }
            guard i + 1 < b.count else { throw fail("the XML declaration is not closed with '?>'", at: start) }
            let body = String(decoding: UnsafeBufferPointer(rebasing: b[(start + 5)..<i]), as: UTF8.self)
            if !body.contains("version") {
                throw fail("the XML declaration has no version (write <?xml version=\"1.0\"?>)", at: start)
            }
            i += 2
        }

        mutating func skipComment() throws {
            let start = i
            i += 4
            while i + 2 < b.count {
                if b[i] == 0x2D && b[i + 1] == 0x2D {
                    if b[i + 2] == 0x3E { i += 3; return }
                    throw fail("'--' inside a comment (XML forbids it)")
                }
                i += 1
            }
            throw fail("comment opened here is never closed with '-->'", at: start)
        }

        mutating func skipProcessingInstruction() throws {
            let start = i
            i += 2
            let target = try parseName("a processing instruction target after '<?'")
            if target.lowercased() == "xml" {
                throw fail("an XML declaration is allowed only at the very start of the file", at: start)
            }
            while i + 1 < b.count {
                if b[i] == 0x3F && b[i + 1] == 0x3E { i += 2; return }
                i += 1
            }
            throw fail("processing instruction opened here is never closed with '?>'", at: start)
        }

        mutating func skipDoctype() throws {
            let start = i
            i += 9
            var bracketDepth = 0
            while i < b.count {
                let c = b[i]
                if c == 0x22 || c == 0x27 {
                    i += 1
                    while i < b.count && b[i] != c { i += 1 }
                } else if c == 0x5B {
                    bracketDepth += 1
                } else if c == 0x5D {
                    bracketDepth -= 1
                } else if c == 0x3E && bracketDepth <= 0 {
                    i += 1
                    return
                }
                i += 1
            }
            throw fail("DOCTYPE declaration opened here is never closed", at: start)
        }

        /// Parses a start tag at `i` (on '<'). Returns the element (no children yet) and whether it was `/>`.
        mutating func parseStartTag() throws -> (Element, Bool) {
            let start = i
            i += 1
            let name = try parseName("an element name after '<'")
            var element = Element(name: name, offset: start)
            while true {
                let beforeSpace = i
                skipSpace()
                guard i < b.count else { throw fail("start tag <\(name)> opened here is never closed with '>'", at: start) }
                if b[i] == 0x3E { i += 1; return (element, false) }
                if b[i] == 0x2F {
                    guard i + 1 < b.count, b[i + 1] == 0x3E else { throw fail("expected '>' after '/' in <\(name)>", at: i + 1) }
                    i += 2
                    return (element, true)
                }
                if i == beforeSpace {
                    throw fail("expected whitespace, '>' or '/>' in start tag <\(name)>, found \(describe(i))")
                }
                let attrStart = i
                let attrName = try parseName("an attribute name, '>' or '/>' in start tag <\(name)>")
                skipSpace()
                guard i < b.count, b[i] == 0x3D else {
                    throw fail("expected '=' after attribute \(attrName) of <\(name)>, found \(describe(i))")
                }
                i += 1
                skipSpace()
                guard i < b.count, b[i] == 0x22 || b[i] == 0x27 else {
                    throw fail("attribute \(attrName) of <\(name)> needs a quoted value, found \(describe(i))")
                }
                let value = try parseAttributeValue(quote: b[i], attribute: attrName, element: name)
                if element.attributes.contains(where: { $0.name == attrName }) {
                    throw fail("attribute \(attrName) appears twice in <\(name)>", at: attrStart)
                }
                element.attributes.append(Attribute(name: attrName, value: value))
            }
        }

        mutating func parseAttributeValue(quote: UInt8, attribute: String, element: String) throws -> String {
            let open = i
            i += 1
            var value: [UInt8] = []
            while true {
                guard i < b.count else {
                    throw fail("the value of attribute \(attribute) of <\(element)> is never closed", at: open)
                }
                let c = b[i]
                if c == quote { i += 1; break }
                switch c {
                case 0x3C:
                    throw fail("'<' inside the value of attribute \(attribute) of <\(element)> (write &lt;)")
                case 0x26:
                    try appendReference(to: &value)
                case 0x0D:
                    // \r\n and \r are line ends; attribute-value normalisation makes every line end a space.
                    value.append(0x20)
                    i += (i + 1 < b.count && b[i + 1] == 0x0A) ? 2 : 1
                case 0x09, 0x0A:
                    value.append(0x20)
                    i += 1
                default:
                    value.append(c)
                    i += 1
                }
            }
            return String(decoding: value, as: UTF8.self)
        }

        /// At '&': decodes an entity or character reference and appends its UTF-8 bytes.
        mutating func appendReference(to out: inout [UInt8]) throws {
            let start = i
            var end = i + 1
            while end < b.count && end - start <= 32 && b[end] != 0x3B && !MiniXML.isSpace(b[end]) && b[end] != 0x3C
                && b[end] != 0x26 { end += 1 }
            guard end < b.count, b[end] == 0x3B else {
                throw fail("'&' that does not start a reference (write a literal ampersand as &amp;)")
            }
            let body = String(decoding: UnsafeBufferPointer(rebasing: b[(start + 1)..<end]), as: UTF8.self)
            i = end + 1
            switch body {
            case "lt": out.append(0x3C)
            case "gt": out.append(0x3E)
            case "amp": out.append(0x26)
            case "quot": out.append(0x22)
            case "apos": out.append(0x27)
            default:
                guard body.hasPrefix("#") else {
                    throw fail("unknown entity &\(body); (XML predefines only &lt; &gt; &amp; &quot; &apos;; "
                                + "write other characters directly in UTF-8 or as a numeric reference like &#160;)", at: start)
                }
                let digits = body.dropFirst()
                let value: UInt32?
                if digits.first == "x" {
                    let hex = digits.dropFirst()
                    value = hex.isEmpty || !hex.allSatisfy(\.isHexDigit) ? nil : UInt32(hex, radix: 16)
                } else {
                    value = digits.isEmpty || !digits.allSatisfy({ $0.isASCII && $0.isNumber }) ? nil : UInt32(digits)
                }
                guard let v = value else { throw fail("malformed character reference &\(body);", at: start) }
                guard let scalar = Unicode.Scalar(v), Self.isXMLChar(v) else {
                    throw fail("character reference &\(body); is not a character XML allows", at: start)
                }
                UTF8.encode(scalar) { out.append($0) }
            }
        }

        static func isXMLChar(_ v: UInt32) -> Bool {
            v == 0x9 || v == 0xA || v == 0xD || (v >= 0x20 && v <= 0xD7FF) || (v >= 0xE000 && v <= 0xFFFD)
                || (v >= 0x10000 && v <= 0x10FFFF)
        }

        mutating func flushText(into element: inout Element) {
            guard !text.isEmpty else { return }
            element.children.append(.text(String(decoding: text, as: UTF8.self)))
            text.removeAll(keepingCapacity: true)
        }

        /// Drops indentation: whitespace-only text nodes of an element that has child elements.
        static func finish(_ element: inout Element) {
            guard element.children.count > 1 else { return }
            var hasElement = false
            for node in element.children { if case .element = node { hasElement = true; break } }
            guard hasElement else { return }
            element.children.removeAll { node in
                if case .text(let t) = node { return t.utf8.allSatisfy(MiniXML.isSpace) }
                return false
            }
        }

        /// Parses the element starting at `i` and everything inside it, iteratively (deep nesting cannot
        /// overflow the stack).
        mutating func parseElementTree() throws -> Element {
            let (first, selfClosing) = try parseStartTag()
            if selfClosing { return first }
            var stack: [Element] = [first]
            text.removeAll(keepingCapacity: true)
            while true {
                // Text run up to the next markup or reference.
                let runStart = i
                while i < b.count {
                    let c = b[i]
                    if c == 0x3C || c == 0x26 || c == 0x0D { break }
                    i += 1
                }
                if i > runStart { text.append(contentsOf: UnsafeBufferPointer(rebasing: b[runStart..<i])) }
                guard i < b.count else {
                    let open = stack[stack.count - 1]
                    throw fail("end of file inside <\(open.name)>, opened at \(MiniXML.error(at: open.offset, in: Array(b), "").location); "
                                + "close it with </\(open.name)>")
                }
                let c = b[i]
                if c == 0x0D {
                    text.append(0x0A)
                    i += (i + 1 < b.count && b[i + 1] == 0x0A) ? 2 : 1
                    continue
                }
                if c == 0x26 {
                    var buffer: [UInt8] = []
                    swap(&buffer, &text)
                    defer { swap(&buffer, &text) }
                    try appendReference(to: &buffer)
                    continue
                }
                // c == '<'
                if hasPrefix("</", at: i) {
                    let tagStart = i
                    i += 2
                    let name = try parseName("an element name after '</'")
                    skipSpace()
                    guard i < b.count, b[i] == 0x3E else { throw fail("expected '>' to end </\(name)>, found \(describe(i))") }
                    i += 1
                    var done = stack.removeLast()
                    guard name == done.name else {
                        let opened = MiniXML.error(at: done.offset, in: Array(b), "").location
                        throw fail("end tag </\(name)> does not match the open element <\(done.name)> (opened at \(opened))",
                                   at: tagStart)
                    }
                    flushText(into: &done)
                    Self.finish(&done)
                    if stack.isEmpty { return done }
                    stack[stack.count - 1].children.append(.element(done))
                } else if hasPrefix("<!--", at: i) {
                    try skipComment()
                } else if hasPrefix("<![CDATA[", at: i) {
                    let open = i
                    i += 9
                    let contentStart = i
                    while i + 2 < b.count && !(b[i] == 0x5D && b[i + 1] == 0x5D && b[i + 2] == 0x3E) { i += 1 }
                    guard i + 2 < b.count else { throw fail("CDATA section opened here is never closed with ']]>'", at: open) }
                    // Line ends inside CDATA are normalised like any other text.
                    var k = contentStart
                    while k < i {
                        if b[k] == 0x0D {
                            text.append(0x0A)
                            k += (k + 1 < i && b[k + 1] == 0x0A) ? 2 : 1
                        } else {
                            text.append(b[k])
                            k += 1
                        }
                    }
                    i += 3
                } else if hasPrefix("<?", at: i) {
                    try skipProcessingInstruction()
                } else if hasPrefix("<!", at: i) {
                    throw fail("unexpected markup '<!' inside <\(stack[stack.count - 1].name)> (only comments and CDATA start with '<!')")
                } else {
                    var parent = stack.removeLast()
                    flushText(into: &parent)
                    stack.append(parent)
                    let (child, childClosed) = try parseStartTag()
                    if childClosed {
                        stack[stack.count - 1].children.append(.element(child))
                    } else {
                        stack.append(child)
                    }
                }
            }
        }
    }
}
