// swift-tools-version: 6.2
// The fuzz harnesses and the sanitized media check: a package of their own beside the root one, so
// the root manifest, `swift build` and `swift test` stay exactly as they were (no flag-gated targets,
// no unsafe flags, nothing extra to compile). It depends on the root package by path and reaches the
// media code only through MediaKit's and MediaTypes' public API. Built only by `make fuzz`, `make test-fuzz` and
// `make test-sanitized`, into .build-fuzz, with AddressSanitizer on everything, SanitizerCoverage
// (`-sanitize=fuzzer`) on the Swift code, and UBSan plus coverage on the C shims (Fuzz/fuzz.sh has
// the exact command). Swift on Linux has no `-sanitize=undefined`: UBSan applies to the C code.
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

/// One executable per fuzz target; each is a thin `@main` around `Harness.main(_:)`.
let harnesses = ["FuzzSniff", "FuzzJPEG", "FuzzPNG", "FuzzWebP", "FuzzGIF", "FuzzHEIF", "FuzzVideo", "FuzzAudio", "MediaCheck"]

let package = Package(
    name: "MediaPipelineFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "MediaPipeline", path: ".."),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        // libFuzzer's `LLVMFuzzerRunDriver`, declared for Swift (libFuzzer itself is linked by `-sanitize=fuzzer`).
        .target(name: "FuzzDriver"),
        .target(
            name: "MediaFuzzing",
            dependencies: [
                "FuzzDriver",
                .product(name: "MediaKit", package: "MediaPipeline"),
                .product(name: "MediaTypes", package: "MediaPipeline"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
        + harnesses.map { .executableTarget(name: $0, dependencies: ["MediaFuzzing"], swiftSettings: swiftSettings) }
)
