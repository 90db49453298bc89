import Foundation
import Support

/// What a run root holds: for each shard of its count, whether its run directory is missing, unfinished,
/// finished, or belongs to another plan. `dataengine merge` refuses anything but all finished; `dataengine
/// status` shows it.
public struct ShardInventory: Sendable {
    public enum State: Sendable, Equatable {
        case missing
        /// Started, not finished: units done so far of those known.
        case unfinished(done: Int, known: Int)
        case finished
        /// Every unit before a rounds stage's next round committed: `merge` plans that round from every shard.
        case waiting(stage: String, round: Int)
        /// A run directory whose plan, inputs, models or kernel path differ from shard 0's (or from shards.json).
        case different(String)
    }

    public struct Shard: Sendable {
        public var spec: ShardSpec
        public var directory: RunDirectory
        public var state: State
        /// The plan the shard ran (nil when missing or unreadable).
        public var plan: ResolvedPlan?
        public var fingerprint: Fingerprint?
        /// Source items and images written so far.
        public var items: Int?
        public var imagesWritten: Int
        /// Seconds the shard's processes have run (`times/`), and when its last unit committed.
        public var seconds: Double
        public var lastChange: Date?
    }

    public let root: URL
    public let count: Int
    public let shards: [Shard]

    public var missing: [Shard] { shards.filter { $0.state == .missing } }
    public var unfinished: [Shard] { shards.filter { if case .unfinished = $0.state { return true }; return false } }
    public var different: [Shard] { shards.filter { if case .different = $0.state { return true }; return false } }
    public var allFinished: Bool { shards.allSatisfy { $0.state == .finished } }

    /// The round every shard that is not finished waits for (one stage, one round), if that is where they all are.
    public var awaitedRound: (stage: String, round: Int)? {
        var awaited: (stage: String, round: Int)?
        for shard in shards {
            switch shard.state {
            case .finished: continue
            case .waiting(let stage, let round):
                if let awaited, awaited != (stage, round) { return nil }
                awaited = (stage, round)
            default: return nil
            }
        }
        return awaited
    }

    /// Reads `root/shards.json` and every shard's run directory.
    public init(root: URL, catalog: StageCatalog) throws {
        self.root = root
        let file = root.appendingPathComponent("shards.json")
        guard let data = FileManager.default.contents(atPath: file.path) else {
            throw PipelineError(message: "\(root.path) is not a run root: it has no shards.json",
                                hint: "a run root is the --run-root of `dataengine run PIPELINE --shard auto|i/n --run-root DIR`")
        }
        let registered: ShardRoot
        do {
            registered = try JSONDecoder().decode(ShardRoot.self, from: data)
        } catch {
            throw PipelineError(message: "\(file.path) cannot be read: \(error)", hint: "it is written by the first shard's task; restore it")
        }
        count = registered.count
        var shards: [Shard] = []
        var reference: Fingerprint?
        for index in 0..<registered.count {
            let spec = try ShardSpec(index: index, count: registered.count)
            var shard = Shard(spec: spec, directory: RunDirectory(root.appendingPathComponent(spec.directoryName)), state: .missing,
                              imagesWritten: 0, seconds: 0)
            Self.inspect(&shard, registered: registered, reference: &reference, catalog: catalog)
            shards.append(shard)
        }
        self.shards = shards
    }

    static func inspect(_ shard: inout Shard, registered: ShardRoot, reference: inout Fingerprint?, catalog: StageCatalog) {
        let directory = shard.directory
        guard directory.exists else { return }
        let stored: (plan: ResolvedPlan, unsharded: ResolvedPlan, shard: ShardSpec?)
        do {
            stored = try PipelineRun.storedPlan(directory, catalog: catalog)
        } catch {
            shard.state = .different("its pipeline cannot be read: \(error)")
            return
        }
        shard.plan = stored.plan
        guard stored.shard == shard.spec else {
            shard.state = .different("it ran shard \(stored.shard.map(\.description) ?? "none"), not \(shard.spec)")
            return
        }
        guard let root = try? ShardRoot(count: registered.count, plan: stored.unsharded), root.plan == registered.plan else {
            shard.state = .different("it ran another pipeline than shards.json records (the resolved plan differs)")
            return
        }
        guard let fingerprint = try? decodeJSON(Fingerprint.self, from: directory.fingerprintFile) else {
            shard.state = .different("its fingerprint.json is missing or unreadable")
            return
        }
        shard.fingerprint = fingerprint
        if let reference {
            var differences = fingerprint.differences(from: reference).filter { !$0.hasPrefix("the pipeline") }
            if fingerprint.kernel != reference.kernel {
                differences.append("its kernel path is \(fingerprint.kernel ?? "unrecorded"), shard 0's \(reference.kernel ?? "unrecorded") (pin OPENBLAS_CORETYPE or use identical CPUs)")
            }
            if !differences.isEmpty {
                shard.state = .different(differences.joined(separator: "; "))
                return
            }
        } else {
            reference = fingerprint
        }
        let progress = PipelineRun.progress(of: directory, plan: stored.plan)
        shard.items = progress.items
        shard.imagesWritten = progress.imagesWritten
        shard.seconds = ProcessTimes.recorded(in: directory)
        shard.lastChange = progress.lastChange
        let finished = FileManager.default.fileExists(atPath: directory.reportJSON.path) && progress.done == progress.known && progress.known > 0
        if finished {
            shard.state = .finished
        } else if let awaited = progress.awaited {
            shard.state = .waiting(stage: awaited.stage, round: awaited.round)
        } else {
            shard.state = .unfinished(done: progress.done, known: progress.known)
        }
    }

    /// One line per shard that is not finished, for error messages.
    public func problems() -> [String] {
        shards.compactMap { shard in
            switch shard.state {
            case .finished: return nil
            case .missing: return "shard \(shard.spec) is missing (\(shard.directory.path) holds no run)"
            case .unfinished(let done, let known): return "shard \(shard.spec) is unfinished (\(done) of \(known) units known so far): \(shard.directory.path)"
            case .different(let why): return "shard \(shard.spec) differs: \(why) (\(shard.directory.path))"
            case .waiting(let stage, let round): return "shard \(shard.spec) waits for round \(round) of `\(stage)`, which is planned once every shard got there"
            }
        }
    }
}
