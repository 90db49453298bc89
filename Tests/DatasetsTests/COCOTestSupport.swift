import Foundation
import XCTest
@testable import Datasets

/// Helpers for the COCO tests: fixtures, temp files and error capture.
enum COCOTestSupport {
    static func fixture(_ name: String) throws -> URL {
        try XCTUnwrap(Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures/coco"),
                      "missing fixture \(name).json")
    }

    /// A fresh temp directory for one test, removed by the test case's teardown block.
    static func tempDirectory(_ test: XCTestCase) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("coco-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    /// Writes `text` to a temp file named `name` and returns its URL.
    static func write(_ text: String, name: String = "instances.json", in test: XCTestCase) throws -> URL {
        let url = try tempDirectory(test).appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url
    }

    /// Loads `text` as an instances file and returns the DatasetError it throws (failing if none).
    static func loadError(_ text: String, in test: XCTestCase, file: StaticString = #filePath, line: UInt = #line) throws -> DatasetError {
        let url = try write(text, in: test)
        do {
            _ = try COCOReader.load(instances: url)
        } catch let error as DatasetError {
            XCTAssertEqual(error.file, url.path, "the error names the file", file: file, line: line)
            XCTAssertNotNil(error.hint, "every error says how to fix it", file: file, line: line)
            return error
        }
        XCTFail("expected a DatasetError", file: file, line: line)
        throw CancellationError()
    }

    /// A minimal valid file with the given annotation records (images 1: 100x50 and 2: 640x480; categories 1, 3).
    static func instances(annotations: [String], images: [String]? = nil, categories: [String]? = nil) -> String {
        let imgs = images ?? [
            #"{"id": 1, "file_name": "a.jpg", "width": 100, "height": 50}"#,
            #"{"id": 2, "file_name": "b.jpg", "width": 640, "height": 480}"#,
        ]
        let cats = categories ?? [#"{"id": 1, "name": "person"}"#, #"{"id": 3, "name": "car"}"#]
        return """
        {"images": [\(imgs.joined(separator: ",\n"))],
        "annotations": [\(annotations.joined(separator: ",\n"))],
        "categories": [\(cats.joined(separator: ",\n"))]}
        """
    }

    static func annotation(id: Int, image: Int = 1, category: Int = 1, bbox: String = "[1, 2, 3, 4]", extra: String = "") -> String {
        #"{"id": \#(id), "image_id": \#(image), "category_id": \#(category), "bbox": \#(bbox)\#(extra)}"#
    }
}
