import Foundation
import XCTest
@testable import Support

final class JSONValueTests: XCTestCase {
    func testPythonNonFiniteTokensReadAsNumbersOutsideStringsOnly() throws {
        let text = #"{"a": -Infinity, "b": "NaN", "c": [Infinity, NaN], "d": "x -Infinity y", "e": 1}"#
        guard case .failure = JSONValue.parse(Data(text.utf8)) else { return XCTFail("strict JSON has no Infinity") }
        let value = try JSONValue.parse(Data(text.utf8), allowingPythonNonFinite: true).get()
        XCTAssertEqual(value["a"]?.doubleValue, -.infinity)
        XCTAssertEqual(value["b"]?.stringValue, "NaN", "a string stays a string")
        XCTAssertEqual(value["c"]?.arrayValue?.first?.doubleValue, .infinity)
        XCTAssertTrue(value["c"]?.arrayValue?.last?.doubleValue?.isNaN ?? false)
        XCTAssertEqual(value["d"]?.stringValue, "x -Infinity y")
        XCTAssertEqual(value["e"]?.intValue, 1)
    }

    /// Replay of fuzz crash model-config/crash-7605f053…: invalid UTF-8 inside a config that the strict parser
    /// refuses. The JSON5 fallback used before trapped in Foundation (CodableUtilities.swift:685).
    func testInvalidUTF8IsAnErrorNotATrap() {
        var bytes = Array(#"{"calibration": {"recall": 0.281, "#.utf8)
        bytes += [UInt8](repeating: 0xFF, count: 19)
        bytes += Array(#""label_mode": "taps", "x": -Infinity}}"#.utf8)
        guard case .failure(let failure) = JSONValue.parse(Data(bytes), allowingPythonNonFinite: true) else {
            return XCTFail("invalid UTF-8 must not parse")
        }
        XCTAssertFalse(failure.reason.isEmpty)
    }
}
