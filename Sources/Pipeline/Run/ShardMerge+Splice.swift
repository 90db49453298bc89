import Foundation
import Support

extension ShardMerge {
    /// The shards' splice inputs of a sink and where its items go in the unsharded run; nil when a shard left no
    /// splice keys for it (a shard run by an older dataengine, a pipeline with a barrier) or the keys do not fit
    /// together (an image in two shards): the merge then places the sink's units itself, and reports the problem.
    func spliceOrder(stage: String, batchSize: Int) -> (inputs: [SpliceInput], order: SpliceOrder)? {
        var keys: [SpliceKeys] = []
        var inputs: [SpliceInput] = []
        for shard in inventory.shards {
            let folder = shard.directory.splice(of: stage)
            guard let k = try? SpliceKeys.read(SpliceKeys.file(in: folder)) else { return nil }
            keys.append(k)
            inputs.append(SpliceInput(parts: folder, output: shard.directory.output(of: stage)))
        }
        guard let order = Self.spliceOrder(keys, batchSize: batchSize) else { return nil }
        return (inputs, order)
    }

    /// `SourceOrder` and `regroup` for splicing: the unsharded rank of every source position, each output item's
    /// unit (its source item's rank / batch size) and the output items sorted by (rank, shard, index), which is the
    /// order `regroup` gives (all items of one source item come from the shard that holds it).
    static func spliceOrder(_ keys: [SpliceKeys], batchSize: Int) -> SpliceOrder? {
        var sources: [(position: Int, id: Int)] = []
        sources.reserveCapacity(keys.reduce(0) { $0 + $1.sourceIds.count })
        for k in keys { sources += zip(k.sourcePositions, k.sourceIds).map { ($0, $1) } }
        sources.sort { $0.position < $1.position }
        var rankOf: [Int: Int] = [:]
        rankOf.reserveCapacity(sources.count)
        var ids = Set<Int>()
        ids.reserveCapacity(sources.count)
        for (rank, source) in sources.enumerated() {
            guard rankOf.updateValue(rank, forKey: source.position) == nil, ids.insert(source.id).inserted else { return nil }
        }
        var units: [[Int]] = []
        var keyed: [(rank: Int, shard: Int, item: Int)] = []
        for (s, k) in keys.enumerated() {
            var shardUnits: [Int] = []
            shardUnits.reserveCapacity(k.itemKeys.count)
            for (i, key) in k.itemKeys.enumerated() {
                guard let rank = rankOf[key] else { return nil }
                shardUnits.append(rank / batchSize)
                keyed.append((rank, s, i))
            }
            units.append(shardUnits)
        }
        keyed.sort { ($0.rank, $0.shard, $0.item) < ($1.rank, $1.shard, $1.item) }
        return SpliceOrder(sequence: keyed.map { ($0.shard, $0.item) }, units: units, sourceItems: sources.count)
    }
}
