import XCTest
@testable import Datasets

final class XMLParserTests: XCTestCase {
    private func parseError(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> MiniXML.ParseError? {
        do {
            _ = try MiniXML.parse(text)
            XCTFail("expected a parse error", file: file, line: line)
            return nil
        } catch let e as MiniXML.ParseError {
            return e
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
            return nil
        }
    }

    func testElementsTextAndIndentation() throws {
        let doc = try MiniXML.parse("""
            <annotation>
            \t<size>
            \t\t<width>500</width>
            \t\t<height> 375 </height>
            \t</size>
            \t<object><name>dog</name></object>
            \t<object><name>cat</name></object>
            </annotation>
            """)
        XCTAssertEqual(doc.root.name, "annotation")
        XCTAssertEqual(doc.root.elements.map(\.name), ["size", "object", "object"])
        // Indentation between child elements is dropped; text inside a leaf is kept exactly.
        XCTAssertEqual(doc.root.children.count, 3)
        XCTAssertEqual(doc.root.child("size")?.child("width")?.text, "500")
        XCTAssertEqual(doc.root.child("size")?.child("height")?.text, " 375 ")
        XCTAssertEqual(doc.root.children(named: "object").map { $0.child("name")?.text }, ["dog", "cat"])
        XCTAssertNil(doc.root.child("missing"))
        XCTAssertEqual(doc.root.descendants(named: "name").map(\.text), ["dog", "cat"])
        XCTAssertEqual(doc.position(of: doc.root.children(named: "object")[1]).line, 7)
        XCTAssertEqual(doc.position(of: doc.root.children(named: "object")[1]).column, 2)
    }

    func testAttributesBothQuotesAndEntities() throws {
        let doc = try MiniXML.parse(#"<svg width="10" height='20' title="a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos;"/>"#)
        XCTAssertEqual(doc.root.attribute("width"), "10")
        XCTAssertEqual(doc.root.attribute("height"), "20")
        XCTAssertEqual(doc.root.attribute("title"), #"a & b <c> "d" 'e'"#)
        XCTAssertNil(doc.root.attribute("x"))
        XCTAssertEqual(doc.root.attributes.map(\.name), ["width", "height", "title"])
        XCTAssertTrue(doc.root.children.isEmpty)
    }

    func testAttributeValueWhitespaceIsNormalised() throws {
        let doc = try MiniXML.parse("<a v=\"x\ty\nz\"/>")
        XCTAssertEqual(doc.root.attribute("v"), "x y z")
    }

    func testPredefinedEntitiesAndCharacterReferencesInText() throws {
        let doc = try MiniXML.parse("<t>&lt;&gt;&amp;&quot;&apos; &#65;&#x42;&#x20AC;&#128512;</t>")
        XCTAssertEqual(doc.root.text, "<>&\"' AB€😀")
    }

    func testCommentsDeclarationProcessingInstructionsAndDoctypeAreSkipped() throws {
        let doc = try MiniXML.parse("""
            \u{FEFF}<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
            <!-- leading comment -->
            <!DOCTYPE annotation [ <!ELEMENT annotation ANY> ]>
            <?xml-stylesheet href="x.css"?>
            <annotation>a<!-- inner -->b<?pi data?>c</annotation>
            <!-- trailing -->
            """)
        XCTAssertEqual(doc.root.name, "annotation")
        XCTAssertEqual(doc.root.text, "abc")
    }

    func testCDATAIsLiteralText() throws {
        let doc = try MiniXML.parse("<t>x<![CDATA[<b>&amp; ]] >]]>y</t>")
        XCTAssertEqual(doc.root.text, "x<b>&amp; ]] >y")
    }

    func testLineEndingsAreNormalised() throws {
        let doc = try MiniXML.parse("<t>a\r\nb\rc</t>")
        XCTAssertEqual(doc.root.text, "a\nb\nc")
    }

    func testMixedContentKeepsWhitespaceBetweenTextAndElements() throws {
        let doc = try MiniXML.parse("<p>hello <b>big</b> world</p>")
        XCTAssertEqual(doc.root.text, "hello  world")
        XCTAssertEqual(doc.root.allText, "hello big world")
    }

    func testLatin1DeclaredEncodingIsTranscoded() throws {
        var bytes = Array("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><n>caf".utf8)
        bytes.append(0xE9)
        bytes += Array("</n>".utf8)
        XCTAssertEqual(try MiniXML.parse(bytes).root.text, "café")
    }

    func testUnsupportedEncodingIsRejected() {
        let e = parseError("<?xml version=\"1.0\" encoding=\"Shift_JIS\"?><a/>")
        XCTAssertTrue(e?.message.contains("shift_jis") ?? false, e?.message ?? "")
    }

    func testMismatchedEndTagReportsLineAndColumn() {
        let e = parseError("<a>\n  <b>text</c>\n</a>")
        XCTAssertEqual(e?.line, 2)
        XCTAssertEqual(e?.column, 10)
        XCTAssertTrue(e?.message.contains("</c>") ?? false)
        XCTAssertTrue(e?.message.contains("<b>") ?? false)
        XCTAssertTrue(e?.message.contains("line 2, column 3") ?? false, e?.message ?? "")
    }

    func testColumnsCountCharactersNotBytes() {
        let e = parseError("<a>ééé&bogus;</a>")
        XCTAssertEqual(e?.line, 1)
        XCTAssertEqual(e?.column, 7)
        XCTAssertTrue(e?.message.contains("&bogus;") ?? false)
    }

    func testUnclosedElementAtEndOfFile() {
        let e = parseError("<annotation>\n<object>\n")
        XCTAssertEqual(e?.line, 3)
        XCTAssertTrue(e?.message.contains("<object>") ?? false)
        XCTAssertTrue(e?.message.contains("line 2, column 1") ?? false, e?.message ?? "")
    }

    func testBareAmpersandIsAnError() {
        let e = parseError("<a>fish & chips</a>")
        XCTAssertEqual(e?.column, 9)
        XCTAssertTrue(e?.message.contains("&amp;") ?? false)
    }

    func testIllegalCharacterReferences() {
        XCTAssertNotNil(parseError("<a>&#0;</a>"))
        XCTAssertNotNil(parseError("<a>&#xD800;</a>"))
        XCTAssertNotNil(parseError("<a>&#x110000;</a>"))
        XCTAssertNotNil(parseError("<a>&#xZZ;</a>"))
        XCTAssertNotNil(parseError("<a>&#;</a>"))
    }

    func testAttributeErrors() {
        XCTAssertTrue(parseError("<a x=1/>")?.message.contains("quoted") ?? false)
        XCTAssertTrue(parseError("<a x=\"1\" x=\"2\"/>")?.message.contains("twice") ?? false)
        XCTAssertTrue(parseError("<a x=\"<\"/>")?.message.contains("'<'") ?? false)
        XCTAssertTrue(parseError("<a x=\"1\"y=\"2\"/>")?.message.contains("whitespace") ?? false)
        XCTAssertNotNil(parseError("<a x/>"))
    }

    func testStructuralErrors() {
        XCTAssertTrue(parseError("")?.message.contains("no root") ?? false)
        XCTAssertTrue(parseError("hello")?.message.contains("root element") ?? false)
        XCTAssertTrue(parseError("<a/><b/>")?.message.contains("after the end of the root") ?? false)
        XCTAssertTrue(parseError("<a><!-- x -- y --></a>")?.message.contains("'--'") ?? false)
        XCTAssertTrue(parseError("<a><!-- never closed</a>")?.message.contains("-->") ?? false)
        XCTAssertTrue(parseError("<a><![CDATA[x</a>")?.message.contains("]]>") ?? false)
        XCTAssertTrue(parseError("<a/>\n<?xml version=\"1.0\"?>")?.message.contains("declaration") ?? false)
        XCTAssertTrue(parseError("<1a/>")?.message.contains("element name") ?? false)
        XCTAssertEqual(parseError("<a></a >x")?.line, 1)
    }

    func testUTF16IsRejectedWithAHint() {
        XCTAssertThrowsError(try MiniXML.parse([0xFF, 0xFE, 0x3C, 0x00])) { error in
            XCTAssertTrue("\(error)".contains("UTF-16"))
        }
    }

    func testDeepNestingDoesNotRecurse() throws {
        let depth = 20_000
        let text = String(repeating: "<d>", count: depth) + "x" + String(repeating: "</d>", count: depth)
        var element = try MiniXML.parse(text).root
        var levels = 1
        while let child = element.child("d") {
            element = child
            levels += 1
        }
        XCTAssertEqual(levels, depth)
        XCTAssertEqual(element.text, "x")
    }

    func testEscapingRoundTrips() throws {
        let nasty = "a&b<c>d\"e'f\tg\nh\u{1}i"
        let doc = try MiniXML.parse("<t v=\"\(MiniXML.escapeAttribute(nasty))\">\(MiniXML.escapeText(nasty))</t>")
        let expected = "a&b<c>d\"e'f\tg\nh\u{FFFD}i"
        XCTAssertEqual(doc.root.attribute("v"), expected)
        XCTAssertEqual(doc.root.text, expected)
        XCTAssertEqual(MiniXML.escapeText("plain"), "plain")
    }
}
