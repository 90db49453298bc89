import Foundation
import XCTest
import Tensors
@testable import Diffusion

/// DDIMScheduler and DPMSolverMultistepScheduler against diffusers 0.42.1 (Fixtures/schedulers, see its README.md):
/// timesteps and img2img cuts exactly; alphas_cumprod bit for bit; DPM sigmas within an ulp (torch's CPU float32
/// sqrt / log / exp are MKL VML calls that are not correctly rounded, Swift's are); every step's output within 1e-5
/// of the output's scale (measured: up to about 1e-6, see the printed summary).
final class SchedulerParityTests: XCTestCase {
    static let stepTolerance: Float = 1e-5

    func testAlphasCumprodAreBitExact() throws {
        let manifest = try SchedulerFixtures.manifest()
        let tensors = try SchedulerFixtures.tensors()
        let schedules = try SchedulerFixtures.list(manifest, "schedules")
        XCTAssertGreaterThanOrEqual(schedules.count, 15)
        for entry in schedules {
            let config = try SchedulerFixtures.config(entry)
            let expected = try tensors.tensor(XCTUnwrap(entry["alphas_cumprod"]?.stringValue)).scalars
            let got: [Float]
            switch config.scheduler {
            case .ddim: got = DDIMScheduler(config: config).alphasCumprod
            case .dpmSolverMultistep: got = DPMSolverMultistepScheduler(config: config).alphasCumprod
            case .eulerDiscrete: got = EulerDiscreteScheduler(config: config).alphasCumprod
            case .lcm: got = LCMScheduler(config: config).alphasCumprod
            case .tcd: got = TCDScheduler(config: config).alphasCumprod
            }
            XCTAssertEqual(got.count, expected.count, "\(entry)")
            if config.rescaleBetasZeroSNR {
                // The rescaling takes square roots (torch's are within 0.75 ulp, not exact): close, not equal.
                let error = ParityError(Tensor(shape: [got.count], scalars: got), Tensor(shape: [got.count], scalars: expected))
                XCTAssertLessThanOrEqual(error.relative, 1e-6, "\(entry): \(error)")
            } else {
                let differing = zip(got, expected).filter { $0.0.bitPattern != $0.1.bitPattern }.count
                XCTAssertEqual(differing, 0, "\(differing) alphas_cumprod values differ for \(entry)")
            }
        }
    }

    func testTimestepTables() throws {
        let manifest = try SchedulerFixtures.manifest()
        var compared = 0
        for table in try SchedulerFixtures.list(manifest, "timestep_tables") {
            var scheduler = try SchedulerFixtures.config(table).makeScheduler()
            for (count, expected) in try XCTUnwrap(table["timesteps"]?.objectValue) {
                scheduler.setTimesteps(try XCTUnwrap(Int(count)))
                XCTAssertEqual(scheduler.timesteps, try SchedulerFixtures.ints(expected), "\(count) steps, \(table["config"]!) \(table["scheduler"]!) \(table["overrides"]!)")
                compared += 1
            }
        }
        XCTAssertGreaterThan(compared, 400)
    }

    func testImg2ImgCutMatchesGetTimesteps() throws {
        let table = try XCTUnwrap(try SchedulerFixtures.manifest()["img2img"])
        let strengths = try XCTUnwrap(table["strengths"]?.arrayValue).map { try XCTUnwrap($0.doubleValue) }
        let steps = try SchedulerFixtures.ints(table["steps"])
        let tStart = try XCTUnwrap(table["t_start"]?.arrayValue)
        for (row, n) in steps.enumerated() {
            let schedule = Array((0..<n).reversed())
            let expectedRow = try SchedulerFixtures.ints(tStart[row])
            for (column, strength) in strengths.enumerated() {
                let expected = expectedRow[column]
                if expected == n {
                    XCTAssertThrowsError(try Img2ImgTimesteps(steps: n, strength: strength, schedulerTimesteps: schedule)) { error in
                        XCTAssertEqual(error as? Img2ImgTimestepsError, .noStepKept(steps: n, strength: strength))
                    }
                } else {
                    let cut = try Img2ImgTimesteps(steps: n, strength: strength, schedulerTimesteps: schedule)
                    XCTAssertEqual(cut.tStart, expected, "\(n) steps, strength \(strength)")
                    XCTAssertEqual(cut.timesteps, Array(schedule[expected...]))
                    XCTAssertEqual(cut.numInferenceSteps, n - expected)
                }
            }
        }
    }

