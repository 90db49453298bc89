import Foundation
import XCTest
import Tensors

/// The parity fixtures of Tests/DiffusionTests/Fixtures/parity/<config>/ (tools/make_fixtures.py, with
/// transformers 5.23 and diffusers 0.42.1): a diffusers-layout folder per config with `expected/` holding
/// the reference outputs (`text.safetensors`, `tokens.json`, `vae.safetensors`).
enum ParityFixtures {
    static let configs = ["sd1-like", "sd2-like", "odd"]

    static var directory: URL {
        if let resources = Bundle.module.resourceURL?.appendingPathComponent("Fixtures/parity"),
           FileManager.default.fileExists(atPath: resources.path) {
            return resources
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/parity")
    }

    static func folder(_ config: String) -> URL { directory.appendingPathComponent(config) }

    static func expectedText(_ config: String) throws -> SafeTensorsFile {
        try SafeTensorsFile(url: folder(config).appendingPathComponent("expected/text.safetensors"))
    }

    /// The recorded input ids (stored as float) as rows of Int.
    static func inputIDs(_ file: SafeTensorsFile) throws -> [[Int]] {
        let t = try file.tensor("input_ids")
        let (rows, cols) = (t.shape[0], t.shape[1])
        return (0..<rows).map { r in (0..<cols).map { Int(t.scalars[r * cols + $0]) } }
    }
}

/// How far `got` is from `expected`: the largest absolute difference (infinite if any is NaN), and that
/// divided by the largest |expected| (the output's scale).
struct ParityError: CustomStringConvertible {
    var maxAbs: Float
    var scale: Float
    var relative: Float { maxAbs / Swift.max(scale, 1e-12) }

    init(_ got: Tensor, _ expected: Tensor) {
        precondition(got.shape == expected.shape, "shape \(got.shape) vs expected \(expected.shape)")
        var m: Float = 0, s: Float = 0
        for i in 0..<got.count {
            let d = abs(got.scalars[i] - expected.scalars[i])
            m = d.isNaN ? .infinity : Swift.max(m, d)
            s = Swift.max(s, abs(expected.scalars[i]))
        }
        maxAbs = m
        scale = s
    }

    var description: String {
        String(format: "max abs %.3g, relative %.3g (scale %.3g)", Double(maxAbs), Double(relative), Double(scale))
    }
}
