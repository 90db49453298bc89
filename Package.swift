// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "DataEngine",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "dataengine", targets: ["dataengine"]),
        .library(name: "Datasets", targets: ["Datasets"]),
        .library(name: "Imaging", targets: ["Imaging"]),
        .library(name: "Pipeline", targets: ["Pipeline"]),
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

        .target(name: "Tensors", dependencies: ["COpenBLAS"], swiftSettings: swift5),
        .target(name: "Diffusion", dependencies: ["Tensors"], swiftSettings: swift5),
        .target(name: "Adapter", dependencies: ["Diffusion", "Tensors"], swiftSettings: swift5),
        .target(name: "Datasets", swiftSettings: swift5),
        .target(name: "Imaging", dependencies: ["JPEGBridge"], swiftSettings: swift5),
        .target(name: "Stages", dependencies: ["Datasets", "Imaging", "Diffusion", "Adapter", "Tensors"], swiftSettings: swift5),
        .target(
            name: "Pipeline",
            dependencies: [
                "Stages", "Datasets", "CZstd",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swift5),
        .executableTarget(
            name: "dataengine",
            dependencies: [
                "Pipeline", "Stages", "Datasets", "Imaging", "Tensors", "Diffusion", "Adapter",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swift5),

        .testTarget(name: "DatasetsTests", dependencies: ["Datasets"], resources: [.copy("Fixtures")], swiftSettings: swift5),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging", "COpenBLAS"], resources: [.copy("Fixtures")], swiftSettings: swift5),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "Stages", "Datasets", "Imaging"], resources: [.copy("Fixtures")], swiftSettings: swift5),
        .testTarget(name: "CLITests", dependencies: ["Datasets"], swiftSettings: swift5),
        .testTarget(name: "TensorsTests", dependencies: ["Tensors", "COpenBLAS"], resources: [.copy("Fixtures")], swiftSettings: swift5),
        .testTarget(name: "AdapterTests", dependencies: ["Adapter", "Diffusion", "Tensors"], resources: [.copy("Fixtures")], swiftSettings: swift5),
        .testTarget(name: "DiffusionTests", dependencies: ["Diffusion", "Tensors", "CZstd"], resources: [.copy("Fixtures")], swiftSettings: swift5),
    ]
)

// Swift 5 language mode: the scheduler is built on Dispatch with explicit locking; strict Sendable
// checking of Swift 6 mode would be noise there. Revisit when the engine lands.
var swift5: [SwiftSetting] { [.swiftLanguageMode(.v5)] }
