import Datasets
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
import Support
#endif

/// Runs the built `dataengine` executable as a child process.
enum CLIHarness {
    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    static var executable: URL {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("dataengine")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        for config in ["release", "debug"] {
            let candidate = repositoryRoot.appendingPathComponent(".build/\(config)/dataengine")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return repositoryRoot.appendingPathComponent(".build/debug/dataengine")
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func start(_ arguments: [String], environment: [String: String] = [:], directory: URL? = nil) throws -> (Process, Pipe, Pipe) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        return (process, out, err)
    }

    @discardableResult
    static func run(_ arguments: [String], environment: [String: String] = [:], directory: URL? = nil) throws -> Result {
        let (process, out, err) = try start(arguments, environment: environment, directory: directory)
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// A tiny model folder with an adapter at `folder`: the sd2-like parity model (random weights, VAE factor 4)
    /// and the random `detect-sd2-like` adapter for the demo dataset's five classes.
    static func makeTinyModel(at folder: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let parity = repositoryRoot.appendingPathComponent("Tests/DiffusionTests/Fixtures/parity/sd2-like")
        for part in ["model_index.json", "scheduler", "text_encoder", "tokenizer", "unet", "vae"] {
            try FileManager.default.copyItem(at: parity.appendingPathComponent(part), to: folder.appendingPathComponent(part))
        }
        try FileManager.default.copyItem(at: repositoryRoot.appendingPathComponent("Tests/AdapterTests/Fixtures/detect-sd2-like/adapter"),
                                         to: folder.appendingPathComponent("adapter"))
    }

    /// Runs `pipeline` into `dir` and SIGKILLs it `kills` times at seeded random moments `minDelay` + [0, `spread`)
    /// microseconds after each start (units slowed by `unitDelayMs`), resuming with `resumeWorkers` in between;
    /// then finishes the run. Returns the finishing run and how many kills landed while the run was in progress.
    static func runKilling(pipeline: String, dir: String, kills: Int, random: inout SeededRandom, unitDelayMs: Int,
                           minDelay: UInt32, spread: UInt64, resumeWorkers: Int) throws -> (finish: Result, killedMidRun: Int) {
        var arguments = ["run", pipeline, "--run-dir", dir, "--workers", "2"]
        var killedMidRun = 0
        for _ in 0..<kills {
            let (process, _, _) = try start(arguments, environment: ["DATAENGINE_UNIT_DELAY_MS": "\(unitDelayMs)"])
            usleep(minDelay + UInt32(random.next() % spread))
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            if process.terminationReason == .uncaughtSignal && !FileManager.default.fileExists(atPath: dir + "/report.json") { killedMidRun += 1 }
            arguments = FileManager.default.fileExists(atPath: dir + "/plan.json") ? ["resume", dir, "--workers", "\(resumeWorkers)"]
                : ["run", pipeline, "--run-dir", dir, "--workers", "2"]
        }
        let finish = try run(FileManager.default.fileExists(atPath: dir + "/plan.json") ? ["resume", dir] : ["run", pipeline, "--run-dir", dir])
        return (finish, killedMidRun)
    }

    /// Every regular file under `root`, by relative path.
    static func files(under root: URL) -> [String: Data] {
        var files: [String: Data] = [:]
        for rel in FileManager.default.subpaths(atPath: root.path) ?? [] {
            var isDir: ObjCBool = false
            let path = root.appendingPathComponent(rel).path
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue { files[rel] = FileManager.default.contents(atPath: path) }
        }
        return files
    }
}