    func testImg2ImgErrors() throws {
        let schedule = Array((0..<10).reversed())
        XCTAssertThrowsError(try Img2ImgTimesteps(steps: 10, strength: 0.05, schedulerTimesteps: schedule)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("no denoising step") && text.contains("at least 0.1"), text)
        }
        XCTAssertThrowsError(try Img2ImgTimesteps(steps: 10, strength: 1.5, schedulerTimesteps: schedule)) { error in
            XCTAssertEqual(error as? Img2ImgTimestepsError, .invalidStrength(1.5))
        }
        XCTAssertThrowsError(try Img2ImgTimesteps(steps: 10, strength: .nan, schedulerTimesteps: schedule))
        XCTAssertThrowsError(try Img2ImgTimesteps(steps: 0, strength: 0.5, schedulerTimesteps: []))
        XCTAssertEqual(Img2ImgTimestepsError.minimumStrength(30), 0.0334)
        // 0.3 * 10 is 3.0000000000000004 and 0.65 * 30 is 19.5: int() truncates.
        XCTAssertEqual(try Img2ImgTimesteps(steps: 10, strength: 0.3, schedulerTimesteps: schedule).initTimestep, 3)
        XCTAssertEqual(try Img2ImgTimesteps(steps: 30, strength: 0.65, schedulerTimesteps: Array(0..<30)).initTimestep, 19)

