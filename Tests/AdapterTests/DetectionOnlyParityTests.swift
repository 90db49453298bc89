import Foundation
import XCTest
import Diffusion
import Tensors
@testable import Adapter

/// Detection-only mode end to end (VAE mean, noise to t, one UNet call with the empty prompt, the adapter)
/// against diffusers + tools/adapter_model.py on the sd2-like parity model (tools/make_adapter_fixtures.py).
final class DetectionOnlyParityTests: XCTestCase {
    var modelFolder: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("DiffusionTests/Fixtures/parity/sd2-like")
    }

    func testDetectionsMatchTheReference() throws {
        try checkDetections(case: "detect-sd2-like", readsVAEEncoder: false)
    }

    /// An adapter that also reads the VAE encoder's mid block: the encoder output of the same encode, appended to
    /// the stride-1 group.
    func testDetectionsWithTheVAEEncoderTapMatchTheReference() throws {
        try checkDetections(case: "detect-sd2-like-vae", readsVAEEncoder: true)
        let folder = AdapterParityTests.fixtures.appendingPathComponent("detect-sd2-like-vae")
        let expected = try SafeTensorsFile(url: folder.appendingPathComponent("expected.safetensors"))
        let adapter = try DetectionAdapter(folder: folder)
        var taps = UNetFeatureTaps(timestep: 20, byStride: [1: try expected.tensor("stride1"), 2: try expected.tensor("stride2"),
                                                           4: try expected.tensor("stride4"), 8: try expected.tensor("stride8")])
        XCTAssertThrowsError(try adapter.forward(taps)) { error in
            XCTAssertTrue("\(error)".contains("VAE encoder"), "\(error)")
        }
        taps.vaeEncoderMidBlock = try expected.tensor("vae_encoder.mid_block")
        XCTAssertNoThrow(try adapter.forward(taps))
    }

    func checkDetections(case name: String, readsVAEEncoder: Bool) throws {
        let folder = AdapterParityTests.fixtures.appendingPathComponent(name)
        let expectedURL = folder.appendingPathComponent("expected.safetensors")
        let expected = try SafeTensorsFile(url: expectedURL)
        let detector = try DetectionOnlyDetector(pipeline: StableDiffusionImg2ImgPipeline(folder: modelFolder),
                                                 adapter: DetectionAdapter(folder: folder))
        XCTAssertEqual(detector.timestep, 20, "the lower end of the adapter's trained range")
        let image = try expected.tensor("image")
        let noise = try DiffusionNoise(file: expectedURL)

        XCTAssertEqual(detector.adapter.config.readsVAEEncoder, readsVAEEncoder)
        let taps = try detector.pipeline.detectionTaps(image: image, timestep: detector.timestep,
                                                       settings: DetectionOnlyDetector.settings, noise: noise,
                                                       withEncoderMidBlock: readsVAEEncoder)
        XCTAssertEqual(taps.timestep, 20)
        XCTAssertEqual(taps.namedTensors.count, readsVAEEncoder ? 5 : 4)
        for (name, tensor) in taps.namedTensors {
            let want = try expected.tensor(name)
            XCTAssertEqual(tensor.shape, want.shape, name)
            let error = zip(tensor.scalars, want.scalars).map { abs($0 - $1) }.max()! / want.scalars.map(abs).max()!
            XCTAssertLessThan(error, 1e-3, "taps \(name)")
        }

        let detections = try detector.detect(image: image, noise: noise)
        let boxes = try expected.tensor("detections.boxes").scalars, scores = try expected.tensor("detections.scores").scalars
        let labels = try expected.tensor("detections.labels").scalars
        XCTAssertEqual(detections.count, scores.count)
        XCTAssertGreaterThan(detections.count, 10, "a fixture with real work")
        for (i, d) in detections.enumerated() where i < scores.count {
            XCTAssertEqual(d.classIndex, Int(labels[i]), "detection \(i)")
            XCTAssertEqual(d.score, scores[i], accuracy: 1e-3, "detection \(i)")
            for (j, v) in [d.x0, d.y0, d.x1, d.y1].enumerated() {
                XCTAssertEqual(v, boxes[i * 4 + j], accuracy: 1e-3 * max(1, abs(boxes[i * 4 + j])), "detection \(i)")
            }
        }
    }

    func testTimestepOutsideTheTrainedRangeWarns() throws {
        let adapter = try DetectionAdapter(folder: AdapterParityTests.fixtures.appendingPathComponent("detect-sd2-like"))
        XCTAssertNil(adapter.timestepWarning(20))
        XCTAssertNil(adapter.timestepWarning(50))
        let warning = try XCTUnwrap(adapter.timestepWarning(63))
        XCTAssertTrue(warning.contains("[20, 50]"), warning)
        XCTAssertNotNil(adapter.timestepWarning(1))
    }

    func testSeedsDependOnTheImageOnly() {
        let a = DetectionOnlyDetector.noiseSeed(runSeed: 0, imageId: 1), b = DetectionOnlyDetector.noiseSeed(runSeed: 0, imageId: 2)
        XCTAssertNotEqual(a, b)
        XCTAssertEqual(a, DetectionOnlyDetector.noiseSeed(runSeed: 0, imageId: 1))
        XCTAssertNotEqual(a, DetectionOnlyDetector.noiseSeed(runSeed: 1, imageId: 1))
    }
}
