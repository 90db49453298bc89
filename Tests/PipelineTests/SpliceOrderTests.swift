import Foundation
import XCTest
@testable import Pipeline

/// The order a splice puts the shards' sink outputs in: by the unsharded rank of the source item each came from,
/// then by shard and index; each item in the unit of its source item. Keys that do not fit together give nil.
final class SpliceOrderTests: XCTestCase {
    func testItemsFollowTheirSourceItemsRankAndUnit() throws {
        // Positions 0...4 over two shards (0, 2, 4 and 1, 3); position 3 was skipped by the source (not loaded).
        let shard0 = SpliceKeys(sourceIds: [10, 12, 14], sourcePositions: [0, 2, 5], itemKeys: [0, 0, 5, 2])
        let shard1 = SpliceKeys(sourceIds: [11], sourcePositions: [1], itemKeys: [1, 1])
        let order = try XCTUnwrap(ShardMerge.spliceOrder([shard0, shard1], batchSize: 2))
        XCTAssertEqual(order.sourceItems, 4)
        XCTAssertEqual(order.sequence.map { [$0.shard, $0.item] }, [[0, 0], [0, 1], [1, 0], [1, 1], [0, 3], [0, 2]])
        // Ranks: position 0 -> 0, 1 -> 1, 2 -> 2, 5 -> 3; units of 2.
        XCTAssertEqual(order.units, [[0, 0, 1, 1], [0, 0]])

        let url = FileManager.default.temporaryDirectory.appendingPathComponent("keys-\(UUID().uuidString).bin")
        defer { try? FileManager.default.removeItem(at: url) }
        try shard0.write(to: url)
        XCTAssertEqual(try SpliceKeys.read(url), shard0)
    }

    func testAnImageInTwoShardsOrAnItemFromNoSourceIsNotSpliced() {
        let shard0 = SpliceKeys(sourceIds: [10], sourcePositions: [0], itemKeys: [0])
        XCTAssertNil(ShardMerge.spliceOrder([shard0, SpliceKeys(sourceIds: [10], sourcePositions: [1], itemKeys: [])], batchSize: 8))
        XCTAssertNil(ShardMerge.spliceOrder([shard0, SpliceKeys(sourceIds: [11], sourcePositions: [0], itemKeys: [])], batchSize: 8))
        XCTAssertNil(ShardMerge.spliceOrder([shard0, SpliceKeys(sourceIds: [11], sourcePositions: [1], itemKeys: [7])], batchSize: 8))
    }
}
