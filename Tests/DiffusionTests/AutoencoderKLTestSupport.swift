import Foundation
import XCTest
import Tensors
@testable import Diffusion

/// The VAE side of the parity fixtures: `expected/vae.safetensors` and edited copies of a `vae/` folder.
enum VAEParityFixtures {
    static let configs = ParityFixtures.configs

    static func folder(_ config: String) -> URL { ParityFixtures.folder(config) }

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

extension Tensor {
    /// Batch element `i` of a (B, ...) tensor, as (1, ...).
    func batchElement(_ i: Int) -> Tensor {
        let per = count / shape[0]
        return Tensor(shape: [1] + shape.dropFirst(), scalars: Array(scalars[i * per..<(i + 1) * per]))
    }
}
