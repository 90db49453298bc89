import Foundation
import XCTest
import Tensors
@testable import Diffusion

/// The parity fixtures of Tests/DiffusionTests/Fixtures/parity/<config>/ (tools/make_fixtures.py): a diffusers
/// folder with `vae/` and `expected/vae.safetensors` (diffusers' float32 outputs for it).
enum VAEParityFixtures {
    static let configs = ["sd1-like", "sd2-like", "odd"]

    static var directory: URL {
        if let resources = Bundle.module.resourceURL?.appendingPathComponent("Fixtures/parity"),
           FileManager.default.fileExists(atPath: resources.path) {
            return resources
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/parity")
    }

    static func folder(_ config: String) -> URL { directory.appendingPathComponent(config) }

    static func expected(_ config: String) throws -> SafeTensorsFile {
        try SafeTensorsFile(url: folder(config).appendingPathComponent("expected/vae.safetensors"))
    }

    /// A fresh temporary directory, removed when the test ends.
    static func temporaryDirectory(_ test: XCTestCase) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vae-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    /// A copy of a fixture's `vae/` folder whose weights and config `edit` may change.
    static func editedVAEFolder(_ test: XCTestCase, from config: String = "sd1-like",
                                weights edit: (inout [String: Tensor]) -> Void = { _ in },
                                config editConfig: (String) -> String = { $0 }) throws -> URL {
        let source = folder(config).appendingPathComponent("vae")
        let dir = try temporaryDirectory(test).appendingPathComponent("vae")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let configText = try String(contentsOf: source.appendingPathComponent("config.json"), encoding: .utf8)
        try Data(editConfig(configText).utf8).write(to: dir.appendingPathComponent("config.json"))
        let file = try SafeTensorsFile(url: source.appendingPathComponent("diffusion_pytorch_model.safetensors"))
        var tensors: [String: Tensor] = [:]
        for name in file.names { tensors[name] = try file.tensor(name) }
        edit(&tensors)
        try SafeTensorsWriter.write(tensors, to: dir.appendingPathComponent("diffusion_pytorch_model.safetensors"))
        return dir
    }
}

/// How far `got` is from `expected`: the largest absolute difference, and that divided by the largest
/// |expected| (the output's scale).
struct VAEParityError: CustomStringConvertible {
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

extension Tensor {
    /// Batch element `i` of a (B, ...) tensor, as (1, ...).
    func batchElement(_ i: Int) -> Tensor {
        let per = count / shape[0]
        return Tensor(shape: [1] + shape.dropFirst(), scalars: Array(scalars[i * per..<(i + 1) * per]))
    }
}