        var ddim = DDIMScheduler(config: SchedulerConfig(defaultsFor: .ddim))
        XCTAssertThrowsError(try Img2ImgTimesteps.prepare(&ddim, steps: 1001, strength: 0.5)) { error in
            XCTAssertEqual(error as? Img2ImgTimestepsError, .invalidSteps(1001))
        }
    }

    /// Every step case of the manifest: timesteps, img2img cut, sigmas / alphas bit for bit, add_noise and each
    /// step's output (chained: each step gets this port's previous output).
    func testStepCasesMatchDiffusers() throws {
        let manifest = try SchedulerFixtures.manifest()
        let tensors = try SchedulerFixtures.tensors()
        let original = try tensors.tensor("shared/original")
        let noise = try tensors.tensor("shared/noise")
        let modelOutputs = try tensors.tensor("shared/model_outputs").split(size: 1, dim: 0)
        let varianceNoise = try tensors.tensor("shared/variance_noise").split(size: 1, dim: 0)
        let shape = try SchedulerFixtures.ints(manifest["latent_shape"])
        var summary = SchedulerErrorSummary()
        let cases = try SchedulerFixtures.list(manifest, "step_cases")
        XCTAssertGreaterThanOrEqual(cases.count, 60)
        for entry in cases {
            let name = try XCTUnwrap(entry["name"]?.stringValue)
            let key = "case/\(name)/"
            let config = try SchedulerFixtures.config(entry)
            let steps = try XCTUnwrap(entry["steps"]?.intValue)
            let eta = try XCTUnwrap(entry["eta"]?.doubleValue)
            var scheduler = config.makeScheduler()
            if var ddim = scheduler as? DDIMScheduler {
                ddim.eta = eta
                scheduler = ddim
            }

            let kept: [Int]
            let start: Tensor
            if let strength = entry["strength"]?.doubleValue {
                let cut = try Img2ImgTimesteps.prepare(&scheduler, steps: steps, strength: strength)
                XCTAssertEqual(scheduler.timesteps, try SchedulerFixtures.ints(entry["timesteps"]), name)
                XCTAssertEqual(cut.timesteps, try SchedulerFixtures.ints(entry["kept_timesteps"]), name)
                XCTAssertEqual(cut.beginIndex, entry["begin_index"]?.intValue, name)
                XCTAssertEqual(cut.initTimestep, entry["init_timestep"]?.intValue, name)
                XCTAssertEqual(cut.numInferenceSteps, entry["num_inference_steps"]?.intValue, name)
                XCTAssertEqual(cut.latentTimestep, entry["add_noise_timestep"]?.intValue, name)
                kept = cut.timesteps
                start = scheduler.addNoise(original: original, noise: noise, timestep: cut.latentTimestep)
                let error = ParityError(start, try tensors.tensor(key + "add_noise"))
                summary.record("add_noise", error, name)
                XCTAssertLessThanOrEqual(error.relative, Self.stepTolerance, "\(name) add_noise: \(error)")
            } else {
                scheduler.setTimesteps(steps)
                XCTAssertEqual(scheduler.timesteps, try SchedulerFixtures.ints(entry["timesteps"]), name)
                kept = scheduler.timesteps
                let t3 = try XCTUnwrap(entry["add_noise_timestep"]?.intValue)
                let noised = scheduler.addNoise(original: original, noise: noise, timestep: t3)
                let error = ParityError(noised, try tensors.tensor(key + "add_noise"))
                summary.record("add_noise", error, name)
                XCTAssertLessThanOrEqual(error.relative, Self.stepTolerance, "\(name) add_noise: \(error)")
                start = noise * scheduler.initNoiseSigma
            }

            if let dpm = scheduler as? DPMSolverMultistepScheduler {
                // sqrt((1 - a) / a): the quotient is exact, torch's square root within an ulp.
                let expected = try tensors.tensor(key + "sigmas").scalars
                if config.rescaleBetasZeroSNR {
                    let error = ParityError(Tensor(shape: [dpm.sigmas.count], scalars: dpm.sigmas), Tensor(shape: [expected.count], scalars: expected))
                    XCTAssertLessThanOrEqual(error.relative, 1e-6, "\(name) sigmas: \(error)")
                } else {
                    XCTAssertLessThanOrEqual(SchedulerFixtures.maxULP(dpm.sigmas, expected), 1, "\(name) sigmas")
                }
            }
            let expectedOutputs = try tensors.tensor(key + "outputs")
            XCTAssertEqual(expectedOutputs.shape, [kept.count] + shape, name)
            let outputs = expectedOutputs.split(size: 1, dim: 0)
            let stepIndices = try entry["step_index"].map { try SchedulerFixtures.ints($0) }
            let previousTimesteps = try entry["prev_timestep"].map { try SchedulerFixtures.ints($0) }
            let alphas = try entry["prev_timestep"].map { _ in try tensors.tensor(key + "alphas").scalars }

            // A second copy is fed diffusers' own previous outputs: its error is one step's, not an accumulation.
            var forced = scheduler
            let expectedStart = entry["strength"]?.doubleValue != nil ? try tensors.tensor(key + "add_noise") : noise
            var sample = start
            for (i, t) in kept.enumerated() {
                if let ddim = scheduler as? DDIMScheduler, let previousTimesteps, let alphas {
                    // The alphas the step uses: alphas_cumprod[t] and at t - T / steps (or the final one).
                    let previous = t - config.numTrainTimesteps / steps
                    XCTAssertEqual(previous, previousTimesteps[i], name)
                    let prevAlpha = previous >= 0 ? ddim.alphasCumprod[previous] : ddim.finalAlphaCumprod
                    let ulps = SchedulerFixtures.maxULP([ddim.alphasCumprod[t], prevAlpha], [alphas[2 * i], alphas[2 * i + 1]])
                    XCTAssertLessThanOrEqual(ulps, config.rescaleBetasZeroSNR ? 16 : 0, "\(name) step \(i) alphas")
                }
                let variance: Tensor? = eta > 0 ? varianceNoise[i].reshaped(shape) : nil
                sample = scheduler.step(modelOutput: modelOutputs[i].reshaped(shape), timestep: t, sample: sample, noise: variance)
                if let dpm = scheduler as? DPMSolverMultistepScheduler, let stepIndices {
                    XCTAssertEqual(dpm.stepIndex, stepIndices[i] + 1, "\(name) step \(i)")
                }
                let error = ParityError(sample, outputs[i].reshaped(shape))
                let kind = config.scheduler == .ddim ? "ddim" : "dpm"
                summary.record("\(kind) chained", error, "\(name) step \(i)")
                XCTAssertLessThanOrEqual(error.relative, Self.stepTolerance, "\(name) step \(i) (t = \(t)): \(error)")
                let input = i == 0 ? expectedStart : outputs[i - 1].reshaped(shape)
                let single = forced.step(modelOutput: modelOutputs[i].reshaped(shape), timestep: t, sample: input, noise: variance)
                let singleError = ParityError(single, outputs[i].reshaped(shape))
                summary.record("\(kind) single step", singleError, "\(name) step \(i)")
                XCTAssertLessThanOrEqual(singleError.relative, Self.stepTolerance, "\(name) step \(i) (t = \(t)) from diffusers' input: \(singleError)")
            }
        }
        print("scheduler parity, largest relative errors: \(summary.description)")
    }

    /// Schedulers are values: a copy replays the same steps; setTimesteps resets the multistep state and the begin
    /// index.
    func testDPMSolverStateIsPerValueAndResets() throws {
        let tensors = try SchedulerFixtures.tensors()
        let sample = try tensors.tensor("shared/original")
        let outputs = try tensors.tensor("shared/model_outputs").split(size: 1, dim: 0).map { $0.reshaped(sample.shape) }
        var a = DPMSolverMultistepScheduler(config: try SchedulerConfig(contentsOf: SchedulerFixtures.configURL("sd15"), for: .dpmSolverMultistep))
        a.setTimesteps(10)
        a.setBeginIndex(4)
        var x = a.step(modelOutput: outputs[0], timestep: a.timesteps[4], sample: sample, noise: nil)
        var b = a
        let fromA = a.step(modelOutput: outputs[1], timestep: a.timesteps[5], sample: x, noise: nil)
        let fromB = b.step(modelOutput: outputs[1], timestep: b.timesteps[5], sample: x, noise: nil)
        XCTAssertEqual(fromA, fromB)
        XCTAssertEqual(a.stepIndex, 6)

        a.setTimesteps(10)
        XCTAssertNil(a.beginIndex)
        XCTAssertNil(a.stepIndex)
        // Without a begin index the first step looks its timestep up; a fresh start equals a fresh scheduler's.
        var fresh = DPMSolverMultistepScheduler(config: a.config)
        fresh.setTimesteps(10)
        x = a.step(modelOutput: outputs[0], timestep: a.timesteps[2], sample: sample, noise: nil)
        XCTAssertEqual(x, fresh.step(modelOutput: outputs[0], timestep: fresh.timesteps[2], sample: sample, noise: nil))
        XCTAssertEqual(a.stepIndex, 3)
    }

    func testIndexForTimestepTakesTheSecondOfDuplicates() {
        var config = SchedulerConfig(defaultsFor: .dpmSolverMultistep)
        config.numTrainTimesteps = 10
        var dpm = DPMSolverMultistepScheduler(config: config)
        dpm.setTimesteps(10)  // linspace(0, 9, 11) rounded: 9, 8, 7, 6, 5, 4, 4, 3, 2, 1 (0 dropped)
        XCTAssertEqual(dpm.timesteps, [9, 8, 7, 6, 5, 4, 4, 3, 2, 1])
        XCTAssertEqual(dpm.index(for: 4), 6)
        XCTAssertEqual(dpm.index(for: 9), 0)
        XCTAssertEqual(dpm.index(for: 0), 9)  // absent: the last index
    }

    func testProtocolDrivesEveryScheduler() throws {
        for type in SchedulerType.allCases {
            let config = try SchedulerConfig(contentsOf: SchedulerFixtures.configURL("sd15"), for: type)
            var scheduler = config.makeScheduler()
            XCTAssertEqual(scheduler.order, 1)
            let cut = try Img2ImgTimesteps.prepare(&scheduler, steps: 20, strength: 0.5)
            XCTAssertEqual(cut.timesteps.count, 10)
            XCTAssertEqual(Array(scheduler.timesteps.suffix(10)), cut.timesteps)
            let x = Tensor(repeating: 0.5, shape: [1, 4, 2, 2])
            if type == .eulerDiscrete {
                // Euler keeps samples at noise level sigma: the model sees them scaled, txt2img starts from sigma_max.
                XCTAssertGreaterThan(scheduler.initNoiseSigma, 1)
                XCTAssertLessThan(scheduler.scaleModelInput(x, timestep: cut.latentTimestep).scalars[0], 0.5)
            } else {
                XCTAssertEqual(scheduler.initNoiseSigma, 1)
                XCTAssertEqual(scheduler.scaleModelInput(x, timestep: cut.latentTimestep), x)
            }
            var sample = scheduler.addNoise(original: x, noise: x, timestep: cut.latentTimestep)
            for t in cut.timesteps {
                sample = scheduler.step(modelOutput: x * 0.1, timestep: t, sample: sample, noise: type == .lcm ? x : nil)  // LCM renoises between steps
            }
            XCTAssertTrue(sample.scalars.allSatisfy(\.isFinite), "\(type)")
        }
    }
}
