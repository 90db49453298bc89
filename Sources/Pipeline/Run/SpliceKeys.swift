import Foundation
import Support

/// What a shard's run records for splicing a sink's output in `merge` (`SplicingSink`): its source items' ids
/// and positions in the unsharded source, and for each of the sink's output items the position of the source
/// item it came from (itself, or the reference it was generated from). `splice/<stage>/keys.bin`.
struct SpliceKeys: Equatable {
    static let tag = "dataengine-splice-keys-1"

    var sourceIds: [Int]
    var sourcePositions: [Int]
    var itemKeys: [Int]

    static func file(in folder: URL) -> URL { folder.appendingPathComponent("keys.bin") }

    func write(to url: URL) throws {
        var out = BinaryWriter(tag: Self.tag)
        out.ints(sourceIds)
        out.ints(sourcePositions)
        out.ints(itemKeys)
        try AtomicFile.write(out.bytes, to: url)
    }

    static func read(_ url: URL) throws -> SpliceKeys {
        var reader = try BinaryReader(contentsOf: url, tag: tag)
        let keys = SpliceKeys(sourceIds: try reader.ints(), sourcePositions: try reader.ints(), itemKeys: try reader.ints())
        guard reader.isAtEnd, keys.sourceIds.count == keys.sourcePositions.count else {
            throw BinaryReader.Failure(file: url.path, message: "is damaged (\(keys.sourceIds.count) source ids for \(keys.sourcePositions.count) positions)")
        }
        return keys
    }
}

extension PipelineRun {
    /// The splice keys of a sink's output in a shard's run; nil when the run is not a shard, has a barrier (its
    /// sinks' order is not the source's) or an output item comes from no source item (merge then places units).
    func spliceKeys(units: [UnitOutput], reference: [UnitOutput]) -> SpliceKeys? {
        guard let positions = loadSummary?.positions, !graph.segments.contains(where: \.isBarrier) else { return nil }
        let sources = reference.flatMap(\.items)
        guard positions.count == sources.count else { return nil }
        var positionById: [Int: Int] = [:]
        positionById.reserveCapacity(sources.count)
        for (item, position) in zip(sources, positions) { positionById[item.image.id] = position }
        var keys: [Int] = []
        for unit in units {
            for item in unit.items {
                guard let key = positionById[item.reference?.image.id ?? item.image.id] else { return nil }
                keys.append(key)
            }
        }
        return SpliceKeys(sourceIds: sources.map(\.image.id), sourcePositions: positions, itemKeys: keys)
    }
}
