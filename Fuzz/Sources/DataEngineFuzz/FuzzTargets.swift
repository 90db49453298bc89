import Datasets
import Diffusion
import Foundation
import Imaging
import Pipeline
import Stages
import Support
import Tensors

/// One fuzz target per parser of outside input, chosen by `DATAENGINE_FUZZ_TARGET` (tools/fuzz.sh sets it). Every
/// target must either return a value or throw: a trap, an out-of-bounds access or a hang is the bug libFuzzer finds.
enum FuzzTarget: String, CaseIterable {
    case cocoInstances = "coco-instances"
    case cocoCaptions = "coco-captions"
    case cocoResults = "coco-results"
    case vocXML = "voc-xml"
    case pipelineYAML = "pipeline-yaml"
    case safetensorsHeader = "safetensors-header"
    case shardIndex = "shard-index"
    case jpeg
    case modelConfig = "model-config"
    case clipTokenizer = "clip-tokenizer"
    case clipTokenizerFolder = "clip-tokenizer-folder"

    static let selected: FuzzTarget = {
        let name = ProcessInfo.processInfo.environment["DATAENGINE_FUZZ_TARGET"] ?? ""
        guard let target = FuzzTarget(rawValue: name) else {
            FileHandle.standardError.write(Data("set DATAENGINE_FUZZ_TARGET to one of: \(allCases.map(\.rawValue).joined(separator: ", "))\n".utf8))
            exit(2)
        }
        return target
    }()

    /// A small ground truth for results files: images 1-3, categories 1, 2 and 5.
    static let groundTruth: DetectionDataset = {
        let json = #"{"images": [{"id": 1, "file_name": "a.jpg", "width": 10, "height": 10}, {"id": 2, "file_name": "b.jpg", "width": 10, "height": 10}, {"id": 3, "file_name": "c.jpg", "width": 10, "height": 10}], "annotations": [], "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}, {"id": 5, "name": "c"}]}"#
        return try! COCOReader.decode(instances: Array(json.utf8), file: "gt.json")
    }()

    static let instances = Array(#"{"images": [{"id": 1, "file_name": "a.jpg", "width": 10, "height": 10}], "annotations": [], "categories": [{"id": 1, "name": "a"}]}"#.utf8)

    /// CLIP's real vocabulary and merges (the tokenizer tests' zstd fixtures) with SD2's configs, unpacked once.
    static let realCLIPTokenizer: CLIPTokenizer = {
        let fixtures = URL(fileURLWithPath: "Tests/DiffusionTests/Fixtures/tokenizer")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-clip-\(getpid())")
        try! FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for (packed, name) in [("clip-vocab.json.zst", "vocab.json"), ("clip-merges.txt.zst", "merges.txt")] {
            let raw = try! Data(contentsOf: fixtures.appendingPathComponent(packed))
            try! Data(try! Zstd.decompress([UInt8](raw))).write(to: folder.appendingPathComponent(name))
        }
        for name in ["tokenizer_config.json", "special_tokens_map.json"] {
            try! FileManager.default.copyItem(at: fixtures.appendingPathComponent("configs/sd2/\(name)"), to: folder.appendingPathComponent(name))
        }
        return try! CLIPTokenizer(folder: folder)
    }()

    /// The files of a tokenizer folder, in this order, separated by `folderSeparator` in a `clip-tokenizer-folder` input.
    static let folderFiles = ["vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json"]
    static let folderSeparator: [UInt8] = [0xFF, 0x00, 0xFF]

    func run(_ bytes: [UInt8]) {
        switch self {
        case .cocoInstances:
            _ = try? COCOReader.decode(instances: bytes, file: "fuzz.json")
        case .cocoCaptions:
            _ = try? COCOReader.decode(instances: Self.instances, file: "instances.json", captions: bytes, captionsFile: "captions.json")
        case .cocoResults:
            _ = try? COCOResultsReader.decode(bytes, file: "results.json", groundTruth: Self.groundTruth)
        case .vocXML:
            _ = try? MiniXML.parse(bytes)
        case .pipelineYAML:
            _ = try? PipelineFile.parse(String(decoding: bytes, as: UTF8.self), file: "/nonexistent/fuzz.yaml", defaultName: "fuzz", catalog: .builtIn)
        case .safetensorsHeader:
            _ = bytes.withUnsafeBytes { try? SafeTensorsHeader.parse(fileBytes: $0, file: "fuzz.safetensors") }
        case .shardIndex:
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-\(getpid()).safetensors.index.json")
            guard (try? Data(bytes).write(to: url)) != nil else { return }
            _ = try? WeightShardIndex(url: url)
        case .jpeg:
            _ = try? JPEG.readHeader(bytes)
            _ = try? JPEG.decode(bytes)
        case .modelConfig:
            guard case .success(let value) = JSONValue.parse(Data(bytes), allowingPythonNonFinite: true), let object = value.objectValue else { return }
            let config = ComponentConfig(file: "config.json", values: object)
            _ = try? UNet2DConditionModelConfig(config)
            _ = try? AutoencoderKLConfig(config)
            _ = try? CLIPTextConfig(config)
        case .clipTokenizer:
            let text = String(decoding: bytes, as: UTF8.self)
            let (ids, _) = Self.realCLIPTokenizer(text)
            _ = Self.realCLIPTokenizer.decode(ids, skipSpecialTokens: false)
            _ = Self.realCLIPTokenizer.tokenStrings(text)
        case .clipTokenizerFolder:
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-tokenizer-\(getpid())")
            try? FileManager.default.removeItem(at: folder)
            guard (try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)) != nil else { return }
            for (name, part) in zip(Self.folderFiles, bytes.split(separator: Self.folderSeparator, omittingEmptySubsequences: false)) where !part.isEmpty {
                guard (try? Data(part).write(to: folder.appendingPathComponent(name))) != nil else { return }
            }
            guard let tokenizer = try? CLIPTokenizer(folder: folder) else { return }
            let (ids, _) = tokenizer("a photo of a cat <|endoftext|> on a sofa")
            _ = tokenizer.decode(ids, skipSpecialTokens: false)
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    FuzzTarget.selected.run(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

/// libFuzzer's driver: SwiftPM links an executable's entry point as `<module>_main`, so this hands over to it.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

@_cdecl("DataEngineFuzz_main")
public func fuzzerMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { data, size in
        guard let data else { return 0 }
        return fuzzOneInput(data, size)
    }
}
