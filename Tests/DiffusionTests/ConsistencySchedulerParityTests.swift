import Foundation
import XCTest
import Tensors
@testable import Diffusion
import Support

/// LCMScheduler and TCDScheduler against diffusers 0.42.1 (Fixtures/consistency, tools/make_consistency_fixtures.py):
/// timesteps exactly for every (class, config, steps) table; img2img and txt2img runs, with the noise each step drew,
/// within the scheduler parity tolerance at every step (LCM's boundary condition and renoising, TCD's gamma 0, 0.3
/// and 0.5, epsilon / v / sample prediction, clipping, original_inference_steps 25).
final class ConsistencySchedulerParityTests: XCTestCase {
    static var directory: URL { SchedulerFixtures.directory.deletingLastPathComponent().appendingPathComponent("consistency") }

    func manifest() throws -> JSONValue { try JSONValue.read(Self.directory.appendingPathComponent("manifest.json")) }

    func config(_ manifest: JSONValue, _ name: String, _ type: SchedulerType) throws -> SchedulerConfig {
        let values = try XCTUnwrap(manifest["configs"]?[name]?.objectValue, "no config \(name)")
        return try SchedulerConfig(ComponentConfig(file: "consistency/\(name).json", values: values), for: type)
    }

    func testTimestepTables() throws {
        let manifest = try manifest()
        var compared = 0
        for table in try XCTUnwrap(manifest["tables"]?.arrayValue) {
            let type = try XCTUnwrap(table["scheduler"]?.stringValue.flatMap(SchedulerType.init(rawValue:)))
            var scheduler = try config(manifest, try XCTUnwrap(table["config"]?.stringValue), type).makeScheduler()
            for (count, expected) in try XCTUnwrap(table["steps"]?.objectValue) {
                scheduler.setTimesteps(try XCTUnwrap(Int(count)))
                XCTAssertEqual(scheduler.timesteps, try SchedulerFixtures.ints(expected), "\(type) \(table["config"]!) \(count) steps")
                compared += 1
            }
        }
        XCTAssertGreaterThanOrEqual(compared, 50)
    }

    func testStepsMatchDiffusers() throws {
        let manifest = try manifest()
        let tensors = try SafeTensorsFile(url: Self.directory.appendingPathComponent("tensors.safetensors"))
        let original = try tensors.tensor("original"), noise = try tensors.tensor("noise")
        let bank = try tensors.tensor("model_outputs")
        let perOutput = bank.scalars.count / bank.shape[0]
        var worst: Float = 0, compared = 0
        for entry in try XCTUnwrap(manifest["cases"]?.arrayValue) {
            let name = try XCTUnwrap(entry["name"]?.stringValue)
            let type = try XCTUnwrap(entry["scheduler"]?.stringValue.flatMap(SchedulerType.init(rawValue:)))
            let gamma = entry["gamma"]?.doubleValue ?? 0
            var scheduler = try config(manifest, try XCTUnwrap(entry["config"]?.stringValue), type).makeScheduler(eta: gamma)
            let steps = try XCTUnwrap(entry["steps"]?.intValue)
            var sample: Tensor
            let kept: [Int]
            if let strength = entry["strength"]?.doubleValue {
                let cut = try Img2ImgTimesteps.prepare(&scheduler, steps: steps, strength: strength)
                sample = scheduler.addNoise(original: original, noise: noise, timestep: cut.latentTimestep)
                kept = cut.timesteps
            } else {
                scheduler.setTimesteps(steps)
                sample = noise * scheduler.initNoiseSigma
                kept = scheduler.timesteps
            }
            XCTAssertEqual(kept, try SchedulerFixtures.ints(entry["timesteps"]), name)
            func check(_ got: Tensor, _ key: String) throws {
                let error = ParityError(got, try tensors.tensor(key))
                XCTAssertLessThanOrEqual(error.relative, SchedulerParityTests.stepTolerance, "\(key): \(error)")
                worst = max(worst, error.relative)
                compared += 1
            }
            try check(sample, name + ".start")
            for (i, t) in kept.enumerated() {
                let output = Tensor(shape: original.shape, scalars: Array(bank.scalars[(i * perOutput)..<((i + 1) * perOutput)]))
                sample = scheduler.step(modelOutput: output, timestep: t, sample: sample, noise: try tensors.tensor("\(name).noise.\(i)"))
                try check(sample, "\(name).step.\(i)")
            }
        }
        XCTAssertGreaterThan(compared, 40)
        print("LCM/TCD steps: \(compared) tensors, worst relative error \(worst)")
    }

    func testTooManyStepsAreAnErrorNotATrap() throws {
        var lcm = try SchedulerConfig(ComponentConfig(file: "scheduler_config.json", values: [:]), for: .lcm).makeScheduler()
        XCTAssertThrowsError(try Img2ImgTimesteps.prepare(&lcm, steps: 51, strength: 0.5)) {
            XCTAssertEqual($0 as? Img2ImgTimestepsError, .invalidSteps(51))
        }
        XCTAssertEqual(SchedulerType(name: "lcm"), .lcm)
        XCTAssertEqual(SchedulerType(name: "TCDScheduler"), .tcd)
    }
}
