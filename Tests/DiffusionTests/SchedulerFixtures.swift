import Foundation
import XCTest
import Tensors
@testable import Diffusion
import Support

/// The scheduler fixtures of Tests/DiffusionTests/Fixtures/schedulers/ (tools/make_scheduler_fixtures.py, diffusers
/// 0.42.1): `configs/*.json`, `manifest.json`, `tensors.safetensors`; see the folder's README.md.
enum SchedulerFixtures {
    /// Next to the parity fixtures (found the same way: bundle resources, else beside this file).
    static var directory: URL {
        ParityFixtures.directory.deletingLastPathComponent().appendingPathComponent("schedulers")
    }

    static func configURL(_ name: String) -> URL { directory.appendingPathComponent("configs/\(name).json") }

    static func manifest() throws -> JSONValue { try JSONValue.read(directory.appendingPathComponent("manifest.json")) }

    static func tensors() throws -> SafeTensorsFile {
        try SafeTensorsFile(url: directory.appendingPathComponent("tensors.safetensors"))
    }

    /// The entries of a manifest array.
    static func list(_ manifest: JSONValue, _ key: String) throws -> [JSONValue] {
        try XCTUnwrap(manifest[key]?.arrayValue, "manifest.json has no array \(key)")
    }

    static func scheduler(_ entry: JSONValue) throws -> SchedulerType {
        try XCTUnwrap(entry["scheduler"]?.stringValue.flatMap(SchedulerType.init(rawValue:)), "bad scheduler in \(entry)")
    }

    /// The config of a manifest entry (`config`, `scheduler`, `overrides`), read like the pipeline reads one.
    static func config(_ entry: JSONValue) throws -> SchedulerConfig {
        let name = try XCTUnwrap(entry["config"]?.stringValue)
        let overrides = entry["overrides"]?.objectValue ?? [:]
        return try SchedulerConfig(contentsOf: configURL(name), for: scheduler(entry), overrides: overrides)
    }

    /// The largest distance between equally long arrays in units in the last place (a sign change counts as far).
    static func maxULP(_ a: [Float], _ b: [Float]) -> Int {
        precondition(a.count == b.count, "\(a.count) vs \(b.count) values")
        return zip(a, b).map { x, y in
            if x == y { return 0 }
            if x.sign != y.sign || x.isNaN || y.isNaN { return Int.max }
            return abs(Int(x.bitPattern) - Int(y.bitPattern))
        }.max() ?? 0
    }

    static func ints(_ value: JSONValue?) throws -> [Int] {
        try XCTUnwrap(value?.arrayValue?.map { try XCTUnwrap($0.intValue) }, "expected an array of integers")
    }
}

/// Largest relative errors seen, for the summary line of the parity tests.
struct SchedulerErrorSummary {
    private(set) var worst: [String: (Float, String)] = [:]

    mutating func record(_ kind: String, _ error: ParityError, _ place: String) {
        if error.relative > (worst[kind]?.0 ?? -1) { worst[kind] = (error.relative, place) }
    }

    var description: String {
        worst.keys.sorted().map { k in String(format: "%@ %.3g (%@)", k, Double(worst[k]!.0), worst[k]!.1) }
            .joined(separator: "; ")
    }
}
