import Foundation
import XCTest

/// `dataengine generate` on the small SD2-like parity fixture: seeded runs repeat, dumped noise reproduces the
/// run, the dumps hold what the help promises, and bad input says what to fix.
final class GenerateCommandTests: XCTestCase {
    var temp: URL!

    override func setUpWithError() throws {
        temp = FileManager.default.temporaryDirectory.appendingPathComponent("gen-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: temp) }

    var model: String { CLIHarness.repositoryRoot.appendingPathComponent("Tests/DiffusionTests/Fixtures/parity/sd2-like").path }
    var image: String { CLIHarness.repositoryRoot.appendingPathComponent("data/demo/coco/train/000000000001.jpg").path }

    func path(_ name: String) -> String { temp.appendingPathComponent(name).path }

    func generate(_ extra: [String]) throws -> CLIHarness.Result {
        try CLIHarness.run(["generate", "--model", model, "--image", image, "--prompt", "a red circle", "--size", "32x32",
                            "--steps", "10", "--threads", "1"] + extra)
    }

    func testSeededRunRepeatsAndDumpedNoiseReproducesIt() throws {
        let first = try generate(["--strength", "0.6", "--seed", "3", "--out", path("a.jpg"), "--dump-noise", path("noise.safetensors"),
                                  "--dump-latents", path("latents.safetensors"), "--dump-taps", path("taps.safetensors")])
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertTrue(first.stderr.contains("step 6/6"), "a progress line per kept step:\n\(first.stderr)")
        XCTAssertTrue(first.stderr.contains("ETA"), first.stderr)
        let again = try generate(["--strength", "0.6", "--seed", "3", "--out", path("b.jpg")])
        XCTAssertEqual(again.status, 0, again.stderr)
        let fromFile = try generate(["--strength", "0.6", "--seed", "99", "--noise", path("noise.safetensors"), "--out", path("c.jpg")])
        XCTAssertEqual(fromFile.status, 0, fromFile.stderr)
        let other = try generate(["--strength", "0.6", "--seed", "4", "--out", path("d.jpg")])
        XCTAssertEqual(other.status, 0, other.stderr)

        let a = try Data(contentsOf: temp.appendingPathComponent("a.jpg"))
        XCTAssertEqual(a.prefix(2), Data([0xFF, 0xD8]), "a JPEG")
        XCTAssertEqual(a, try Data(contentsOf: temp.appendingPathComponent("b.jpg")), "same seed, same bytes")
        XCTAssertEqual(a, try Data(contentsOf: temp.appendingPathComponent("c.jpg")), "the dumped noise reproduces the seeded run")
        XCTAssertNotEqual(a, try Data(contentsOf: temp.appendingPathComponent("d.jpg")), "another seed, another image")

        let noiseHeader = try safetensorsHeader(path("noise.safetensors"))
        XCTAssertNotNil(noiseHeader["latent_noise"])
        XCTAssertNotNil(noiseHeader["posterior_noise"])
        let latents = try safetensorsHeader(path("latents.safetensors"))
        for key in ["reference_latent", "noised", "final_latent", "timesteps", "step.0", "step.5"] {
            XCTAssertNotNil(latents[key], "latents dump has \(key)")
        }
        XCTAssertNil(latents["step.6"], "strength 0.6 of 10 steps keeps 6")
        let taps = try safetensorsHeader(path("taps.safetensors"))
        for key in ["stride1", "stride2", "stride4", "stride8", "taps_timestep"] { XCTAssertNotNil(taps[key], "taps dump has \(key)") }
        let metadata = taps["__metadata__"] as? [String: String]
        XCTAssertEqual(metadata?["taps_timestep"], "100.0", "DPM-Solver++ 10 linspace steps end at t = 100")
    }

    func testEulerRunsTheFoldersSpacingAndEndsAtItsLastTimestep() throws {
        // The fixture's scheduler_config.json is DDIM's with leading spacing and steps_offset 1: Euler reads the same.
        let euler = try generate(["--scheduler", "euler", "--steps", "10", "--strength", "0.5", "--seed", "3", "--out", path("e.jpg"),
                                  "--dump-latents", path("latents.safetensors"), "--dump-taps", path("taps.safetensors")])
        XCTAssertEqual(euler.status, 0, euler.stderr)
        let latents = try safetensorsHeader(path("latents.safetensors"))
        XCTAssertNotNil(latents["step.4"])
        XCTAssertNil(latents["step.5"], "strength 0.5 of 10 steps keeps 5")
        let metadata = try safetensorsHeader(path("taps.safetensors"))["__metadata__"] as? [String: String]
        XCTAssertEqual(metadata?["taps_timestep"], "1.0", "leading spacing with steps_offset 1 ends at t = 1")
        let dpm = try generate(["--steps", "10", "--strength", "0.5", "--seed", "3", "--out", path("d.jpg")])
        XCTAssertEqual(dpm.status, 0, dpm.stderr)
        XCTAssertNotEqual(try Data(contentsOf: temp.appendingPathComponent("e.jpg")), try Data(contentsOf: temp.appendingPathComponent("d.jpg")),
                          "another sampler gives another image")
    }

    func testATinyVAEEncodesAndDecodes() throws {
        let taesd = CLIHarness.repositoryRoot.appendingPathComponent("Tests/DiffusionTests/Fixtures/taesd/factor4").path
        let args = ["--scheduler", "euler", "--steps", "2", "--strength", "0.5", "--guidance", "0", "--seed", "3"]
        let tiny = try generate(args + ["--tiny-vae", taesd, "--out", path("t.jpg")])
        XCTAssertEqual(tiny.status, 0, tiny.stderr)
        let kl = try generate(args + ["--out", path("k.jpg")])
        XCTAssertEqual(kl.status, 0, kl.stderr)
        XCTAssertNotEqual(try Data(contentsOf: temp.appendingPathComponent("t.jpg")), try Data(contentsOf: temp.appendingPathComponent("k.jpg")))
        let factor8 = CLIHarness.repositoryRoot.appendingPathComponent("Tests/DiffusionTests/Fixtures/taesd/factor8").path
        let mismatch = try generate(args + ["--tiny-vae", factor8, "--out", path("m.jpg")])
        XCTAssertNotEqual(mismatch.status, 0)
        XCTAssertTrue(mismatch.stderr.contains("spatial factor of 8") && !mismatch.stderr.contains("Fatal"), mismatch.stderr)
    }

    func testLCMAndTCDRunAndReplayTheirStepNoise() throws {
        for (scheduler, extra) in [("lcm", [String]()), ("tcd", ["--eta", "0.3"])] {
            let args = ["--scheduler", scheduler, "--steps", "4", "--strength", "1.0", "--guidance", "1"] + extra
            let first = try generate(args + ["--seed", "5", "--out", path("\(scheduler)-a.jpg"), "--dump-noise", path("\(scheduler).safetensors")])
            XCTAssertEqual(first.status, 0, first.stderr)
            let header = try safetensorsHeader(path("\(scheduler).safetensors"))
            XCTAssertNotNil(header["step_noise.2"], "\(scheduler) renoises between steps: \(header.keys.sorted())")
            let replay = try generate(args + ["--noise", path("\(scheduler).safetensors"), "--out", path("\(scheduler)-b.jpg")])
            XCTAssertEqual(replay.status, 0, replay.stderr)
            XCTAssertEqual(try Data(contentsOf: temp.appendingPathComponent("\(scheduler)-a.jpg")),
                           try Data(contentsOf: temp.appendingPathComponent("\(scheduler)-b.jpg")), scheduler)
        }
        let tooMany = try generate(["--scheduler", "lcm", "--steps", "60", "--out", path("x.jpg")])
        XCTAssertNotEqual(tooMany.status, 0)
        XCTAssertTrue(tooMany.stderr.contains("original_inference_steps") && !tooMany.stderr.contains("Fatal"), tooMany.stderr)
    }

    func testALoRAIsFusedAtItsScale() throws {
        let lora = CLIHarness.repositoryRoot.appendingPathComponent("Tests/DiffusionTests/Fixtures/lora/diffusers.safetensors").path
        let args = ["--steps", "4", "--strength", "0.5", "--seed", "3"]
        for (name, extra) in [("plain", [String]()), ("fused", ["--lora", lora + ":0.8"]), ("zero", ["--lora", lora + ":0"])] {
            let result = try generate(args + extra + ["--out", path("\(name).jpg")])
            XCTAssertEqual(result.status, 0, result.stderr)
        }
        let image = { (name: String) in try Data(contentsOf: self.temp.appendingPathComponent("\(name).jpg")) }
        XCTAssertNotEqual(try image("fused"), try image("plain"))
        XCTAssertEqual(try image("zero"), try image("plain"), "scale 0 is the model itself")
    }

    func testDDIMWithEtaDumpsItsStepNoiseAndReproduces() throws {
        let args = ["--scheduler", "ddim", "--eta", "0.3", "--strength", "0.5"]
        let first = try generate(args + ["--seed", "1", "--out", path("a.jpg"), "--dump-noise", path("noise.safetensors"),
                                         "--dump-taps", path("taps.safetensors")])
        XCTAssertEqual(first.status, 0, first.stderr)
        let header = try safetensorsHeader(path("noise.safetensors"))
        XCTAssertNotNil(header["step_noise.0"])
        XCTAssertNotNil(header["step_noise.4"])
        XCTAssertNil(header["step_noise.5"])
        let replay = try generate(args + ["--noise", path("noise.safetensors"), "--out", path("b.jpg")])
        XCTAssertEqual(replay.status, 0, replay.stderr)
        XCTAssertEqual(try Data(contentsOf: temp.appendingPathComponent("a.jpg")), try Data(contentsOf: temp.appendingPathComponent("b.jpg")))
        let metadata = try safetensorsHeader(path("taps.safetensors"))["__metadata__"] as? [String: String]
        XCTAssertEqual(metadata?["taps_timestep"], "1.0", "DDIM with steps_offset 1 ends at t = 1")
    }

    func testBadInputSaysWhatToFix() throws {
        // the fixture's VAE has three levels: factor 4
        let badSize = try CLIHarness.run(["generate", "--model", model, "--image", image, "--prompt", "x", "--size", "30x30",
                                          "--out", path("x.jpg")])
        XCTAssertNotEqual(badSize.status, 0)
        XCTAssertTrue(badSize.stderr.contains("multiples of 4"), badSize.stderr)
        let noModel = try CLIHarness.run(["generate", "--model", path("nowhere"), "--image", image, "--prompt", "x", "--out", path("x.jpg")])
        XCTAssertEqual(noModel.status, 1, noModel.stderr)
        XCTAssertTrue(noModel.stderr.contains("nowhere"), noModel.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("x.jpg")))
    }

    private func safetensorsHeader(_ file: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: file))
        let length = data.prefix(8).enumerated().reduce(0) { $0 | (Int($1.element) << (8 * $1.offset)) }
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + length))) as? [String: Any])
    }
}
