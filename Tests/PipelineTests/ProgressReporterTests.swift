import XCTest
@testable import Pipeline

final class ProgressReporterTests: XCTestCase {
    // Unchecked: the reporter calls its output closure with its own lock held.
    final class Lines: @unchecked Sendable { var all: [String] = [] }

    func testPlainLinesWhenAStageEndsAndRateWithETA() {
        let lines = Lines()
        let reporter = ProgressReporter(isTTY: false, interval: 3600, write: { lines.all.append($0) })
        reporter.begin(stages: ["load", "filter"])
        reporter.update(units: [(0, 1), (0, nil)], batchSize: 10)
        XCTAssertEqual(lines.all.count, 1, "the first update prints")
        reporter.update(units: [(1, 1), (0, 4)], batchSize: 10)
        XCTAssertEqual(lines.all.count, 2, "a finished stage prints a line")
        XCTAssertTrue(lines.all[1].contains("load done"), lines.all[1])
        XCTAssertTrue(lines.all[1].contains("filter 0/4 units"), lines.all[1])
        usleep(20_000)
        reporter.update(units: [(1, 1), (2, 4)], batchSize: 10)
        XCTAssertEqual(lines.all.count, 2, "no line between intervals when nothing ends")
        reporter.update(units: [(1, 1), (4, 4)], batchSize: 10)
        XCTAssertTrue(lines.all.last!.contains("filter done"), lines.all.last!)
    }

    func testLiveLineOnATerminalShowsRateAndETA() {
        let lines = Lines()
        let reporter = ProgressReporter(isTTY: true, write: { lines.all.append($0) })
        reporter.begin(stages: ["write"])
        reporter.update(units: [(0, 10)], batchSize: 8)
        usleep(50_000)
        reporter.update(units: [(5, 10)], batchSize: 8)
        let last = lines.all.last!
        XCTAssertTrue(last.hasPrefix("\r\u{1B}[2K"), "redraws one line")
        XCTAssertTrue(last.contains("items/s"), last)
        XCTAssertTrue(last.contains("ETA 0:00"), last)
    }

    func testClockFormat() {
        XCTAssertEqual(ProgressReporter.clock(59), "0:59")
        XCTAssertEqual(ProgressReporter.clock(3725), "1:02:05")
        XCTAssertEqual(ProgressReporter.clock(.infinity), "?")
    }
}
