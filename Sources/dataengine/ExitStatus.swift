import ArgumentParser
import Foundation
import Datasets
import Pipeline
import Stages
import Support

/// Turns any error into one clear message on stderr and the documented exit code:
/// 0 done, 1 failed, 2 bad usage or bad pipeline file, 3 shards unfinished (`status`) or a round planned (`merge`),
/// 130 interrupted.
enum ExitStatus {
    static func report(_ error: Error) -> Int32 {
        let code = DataEngineCommand.exitCode(for: error)
        switch error {
        case let exit as ExitCode:
            // A command's own status (`status`: 3 while shards are unfinished); it printed what to say.
            return exit.rawValue
        case is RoundPlanned:
            // `merge` planned a quota round: the shards run again, then merge again.
            printError("\(error)")
            return 3
        case is RunInterrupted:
            printError("\(error)")
            return 130
        case is ConfigError:
            printError("error: \(error)")
            return 2
        case is PipelineError, is DatasetError, is StageError, is AtomicFile.WriteError:
            printError("error: \(error)")
            return 1
        default:
            if code == .success {
                // --help, --version: ArgumentParser prints them.
                DataEngineCommand.exit(withError: error)
            }
            if code == .validationFailure || code.rawValue == 64 {
                printError(DataEngineCommand.fullMessage(for: error))
                return 2
            }
            printError("error: \(error)")
            return 1
        }
    }

    static func printError(_ text: String) {
        FileHandle.standardError.write(Data((text.hasSuffix("\n") ? text : text + "\n").utf8))
    }
}
