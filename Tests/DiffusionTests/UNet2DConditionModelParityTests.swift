import XCTest
import Tensors
@testable import Diffusion

/// UNet2DConditionModel against diffusers on the parity fixtures (`expected/unet.safetensors`): outputs at
/// timesteps 1, 33, 500, 999 within 1e-4 relative, the feature taps (tools/taps.py) within 1e-3, and the
/// debug intermediates at t = 999 for diagnosis.
final class UNet2DConditionModelParityTests: XCTestCase {
    func testOutputsAndTapsMatchDiffusers() throws {
        var worstOutput = 0.0, worstTap = 0.0
        defer { print(String(format: "UNet parity, worst relative error: outputs %.2e, taps %.2e", worstOutput, worstTap)) }
        for config in ParityFixtures.configs {
            let folder = ParityFixtures.folder(config)
            let unet = try UNet2DConditionModel(modelFolder: try ModelFolder(url: folder))
            let expected = try SafeTensorsFile(url: folder.appendingPathComponent("expected/unet.safetensors"))
            let sample = try expected.tensor("sample")
            let context = try expected.tensor("encoder_hidden_states")
            for t in [1, 33, 500, 999] {
                var traced: [String: Tensor] = [:]
                let (out, taps) = unet.forward(sample, timesteps: [Float(t)], encoderHiddenStates: context, tapBatchIndex: 1,
                                               trace: t == 999 ? { traced[$0] = $1 } : nil)
                if t == 999 {
                    for (name, value) in traced {
                        let key = "debug.t999.\(name)"
                        guard expected.contains(key) else { continue }
                        let mine = value.narrowed(dim: 0, start: 0, length: 1)
                        let error = ParityError(mine, try expected.tensor(key))
                        XCTAssertLessThan(error.relative, 1e-4, "\(config) \(key): \(error)")
                    }
                }
                let error = ParityError(out, try expected.tensor("out.t\(t)"))
                worstOutput = max(worstOutput, Double(error.relative))
                XCTAssertLessThan(error.relative, 1e-4, "\(config) out.t\(t): \(error)")
                guard t == 1 || t == 999, let taps else { continue }
                XCTAssertEqual(taps.timestep, Float(t))
                for (name, tensor) in taps.namedTensors {
                    let key = "taps.t\(t).\(name)"
                    XCTAssertTrue(expected.contains(key), "\(config): no record \(key)")
                    guard expected.contains(key) else { continue }
                    let tapError = ParityError(tensor, try expected.tensor(key))
                    worstTap = max(worstTap, Double(tapError.relative))
                    XCTAssertLessThan(tapError.relative, 1e-3, "\(config) \(key): \(tapError)")
                }
            }
        }
    }
}
