import Foundation
import XCTest
@testable import Datasets
import Support

final class COCOReaderTests: XCTestCase {
    typealias T = COCOTestSupport

    // MARK: The fixture, field by field

    func testLoadsTheTinyFixtureFieldByField() throws {
        let url = try T.fixture("instances_tiny")
        let source = try Array(Data(contentsOf: url))
        let d = try COCOReader.load(instances: url)

        XCTAssertEqual(d.issues, [])
        XCTAssertEqual(d.images.map(\.id), [139, 7, 4_000_001])
        XCTAssertEqual(d.images.map(\.fileName), ["000000000139.jpg", "café/ünïcode 画像 😀.jpg", "generated/000000000139_v2.jpg"])
        XCTAssertEqual(d.images.map(\.width), [640, 320, 640])
        XCTAssertEqual(d.images.map(\.height), [426, 240, 426], "an integral 240.0 is accepted as an integer")
        XCTAssertNil(d.images[0].provenance)
        XCTAssertEqual(d.images[2].provenance, Provenance(
            referenceImageId: 139, variant: 2, seed: UInt64.max, encodeRatio: 0.6, guidance: 7.5, scheduler: "ddim",
            steps: 50, tapTimestep: 981, prompt: "a photo of a \"dog\" on a sofa\nwith a cat"))

        XCTAssertEqual(d.annotations.map(\.id), [1768, 900_100_000_139, 42, 43], "file order")
        XCTAssertEqual(d.annotations.map(\.imageId), [139, 139, 7, 4_000_001])
        XCTAssertEqual(d.annotations.map(\.categoryId), [90, 1, 18, 1])
        XCTAssertEqual(d.annotations.map(\.bbox), [
            BoundingBox(x: 236.98, y: 176.98, width: 45.54, height: 34.33),
            BoundingBox(x: 104, y: 156, width: 3, height: 41),
            BoundingBox(x: 10, y: 20.5, width: 100, height: 50),
            BoundingBox(x: 0.1, y: 0.2, width: 100, height: 25),
        ])
        XCTAssertEqual(d.annotations.map(\.area), [1035.749, 3268, 5000, 2500], "a missing area defaults to the box area")
        XCTAssertEqual(d.annotations.map(\.isCrowd), [false, true, false, true])
        XCTAssertEqual(d.annotations.map(\.score), [nil, nil, 0.8734, nil])
        XCTAssertEqual(d.annotations.map(\.attribute), [nil, nil, "hard", nil])
        XCTAssertEqual(d.annotations.map(\.difficult), [nil, nil, nil, true])
        XCTAssertEqual(d.annotations.map(\.truncated), [nil, nil, nil, false])

        // Segmentation: exact source bytes, all ranges into the one file buffer.
        let text = String(decoding: source, as: UTF8.self)
        XCTAssertNil(d.annotations[2].segmentation)
        XCTAssertEqual(d.annotations[0].segmentation?.text,
                       "[[240.86, 211.31, 240.16, 195.19, 236.98, 176.98, 270.02, 180.0, 282.52, 211.31]]")
        XCTAssertEqual(d.annotations[1].segmentation?.text,
                       #"{"counts": [66916, 6, 587, 1, 1, 3, 584, 6, 5, 1, 581, 10, 581, 11, 3, 1, 574], "size": [426, 640]}"#)
        for a in d.annotations {
            guard let s = a.segmentation else { continue }
            XCTAssertTrue(s.storage === d.annotations[0].segmentation!.storage, "one shared storage")
            XCTAssertEqual(Array(s.bytes), Array(source[s.range]))
            XCTAssertTrue(text.contains(s.text))
        }
        XCTAssertEqual(d.info?.text, #"{"description": "tiny hand-made COCO fixture – ünïcode", "version": "0.1", "year": 2024}"#)
        XCTAssertEqual(d.licenses?.text, #"[{"id": 1, "name": "CC BY 4.0", "url": "https://creativecommons.org/licenses/by/4.0/"}]"#)

        XCTAssertEqual(d.categories, [
            Category(id: 1, name: "person", supercategory: "person"),
            Category(id: 18, name: "dog", supercategory: "animal"),
            Category(id: 90, name: "toothbrush"),
        ])
        XCTAssertEqual(d.captions, [])
    }

    func testCaptionsAreReadAndOrphansReported() throws {
        let captionsURL = try T.fixture("captions_tiny")
        let d = try COCOReader.load(instances: T.fixture("instances_tiny"), captions: captionsURL)
        XCTAssertEqual(d.captions, [
            Caption(id: 9, imageId: 139, text: "A woman stands in the dining area at the table."),
            Caption(id: 10, imageId: 7, text: "Un café « crème » avec un \"chien\" 🐕\n"),
            Caption(id: 12, imageId: 139, text: "A room with chairs, a table, and a woman in it."),
        ], "the captions file's own images list is ignored; file order kept")
        XCTAssertEqual(d.issues.count, 1)
        let issue = try XCTUnwrap(d.issues.first)
        XCTAssertEqual(issue.kind, .unknownImage)
        XCTAssertEqual(issue.file, captionsURL.path)
        XCTAssertEqual(issue.record, "caption #2 (id 11)")
        XCTAssertTrue(issue.message.contains("999") && issue.message.contains("same split"), issue.message)
    }

    func testTopLevelKeysInAnyOrderAndUnknownKeysSkipped() throws {
        let text = """
        {"categories": [{"id": 5, "name": "x", "unknown": {"a": [1, 2]}}], "whatever": [true, false, null, "s", -1.5e-3],
         "annotations": [{"bbox": [1, 1, 2, 2], "category_id": 5, "image_id": 3, "id": 8, "segmentation": []}],
         "images": [{"id": 3, "file_name": "x.jpg", "width": 10, "height": 10, "coco_url": "u"}]}
        """
        let d = try COCOReader.load(instances: T.write(text, in: self))
        XCTAssertEqual(d.annotations.map(\.id), [8])
        XCTAssertEqual(d.annotations.first?.segmentation?.text, "[]")
        XCTAssertEqual(d.categories.map(\.name), ["x"])
        XCTAssertNil(d.info)
        XCTAssertNil(d.licenses)
    }

    func testKeysWithEscapesAndStringEscapesAreDecoded() throws {
        let text = #"""
        {"images": [{"\u0069d": 1, "file_name": "a\/b\u00e9\ud83d\ude00\t.jpg", "width": 2, "height": 2}],
         "annotations": [], "categories": [{"id": 1, "name": "quote\" back\\slash \u001f"}]}
        """#
        let d = try COCOReader.load(instances: T.write(text, in: self))
        XCTAssertEqual(d.images.first?.id, 1)
        XCTAssertEqual(d.images.first?.fileName, "a/bé😀\t.jpg")
        XCTAssertEqual(d.categories.first?.name, "quote\" back\\slash \u{1f}")
    }

    // MARK: Numbers

    func testNumbersRoundTripExactly() throws {
        let values = ["0.1", "2765.1486500000005", "473.07", "1e-7", "-0.0", "5e-324", "1.7976931348623157e308",
                      "123456789012345678901234567890", "0.30000000000000004", "9007199254740993", "2.2250738585072014E-308",
                      "1.00000000000000011102230246251565404236316680908203125", "-12.5e+2", "100000000000000000000000"]
        let annotations = values.enumerated().map { i, v in T.annotation(id: i + 1, extra: ", \"score\": \(v)") }
        let d = try COCOReader.load(instances: T.write(T.instances(annotations: annotations), in: self))
        XCTAssertEqual(d.annotations.count, values.count)
        for (a, v) in zip(d.annotations, values) {
            let expected = try XCTUnwrap(Double(v))
            XCTAssertEqual(a.score?.bitPattern, expected.bitPattern, "\(v) read as \(a.score ?? .nan)")
        }
    }

    func testRandomDoublesRoundTripThroughTheScanner() throws {
        var rng = SeededRandom(seed: 99)
        var texts: [String] = []
        for i in 0..<2000 {
            let d: Double
            switch i % 4 {
            case 0: d = Double(bitPattern: rng.next() & ~(UInt64(0x7FF) << 52) | (UInt64(900 + rng.next() % 250) << 52))
            case 1: d = (rng.nextUnit() * 1000 * 100).rounded() / 100
            case 2: d = rng.nextUnit() * pow(10, Double(Int(rng.next() % 40)) - 20)
            default: d = Double(rng.next() % 100_000_000) / 1000
            }
            texts.append(d.description)
        }
        let json = Array(("[" + texts.joined(separator: ",") + "]").utf8)
        try json.withUnsafeBufferPointer { buffer in
            var s = JSONScanner(base: buffer.baseAddress!, count: buffer.count)
            s.pos = 1
            var first = true
            var i = 0
            while try s.nextElement(&first) {
                let n = try s.scanNumber()
                XCTAssertEqual(s.double(n).bitPattern, Double(texts[i])!.bitPattern, texts[i])
                i += 1
            }
            XCTAssertEqual(i, texts.count)
        }
    }

    func testIntegersAndFlags() throws {
        let ok = T.instances(annotations: [
            T.annotation(id: 1, extra: #", "iscrowd": 1, "difficult": true, "truncated": false"#),
            T.annotation(id: 2, extra: #", "iscrowd": false, "area": null, "attribute": null"#),
            #"{"id": 3.0, "image_id": 2e0, "category_id": 1, "bbox": [1, 2, 3, 4], "iscrowd": 0}"#,
            T.annotation(id: -4),
        ])
        let d = try COCOReader.load(instances: T.write(ok, in: self))
        XCTAssertEqual(d.annotations.map(\.id), [1, 2, 3, -4])
        XCTAssertEqual(d.annotations.map(\.isCrowd), [true, false, false, false])
        XCTAssertEqual(d.annotations.map(\.difficult), [true, nil, nil, nil])
        XCTAssertEqual(d.annotations.map(\.truncated), [false, nil, nil, nil])
        XCTAssertEqual(d.annotations[1].area, 12)
        XCTAssertEqual(d.annotations[2].imageId, 2)

        let crowd2 = try T.loadError(T.instances(annotations: [T.annotation(id: 5, extra: #", "iscrowd": 2"#)]), in: self)
        XCTAssertTrue(crowd2.location?.hasPrefix("annotation #0 (id 5), byte ") ?? false, crowd2.description)
        XCTAssertTrue(crowd2.message.contains("\"iscrowd\" must be 0 or 1"), crowd2.message)

        let fractional = try T.loadError(T.instances(annotations: [], images: [#"{"id": 1, "file_name": "a", "width": 64.5, "height": 2}"#]), in: self)
        XCTAssertTrue(fractional.message.contains("\"width\" must be an integer, found 64.5"), fractional.message)
        XCTAssertTrue(fractional.location?.hasPrefix("image #0 (id 1)") ?? false)
    }

    // MARK: Malformed JSON

    func testMalformedJSONNamesTheByteLineAndColumn() throws {
        // Line 2, column 18 is the 'x' of the bad token.
        let bad = "{\"images\": [],\n \"annotations\": [x]}"
        let e = try T.loadError(bad, in: self)
        XCTAssertEqual(e.location, "byte 32 (line 2, column 18)")
        XCTAssertTrue(e.message.contains("expected a value"), e.message)
        XCTAssertTrue(e.message.contains("found 'x'"), e.message)
        XCTAssertTrue(e.description.hasPrefix(e.file + ", byte 32 (line 2, column 18): invalid JSON"), e.description)
    }

    func testTruncatedFileSaysItEndsEarly() throws {
        let full = T.instances(annotations: [T.annotation(id: 1)])
        let truncated = String(full.prefix(full.count - 20))
        let e = try T.loadError(truncated, in: self)
        XCTAssertTrue(e.message.contains("found the end of the file"), e.message)
        XCTAssertTrue(e.location?.hasPrefix("byte \(truncated.utf8.count) ") ?? false, e.location ?? "")
        XCTAssertTrue(e.hint?.contains("ends too early") ?? false, e.hint ?? "")

        let unterminated = try T.loadError(#"{"images": [{"id": 1, "file_name": "abc"#, in: self)
        XCTAssertTrue(unterminated.message.contains("closing '\"'"), unterminated.message)
    }

    func testTrailingGarbageAndOtherSyntaxErrors() throws {
        let valid = T.instances(annotations: [])
        let garbage = try T.loadError(valid + "\n  ]", in: self)
        XCTAssertTrue(garbage.message.contains("expected the end of the file after the top-level object, found ']'"), garbage.message)
        let lines = valid.split(separator: "\n", omittingEmptySubsequences: false).count
        XCTAssertTrue(garbage.location?.hasSuffix("(line \(lines + 1), column 3)") ?? false, garbage.location ?? "")

        let cases: [(String, String)] = [
            (#"{"images": [], "x": [1 2]}"#, "',' or ']'"),
            (#"{"images": [], "annotations": [{"id": 1,}]}"#, "a string key"),
            (#"{"images": [], "x": tru}"#, "'true'"),
            (#"{"images": [], "x": 01}"#, "',' or '}'"),
            (#"{"images": [], "x": -}"#, "a digit"),
            (#"{"images": [], "x": 1.}"#, "a digit after the decimal point"),
            (#"{"images": [], "x": "a\qb"}"#, "an escape"),
            ("{\"images\": [], \"x\": \"tab\there\"}", "no raw control character"),
            (#"{"images": [] "x": 1}"#, "',' or '}'"),
            (#"["images"]"#, "'{'"),
            (#"{"images": [], "x": [[[]]}"#, "',' or ']'"),
            ("{\"images\": [], \"x\": " + String(repeating: "[", count: 600) + String(repeating: "]", count: 600) + "}", "at most 512 nested"),
        ]
        for (text, expected) in cases {
            let e = try T.loadError(text, in: self)
            XCTAssertTrue(e.message.contains("invalid JSON: expected \(expected)"), "\(text): \(e.message)")
            XCTAssertTrue(e.location?.hasPrefix("byte ") ?? false)
        }
    }

    func testInvalidUTF8ByteOrderMarkAndCRLF() throws {
        var bytes = Array(#"{"images": [{"id": 1, "file_name": "a"#.utf8)
        bytes += [0xC3, 0x28]  // an invalid UTF-8 sequence
        bytes += Array(#".jpg", "width": 1, "height": 1}]}"#.utf8)
        let url = try T.write("", in: self)
        try Data(bytes).write(to: url)
        XCTAssertThrowsError(try COCOReader.load(instances: url)) { error in
            let e = error as? DatasetError
            XCTAssertTrue(e?.message.contains("valid UTF-8") ?? false, "\(error)")
            XCTAssertEqual(e?.location, "byte 36 (line 1, column 37)", "the string's first byte")
        }

        let bom = try T.write("\u{FEFF}" + T.instances(annotations: [T.annotation(id: 1)]), in: self)
        XCTAssertEqual(try COCOReader.load(instances: bom).annotations.count, 1, "a UTF-8 byte order mark is skipped")

        let crlf = try T.loadError("{\"images\": [],\r\n\"x\": ?}", in: self)
        XCTAssertEqual(crlf.location, "byte 21 (line 2, column 6)")
    }

    func testSparseIdsUseTheHashIndexToo() throws {
        let images = [#"{"id": 5, "file_name": "a", "width": 9, "height": 9}"#,
                      #"{"id": 9000000000000, "file_name": "b", "width": 9, "height": 9}"#]
        let d = try COCOReader.load(instances: T.write(T.instances(
            annotations: [T.annotation(id: 1, image: 9_000_000_000_000), T.annotation(id: 2, image: 5), T.annotation(id: 3, image: 6)],
            images: images), in: self))
        XCTAssertEqual(d.annotations.map(\.imageId), [9_000_000_000_000, 5])
        XCTAssertEqual(d.issues.map(\.kind), [.unknownImage])

        let duplicate = try T.loadError(T.instances(annotations: [], images: images + [#"{"id": 9000000000000, "file_name": "c", "width": 1, "height": 1}"#]), in: self)
        XCTAssertEqual(duplicate.message, "duplicate image id 9000000000000: image #1 has the same id")
        XCTAssertTrue(duplicate.location?.hasPrefix("image #2 (id 9000000000000), byte ") ?? false)
    }

    func testEmptyFileAndMissingFile() throws {
        let empty = try T.loadError("", in: self)
        XCTAssertTrue(empty.message.contains("empty"), empty.message)

        let missing = URL(fileURLWithPath: "/nonexistent/instances.json")
        XCTAssertThrowsError(try COCOReader.load(instances: missing)) { error in
            let e = error as? DatasetError
            XCTAssertEqual(e?.file, missing.path)
            XCTAssertTrue(e?.message.contains("No such file") ?? false, "\(error)")
        }
    }

    // MARK: Wrong types and missing fields

    func testWrongTypeNamesTheRecordByIdEvenWhenTheIdComesLater() throws {
        let text = T.instances(annotations: [
            T.annotation(id: 1),
            #"{"bbox": "1,2,3,4", "image_id": 1, "category_id": 1, "id": 42}"#,
        ])
        let e = try T.loadError(text, in: self)
        XCTAssertTrue(e.location?.hasPrefix("annotation #1 (id 42), byte ") ?? false, e.location ?? "")
        XCTAssertEqual(e.message, "field \"bbox\" must be an array of 4 numbers [x, y, width, height], found a string")

        let short = try T.loadError(T.instances(annotations: [T.annotation(id: 7, bbox: "[1, 2, 3]")]), in: self)
        XCTAssertTrue(short.message.contains("found 3 values"), short.message)
        let mixed = try T.loadError(T.instances(annotations: [T.annotation(id: 7, bbox: #"[1, 2, "3", 4]"#)]), in: self)
        XCTAssertTrue(mixed.message.contains("found a string in it"), mixed.message)
        let name = try T.loadError(T.instances(annotations: [], categories: [#"{"id": 1, "name": 5}"#]), in: self)
        XCTAssertTrue(name.location?.hasPrefix("category #0 (id 1)") ?? false)
        XCTAssertEqual(name.message, "field \"name\" must be a string, found a number")
        let list = try T.loadError(#"{"images": {"id": 1}}"#, in: self)
        XCTAssertTrue(list.message.contains("\"images\" must be an array of image records, found an object"), list.message)
    }

    func testMissingRequiredFields() throws {
        let cases: [(String, String, String)] = [
            (T.instances(annotations: [#"{"id": 9, "image_id": 1, "category_id": 1}"#]), "annotation #0 (id 9)", "\"bbox\""),
            (T.instances(annotations: [#"{"image_id": 1, "category_id": 1, "bbox": [1, 1, 1, 1]}"#]), "annotation #0,", "\"id\""),
            (T.instances(annotations: [T.annotation(id: 1), #"{"id": 2, "category_id": 1, "bbox": [1, 1, 1, 1]}"#]), "annotation #1 (id 2)", "\"image_id\""),
            (T.instances(annotations: [], images: [#"{"id": 4, "width": 1, "height": 1}"#]), "image #0 (id 4)", "\"file_name\""),
            (T.instances(annotations: [], images: [#"{"id": 4, "file_name": "a", "width": 1}"#]), "image #0 (id 4)", "\"height\""),
            (T.instances(annotations: [], categories: [#"{"name": "x"}"#]), "category #0,", "\"id\""),
        ]
        for (text, record, field) in cases {
            let e = try T.loadError(text, in: self)
            XCTAssertTrue(e.location?.hasPrefix(record) ?? false, "\(e.location ?? "nil") should name \(record)")
            XCTAssertEqual(e.message, "required field \(field) is missing")
        }
        let noImages = try T.loadError(#"{"annotations": [], "categories": []}"#, in: self)
        XCTAssertTrue(noImages.message.contains("no \"images\""), noImages.message)
        let noCategories = try T.loadError(#"{"images": [{"id": 1, "file_name": "a", "width": 1, "height": 1}], "annotations": [\#(T.annotation(id: 1))]}"#, in: self)
        XCTAssertTrue(noCategories.message.contains("no \"categories\""), noCategories.message)
        let zero = try T.loadError(T.instances(annotations: [], images: [#"{"id": 4, "file_name": "a", "width": 0, "height": 5}"#]), in: self)
        XCTAssertTrue(zero.message.contains("0x5 is not positive"), zero.message)
        let provenance = try T.loadError(T.instances(annotations: [], images: [#"{"id": 4, "file_name": "a", "width": 1, "height": 1, "reference_image_id": 3, "variant": 0}"#]), in: self)
        XCTAssertEqual(provenance.message, "required field \"seed\" is missing")
    }

    // MARK: Duplicates

    func testDuplicateImageIdsNameBothPositions() throws {
        let e = try T.loadError(T.instances(annotations: [], images: [
            #"{"id": 5, "file_name": "a.jpg", "width": 1, "height": 1}"#,
            #"{"id": 6, "file_name": "b.jpg", "width": 1, "height": 1}"#,
            #"{"id": 5, "file_name": "c.jpg", "width": 1, "height": 1}"#,
        ]), in: self)
        XCTAssertTrue(e.location?.hasPrefix("image #2 (id 5), byte ") ?? false, e.location ?? "")
        XCTAssertEqual(e.message, "duplicate image id 5: image #0 has the same id")
    }

    func testDuplicateCategoryAndAnnotationIds() throws {
        let cat = try T.loadError(T.instances(annotations: [], categories: [#"{"id": 3, "name": "a"}"#, #"{"id": 3, "name": "b"}"#]), in: self)
        XCTAssertTrue(cat.location?.hasPrefix("category #1 (id 3)") ?? false)
        XCTAssertEqual(cat.message, "duplicate category id 3: category #0 (\"a\") has the same id")

        let ann = try T.loadError(T.instances(annotations: [T.annotation(id: 9), T.annotation(id: 4), T.annotation(id: 1), T.annotation(id: 4)]), in: self)
        XCTAssertEqual(ann.location, "annotation #3 (id 4)")
        XCTAssertEqual(ann.message, "duplicate annotation id 4: annotation #1 has the same id")
        XCTAssertTrue(ann.hint?.contains("unique") ?? false)

        let twice = try T.loadError(#"{"images": [], "images": []}"#, in: self)
        XCTAssertTrue(twice.message.contains("\"images\" appears twice"), twice.message)
    }

    // MARK: Survivable problems become issues

    func testUnknownImageAndCategoryAreSkippedWithIssues() throws {
        let url = try T.write(T.instances(annotations: [
            T.annotation(id: 1), T.annotation(id: 2, image: 77), T.annotation(id: 3, category: 2), T.annotation(id: 4, image: 2, category: 3),
        ]), in: self)
        let d = try COCOReader.load(instances: url)
        XCTAssertEqual(d.annotations.map(\.id), [1, 4])
        XCTAssertEqual(d.issues.map(\.kind), [.unknownImage, .unknownCategory])
        XCTAssertEqual(d.issues.map(\.record), ["annotation #1 (id 2)", "annotation #2 (id 3)"])
        XCTAssertEqual(d.issues.map(\.file), [url.path, url.path])
        XCTAssertTrue(d.issues[0].message.contains("image id 77"))
        XCTAssertTrue(d.issues[1].message.contains("category id 2"))
    }

    func testBoxesAreClippedOrDropped() throws {
        // Image 1 is 100x50.
        let d = try COCOReader.load(instances: T.write(T.instances(annotations: [
            T.annotation(id: 1, bbox: "[10, 10, 0, 5]"),                                  // zero width: dropped
            T.annotation(id: 2, bbox: "[10, 10, 5, -1]"),                                 // negative height: dropped
            T.annotation(id: 3, bbox: "[90, 40, 20, 20]", extra: #", "area": 1000"#),   // clipped to 10x10, area capped at 100
            T.annotation(id: 4, bbox: "[-5, -5, 10, 10]", extra: #", "area": 20"#),     // clipped to 5x5, area 20 kept
            T.annotation(id: 5, bbox: "[100, 0, 10, 10]"),                                // touches only the edge: dropped
            T.annotation(id: 6, bbox: "[-20, 0, 10, 10]"),                                // entirely outside: dropped
            T.annotation(id: 7, bbox: "[0, 0, 100, 50]"),                                 // exactly the image: kept as is
        ]), in: self))
        XCTAssertEqual(d.annotations.map(\.id), [3, 4, 7])
        XCTAssertEqual(d.annotations.map(\.bbox), [
            BoundingBox(x: 90, y: 40, width: 10, height: 10), BoundingBox(x: 0, y: 0, width: 5, height: 5),
            BoundingBox(x: 0, y: 0, width: 100, height: 50),
        ])
        XCTAssertEqual(d.annotations.map(\.area), [100, 20, 5000])
        XCTAssertEqual(d.issues.map(\.kind), [.boxDropped, .boxDropped, .boxClipped, .boxClipped, .boxDropped, .boxDropped])
        XCTAssertEqual(d.issues.map(\.record), (1...6).map { "annotation #\($0 - 1) (id \($0))" })
        XCTAssertEqual(d.issues[2].message, "box [90, 40, 20, 20] extends outside its 100x50 image; clipped to [90, 40, 10, 10]")
        XCTAssertTrue(d.issues[5].message.contains("entirely outside"), d.issues[5].message)
    }

    func testUnsafeFileNamesAreRefusedWithTheirAnnotationsAndCaptions() throws {
        let images = [
            #"{"id": 1, "file_name": "ok/a.jpg", "width": 10, "height": 10}"#,
            #"{"id": 2, "file_name": "../etc/passwd", "width": 10, "height": 10}"#,
            #"{"id": 3, "file_name": "/abs/b.jpg", "width": 10, "height": 10}"#,
            #"{"id": 4, "file_name": "a\\b.jpg", "width": 10, "height": 10}"#,
            #"{"id": 5, "file_name": "a\u0000b.jpg", "width": 10, "height": 10}"#,
            #"{"id": 6, "file_name": "ok/../../x.jpg", "width": 10, "height": 10}"#,
            #"{"id": 7, "file_name": "..hidden/...jpg", "width": 10, "height": 10}"#,
        ]
        let instances = T.instances(annotations: [T.annotation(id: 1, image: 2), T.annotation(id: 2, image: 1),
                                                  T.annotation(id: 3, image: 2), T.annotation(id: 4, image: 7)], images: images)
        let captions = #"{"annotations": [{"id": 1, "image_id": 2, "caption": "x"}, {"id": 2, "image_id": 7, "caption": "y"}]}"#
        let d = try COCOReader.load(instances: T.write(instances, in: self), captions: T.write(captions, name: "captions.json", in: self))
        XCTAssertEqual(d.images.map(\.id), [1, 7])
        XCTAssertEqual(d.annotations.map(\.id), [2, 4])
        XCTAssertEqual(d.captions.map(\.id), [2], "captions of refused images are skipped, not reported as unknown")
        XCTAssertEqual(d.issues.map(\.kind), Array(repeating: .unsafePath, count: 5))
        XCTAssertEqual(d.issues.map(\.record), ["image #1 (id 2)", "image #2 (id 3)", "image #3 (id 4)", "image #4 (id 5)", "image #5 (id 6)"])
        XCTAssertEqual(d.issues[0].message, "file name \"../etc/passwd\" has a '..' component: refused: would read outside the image root; "
                       + "file names must be relative paths inside the image root (its 2 annotations were skipped too)")
        XCTAssertTrue(d.issues[1].message.contains("absolute"))
        XCTAssertTrue(d.issues[2].message.contains("backslash"))
        XCTAssertTrue(d.issues[3].message.contains("NUL"))
    }

    func testFileNameSafetyRules() {
        for ok in ["a.jpg", "dir/a.jpg", "...", "a..b/c", ".hidden", "./a.jpg", "a/./b"] {
            XCTAssertNil(ImageFileNameSafety.refusal(for: ok), ok)
        }
        for bad in ["..", "../a", "a/..", "a/../b", "/a", "", "a\\b", "a\u{0}b", "a//../b"] {
            XCTAssertNotNil(ImageFileNameSafety.refusal(for: bad), bad)
        }
    }

    func testCaptionErrors() throws {
        let instances = try T.write(T.instances(annotations: []), in: self)
        let captions = try T.write(#"{"annotations": [{"id": 1, "image_id": 1}]}"#, name: "captions.json", in: self)
        XCTAssertThrowsError(try COCOReader.load(instances: instances, captions: captions)) { error in
            let e = error as? DatasetError
            XCTAssertEqual(e?.file, captions.path)
            XCTAssertEqual(e?.message, "required field \"caption\" is missing")
            XCTAssertTrue(e?.location?.hasPrefix("caption #0 (id 1)") ?? false)
        }
        let notCaptions = try T.write(#"{"images": []}"#, name: "captions.json", in: self)
        XCTAssertThrowsError(try COCOReader.load(instances: instances, captions: notCaptions)) { error in
            XCTAssertTrue((error as? DatasetError)?.hint?.contains("captions file") ?? false, "\(error)")
        }
    }

    func testDecodeFromMemoryMatchesLoad() throws {
        let url = try T.fixture("instances_tiny")
        let bytes = try Array(Data(contentsOf: url))
        let fromMemory = try COCOReader.decode(instances: bytes, file: "mem.json")
        let fromFile = try COCOReader.load(instances: url)
        XCTAssertEqual(fromMemory.images, fromFile.images)
        XCTAssertEqual(fromMemory.annotations, fromFile.annotations)
        XCTAssertEqual(fromMemory.categories, fromFile.categories)
    }
}
