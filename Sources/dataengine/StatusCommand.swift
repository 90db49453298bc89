import ArgumentParser
import Foundation
import Pipeline
import Stages

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show how far the shards of a run root are.",
        discussion: """
            Reads the run root without writing: shards finished, running (changed in the last --stale \
            minutes), stalled and missing, units done, images written and an ETA from the units' pace so far. \
            Exits 0 when every shard is finished, 3 otherwise.

            Example:
              dataengine status runs/demo-sharded
            """)

    @Argument(help: "The run root: the --run-root the shards ran with.")
    var runRoot: String

    @Option(help: "Minutes without a committed unit after which an unfinished shard counts as stalled, not running.")
    var stale: Double = 30

    func run() throws {
        let inventory = try ShardInventory(root: URL(fileURLWithPath: runRoot), catalog: .builtIn)
        let now = Date()
        var finished = 0, running = 0, stalled = 0, missing = 0, different = 0, waiting = 0
        var unitsDone = 0, unitsKnown = 0, images = 0, seconds = 0.0
        var rows: [String] = []
        for shard in inventory.shards {
            var state: String
            switch shard.state {
            case .finished:
                finished += 1
                state = "finished"
            case .missing:
                missing += 1
                state = "missing"
            case .waiting(let stage, let round):
                waiting += 1
                state = "waiting for round \(round) of `\(stage)` (planned by merge once every shard got there)"
            case .different(let why):
                different += 1
                state = "different: \(why)"
            case .unfinished(let done, let known):
                unitsDone += done
                unitsKnown += known
                if let last = shard.lastChange, now.timeIntervalSince(last) < stale * 60 {
                    running += 1
                    state = "running, \(done)/\(known) units"
                } else {
                    stalled += 1
                    state = "stalled, \(done)/\(known) units"
                }
            }
            images += shard.imagesWritten
            seconds += shard.seconds
            rows.append("  \(shard.spec.directoryName)  \(state)" + (shard.imagesWritten > 0 ? ", \(shard.imagesWritten) images" : ""))
        }
        print("\(inventory.root.path): \(inventory.count) shards: \(finished) finished, \(running) running, \(stalled) stalled, \(missing) missing"
              + (waiting > 0 ? ", \(waiting) waiting for a round plan" : "") + (different > 0 ? ", \(different) different" : ""))
        if let (stage, round) = inventory.awaitedRound {
            print("every shard is done up to round \(round) of `\(stage)`: `dataengine merge \(runRoot) --out DIR` plans it (exit 3), then run the shards again")
        }
        print("images written by finished shards (all write stages): \(images); \(String(format: "%.1f", seconds / 3600)) machine-hours so far")
        if finished < inventory.count, finished > 0 {
            // The finished shards' pace, applied to what is left, spread over the shards running now.
            let perShard = inventory.shards.filter { $0.state == .finished }.map(\.seconds).reduce(0, +) / Double(finished)
            let left = Double(inventory.count - finished) * perShard - inventory.shards.filter { $0.state != .finished }.map(\.seconds).reduce(0, +)
            let parallel = Double(max(1, running))
            print("ETA: about \(Self.duration(max(0, left) / parallel)) with \(max(1, running)) shard\(running == 1 ? "" : "s") running")
        }
        for row in rows { print(row) }
        if finished < inventory.count { throw ExitCode(3) }
    }

    static func duration(_ seconds: Double) -> String {
        if seconds < 90 { return "\(Int(seconds.rounded())) s" }
        if seconds < 90 * 60 { return "\(Int((seconds / 60).rounded())) min" }
        return String(format: "%.1f h", seconds / 3600)
    }
}
