// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "DataEngine",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "dataengine", targets: ["dataengine"]),
        .library(name: "Support", targets: ["Support"]),
        .library(name: "Datasets", targets: ["Datasets"]),
        .library(name: "Evaluation", targets: ["Evaluation"]),
        .library(name: "Statistics", targets: ["Statistics"]),
        .library(name: "Imaging", targets: ["Imaging"]),
        .library(name: "Pipeline", targets: ["Pipeline"]),
        .library(name: "Stages", targets: ["Stages"]),
        .library(name: "Tensors", targets: ["Tensors"]),
        .library(name: "Diffusion", targets: ["Diffusion"]),
        .library(name: "Adapter", targets: ["Adapter"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // C libraries (Debian: libzstd-dev, libjpeg62-turbo-dev, libopenblas-dev).
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CJPEG", pkgConfig: "libjpeg", providers: [.apt(["libjpeg62-turbo-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        // libjpeg reports errors by longjmp; this C shim catches them so Swift never sees a non-local exit.
        .target(name: "JPEGBridge", dependencies: ["CJPEG"]),

        // Small pieces every layer uses: atomic files, seeded randomness, zstd, a JSON value.
        .target(name: "Support", dependencies: ["CZstd"]),
        // The engine: tensors on OpenBLAS, then diffusers' model classes, then the detection head on their features.
        // The softmax's exponential compiled for AVX2 with a target attribute, picked at run time (no unsafeFlags).
        .target(name: "VectorKernels"),
        .target(name: "Tensors", dependencies: ["Support", "COpenBLAS", "VectorKernels"]),
        .target(name: "Diffusion", dependencies: ["Support", "Tensors"]),
        .target(name: "Adapter", dependencies: ["Diffusion", "Tensors"]),
        // Datasets: COCO and VOC models, readers and writers; evaluation and statistics on top of them.
        .target(name: "Datasets", dependencies: ["Support"]),
        .target(name: "Evaluation", dependencies: ["Datasets"]),
        .target(name: "Statistics", dependencies: ["Datasets", "Support"]),
        .target(name: "Imaging", dependencies: ["JPEGBridge"]),
        // The run machinery: stage contract, pipeline file, unit scheduler, checkpoints. Knows no stage kind and no model.
        .target(
            name: "Pipeline",
            dependencies: [
                "Datasets", "Support",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        // The built-in stage kinds, one file each, and their catalog.
        .target(name: "Stages", dependencies: ["Pipeline", "Datasets", "Statistics", "Imaging", "Diffusion", "Adapter", "Tensors", "Support"]),
        // Benchmark commands and their synthetic data, kept out of the product libraries.
        .target(
            name: "Bench",
            dependencies: [
                "Datasets", "Diffusion", "Tensors", "Support", "Pipeline", "Stages",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .executableTarget(
            name: "dataengine",
            dependencies: [
                "Pipeline", "Stages", "Datasets", "Evaluation", "Statistics", "Imaging", "Tensors", "Diffusion", "Adapter",
                "Support", "Bench",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        .testTarget(name: "SupportTests", dependencies: ["Support"]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "Statistics", "Support"], resources: [.copy("Fixtures")]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation", "Datasets"], resources: [.copy("Fixtures")]),
        .testTarget(name: "BenchTests", dependencies: ["Bench", "Datasets"]),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging", "COpenBLAS"], resources: [.copy("Fixtures")]),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "Datasets", "Support", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "StagesTests", dependencies: ["Stages", "Pipeline", "Datasets", "Imaging", "Support"]),
        .testTarget(name: "CLITests", dependencies: ["Datasets", "Support", .product(name: "Yams", package: "Yams")]),
        .testTarget(name: "TensorsTests", dependencies: ["Tensors", "COpenBLAS", "Support"], resources: [.copy("Fixtures")]),
        .testTarget(name: "AdapterTests", dependencies: ["Adapter", "Diffusion", "Tensors"], resources: [.copy("Fixtures")]),
        .testTarget(name: "DiffusionTests", dependencies: ["Diffusion", "Tensors", "Support"], resources: [.copy("Fixtures")]),
    ],
    swiftLanguageModes: [.v6]
)
