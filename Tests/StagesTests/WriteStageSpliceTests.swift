import Foundation
import XCTest
@testable import Stages

/// The record edits a COCO splice makes: an image's unit folder, a caption's id; anything not written the way
/// the COCO writer writes it is refused (the merge then places units instead).
final class WriteStageSpliceTests: XCTestCase {
    func edited(_ record: String, _ edit: (UnsafeRawBufferPointer, Range<Int>, inout [UInt8]) -> Bool) -> String? {
        let file = Array(("xx" + record + ",\n").utf8)
        var out: [UInt8] = []
        guard file.withUnsafeBytes({ edit($0, 2..<(2 + record.utf8.count), &out) }) else { return nil }
        return String(decoding: out, as: UTF8.self)
    }

    func testAnImageRecordMovesToItsUnshardedUnitFolder() {
        let record = #"{"id": -12, "file_name": "shard-00003/a b.jpg", "width": 1, "height": 2}"#
        XCTAssertEqual(edited(record) { WriteStage.appendImageRecord($0, $1, unit: 17, into: &$2) },
                       #"{"id": -12, "file_name": "shard-00017/a b.jpg", "width": 1, "height": 2}"#)
        XCTAssertEqual(edited(record) { WriteStage.appendImageRecord($0, $1, unit: 123_456, into: &$2) },
                       #"{"id": -12, "file_name": "shard-123456/a b.jpg", "width": 1, "height": 2}"#)
        for foreign in [#"{"id": 1, "file_name": "references/a.jpg"}"#, #"{"file_name": "shard-00003/a.jpg", "id": 1}"#,
                        #"{"id": 1, "file_name": "shard-00003"}"#, #"{"id": "#] {
            XCTAssertNil(edited(foreign) { WriteStage.appendImageRecord($0, $1, unit: 1, into: &$2) }, foreign)
        }
    }

    func testACaptionIsNumberedAgain() {
        XCTAssertEqual(edited(#"{"id": 3, "image_id": 7, "caption": "x"}"#) { WriteStage.appendRenumbered($0, $1, id: 1042, into: &$2) },
                       #"{"id": 1042, "image_id": 7, "caption": "x"}"#)
        XCTAssertNil(edited(#"{"image_id": 7, "id": 3}"#) { WriteStage.appendRenumbered($0, $1, id: 1, into: &$2) })
    }

    func testIdsMustBeUniqueAcrossShards() {
        XCTAssertTrue(WriteStage.idsAreUnique([[3, 1], [], [2, 7]]))
        XCTAssertFalse(WriteStage.idsAreUnique([[3, 1], [2, 3]]))
        XCTAssertEqual(WriteStage.starts([2, 0, 3, 1]), [0, 2, 2, 5])
    }
}
