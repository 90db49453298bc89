import Adapter
import ArgumentParser
import Datasets
import Diffusion
import Dispatch
import Foundation
import Imaging
import Stages
import Tensors
import Support

/// `dataengine detect`: the Detection-Adapter in detection-only mode on real images, to COCO results JSON.
struct DetectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detect",
        abstract: "Detect objects in images with a model folder's Detection-Adapter (detection-only mode).",
        discussion: """
            Each image is encoded with the model's VAE (posterior mean), noised to the adapter's timestep (the \
            lower end of the range in adapter/config.json, or --timestep), passed once through the UNet with the \
            empty prompt, and the adapter reads the UNet's feature taps (docs/taps.md, docs/adapter.md; with \
            vae_encoder_taps in its config also the VAE encoder's mid block of the same encode). Images \
            whose sides are not multiples of the VAE factor are resized down to the nearest multiple and the \
            boxes scaled back, so results are in the original image's pixels.

            Writes COCO results JSON ([{"image_id", "category_id", "bbox": [x, y, w, h], "score"}, ...]), the \
            input of `dataengine eval` and pycocotools' loadRes. Image ids come from --gt (an instances file whose \
            file_name entries name the images under --images) or, for images given as arguments, from the digits \
            of the file name (COCO style 000000000139.jpg -> 139), else their position (1, 2, ...).

            Examples:
              dataengine detect --model models/demo \\
                --gt data/demo/coco/annotations/instances_val.json \\
                --images data/demo/coco/val --out results.json
              dataengine eval --gt data/demo/coco/annotations/instances_val.json \\
                --pred results.json
              dataengine detect --model ~/sd2-base-with-adapter photo1.jpg photo2.jpg \\
                --out results.json
            """)

    @Option(help: "A model folder with an adapter/ (diffusers layout, e.g. models/demo).")
    var model: String

    @Argument(help: "Images (JPEG) to detect on, when no --gt is given.")
    var imageFiles: [String] = []

    @Option(help: "A COCO instances file: detect on every image it lists (ids from it).")
    var gt: String?

    @Option(help: "The image folder of --gt's file_name entries.")
    var images: String?

    @Option(help: "Where to write the COCO results JSON.")
    var out: String

    @Option(help: "UNet timestep of the detection call (default: the adapter's trained range's lower end).")
    var timestep: Int?

    @Option(help: "Seed of the latent noise (per image, mixed with the image id).")
    var seed: UInt64 = 0

    @Option(help: "Drop detections scoring below this (the adapter's own threshold still applies).")
    var minScore: Float = 0

    @Option(help: "Threads for OpenBLAS and the tensor operations (default: the number of cores).")
    var threads: Int?

    func validate() throws {
        if gt == nil && imageFiles.isEmpty { throw ValidationError("give images to detect on, or --gt instances.json with --images DIR") }
        if gt != nil && images == nil { throw ValidationError("--gt needs --images DIR (the folder its file_name entries are in)") }
        if gt != nil && !imageFiles.isEmpty { throw ValidationError("give either --gt with --images, or image files, not both") }
    }

    func run() throws {
        ComputeBudget.apply(threadsPerWorker: threads ?? AvailableCPUs.current.count)
        func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
        let start = now()
        let detector = try DetectionOnlyDetector(modelFolder: URL(fileURLWithPath: model), timestep: timestep)
        if let warning = detector.adapter.timestepWarning(Float(detector.timestep)) { log("warning: \(warning)") }
        let jobs = try imageJobs()
        log("loaded \(model) in \(String(format: "%.1f", now() - start)) s; \(jobs.count) image(s) at t = \(detector.timestep)")
        var results: [(imageId: Int, detection: Detection)] = []
        var skipped = 0
        let loopStart = now()
        for (index, job) in jobs.enumerated() {
            do {
                let decoded = try JPEG.decode(contentsOf: job.url).image
                let noise = DiffusionNoise(seed: DetectionOnlyDetector.noiseSeed(runSeed: seed, imageId: job.id))
                for d in try detector.detect(decoded, noise: noise) where d.score >= minScore {
                    results.append((job.id, d))
                }
            } catch let error as ImagingError {
                skipped += 1
                log("skipped \(job.url.path): \(error)")
            }
            let done = index + 1, elapsed = now() - loopStart
            if done == jobs.count || done % 10 == 0 {
                log(String(format: "%d/%d images  %.2f s/image  ETA %.0f s", done, jobs.count, elapsed / Double(done),
                           elapsed / Double(done) * Double(jobs.count - done)))
            }
        }
        if !jobs.isEmpty, skipped == jobs.count {
            throw DatasetError(file: jobs.count == 1 ? jobs[0].url.path : "the \(jobs.count) images", message: "no image could be read (see the messages above)",
                               hint: "nothing was written to \(out); give JPEG images (--images DIR or paths)")
        }
        let records = results.map { r in
            COCODetection(imageId: r.imageId, categoryId: r.detection.categoryId,
                          bbox: BoundingBox(x: Double(r.detection.x0), y: Double(r.detection.y0),
                                            width: Double(r.detection.width), height: Double(r.detection.height)),
                          score: Double(r.detection.score))
        }
        try AtomicFile.write(Array(COCOResultsWriter.json(records).utf8), to: URL(fileURLWithPath: out))
        log("wrote \(results.count) detections on \(jobs.count - skipped) image(s) to \(out)"
            + (skipped > 0 ? "; skipped \(skipped) unreadable image(s)" : "") + String(format: " in %.1f s", now() - start))
    }

    struct ImageJob { var id: Int; var url: URL }

    private func imageJobs() throws -> [ImageJob] {
        if let gt, let images {
            let dataset = try COCOReader.load(instances: URL(fileURLWithPath: gt))
            let root = URL(fileURLWithPath: images)
            return dataset.images.map { ImageJob(id: $0.id, url: root.appendingPathComponent($0.fileName)) }
        }
        return imageFiles.enumerated().map { index, path in
            let url = URL(fileURLWithPath: path)
            let digits = url.deletingPathExtension().lastPathComponent.filter(\.isNumber)
            return ImageJob(id: Int(digits.prefix(18)) ?? index + 1, url: url)
        }
    }

    private func log(_ message: String) { FileHandle.standardError.write(Data((message + "\n").utf8)) }
}
