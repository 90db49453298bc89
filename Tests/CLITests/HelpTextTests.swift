import Foundation
import XCTest

/// `--help` reads well at 80 columns: examples never break mid-command, no option states its default twice, and
/// `--version` answers.
final class HelpTextTests: XCTestCase {
    let commands = [[], ["run"], ["resume"], ["merge"], ["status"], ["validate"], ["stats"], ["generate"], ["detect"], ["eval"],
                    ["bench"], ["bench", "load"], ["bench", "merge"], ["bench", "ops"], ["bench", "unet"], ["bench", "vae"]]

    func testExamplesFitAndNoDefaultIsStatedTwice() throws {
        for command in commands {
            let help = try CLIHarness.run(command + ["--help"])
            XCTAssertEqual(help.status, 0, help.stderr)
            var inExamples = false
            for line in help.stdout.split(separator: "\n", omittingEmptySubsequences: false) {
                if line.hasPrefix("Example") { inExamples = true; continue }
                if line.isEmpty { inExamples = false; continue }
                if inExamples {
                    XCTAssertTrue(line.hasPrefix("  "), "`dataengine \(command.joined(separator: " ")) --help`: an example broke at 80 columns: \(line)")
                }
            }
            let flat = help.stdout.replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "  ", with: " ")
            XCTAssertNil(flat.range(of: #"\(default:[^)]*\)\.? \(default:"#, options: .regularExpression),
                         "default stated twice in \(command): \(help.stdout)")
        }
    }

    func testVersion() throws {
        let result = try CLIHarness.run(["--version"])
        XCTAssertEqual(result.status, 0)
        XCTAssertTrue(result.stdout.range(of: #"^\d+\.\d+\.\d+\n$"#, options: .regularExpression) != nil, result.stdout)
    }
}
