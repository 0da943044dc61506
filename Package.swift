// swift-tools-version: 6.2
// BlockSnap: block-level incremental snapshots of disks.
//
// Layers (lower never imports higher):
//   BlockStore -> PageRangeDiff -> RecoveryChain ; Policy (pure, alone)
//   BlockStoreS3 (networking) sits beside BlockStore so local-only hosts do not pull it in.
import PackageDescription

import class Foundation.ProcessInfo

let environment = ProcessInfo.processInfo.environment

/// Settings of every target of this package. CI sets BLOCKSNAP_STRICT=1, which turns warnings
/// into errors here (never for hosts that depend on the package: a newer compiler's new warnings
/// must not break their builds).
let strict: [SwiftSetting] =
    [.enableUpcomingFeature("ExistentialAny")]
    + (environment["BLOCKSNAP_STRICT"] != nil ? [.treatAllWarnings(as: .error)] : [])

let package = Package(
    name: "BlockSnap",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "BlockStore", targets: ["BlockStore"]),
        .library(name: "BlockStoreTesting", targets: ["BlockStoreTesting"]),
        .library(name: "BlockStoreS3", targets: ["BlockStoreS3"]),
        .library(name: "BlockStoreS3Testing", targets: ["BlockStoreS3Testing"]),
        .library(name: "PageRangeDiff", targets: ["PageRangeDiff"]),
        .library(name: "RecoveryChain", targets: ["RecoveryChain"]),
        .library(name: "Policy", targets: ["Policy"]),
        .library(name: "BlockSnap", targets: ["BlockSnap"]),
        .executable(name: "tour", targets: ["Tour"]),
        .executable(name: "blocksnap", targets: ["BlockSnapCLI"]),
        .executable(name: "policy-simulator", targets: ["PolicySimulator"]),
        .executable(name: "vm-agent", targets: ["VMAgent"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
    ],
    targets: [
        // C shims.
        .systemLibrary(
            name: "CZstd",
            pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"]), .brew(["zstd"])]
        ),
        .target(name: "CBlockSnapLinux"),

        // Libraries.
        .target(
            name: "BlockStore",
            dependencies: [
                "CZstd",
                "CBlockSnapLinux",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "BlockStoreTesting",
            dependencies: ["BlockStore"],
            swiftSettings: strict
        ),
        .target(
            name: "BlockStoreS3",
            dependencies: [
                "BlockStore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "BlockStoreS3Testing",
            dependencies: ["BlockStoreS3"],
            swiftSettings: strict
        ),
        .target(
            name: "PageRangeDiff", dependencies: ["BlockStore", "CBlockSnapLinux"],
            swiftSettings: strict),
        .target(
            name: "RecoveryChain",
            dependencies: ["BlockStore", "PageRangeDiff", "Policy", "CBlockSnapLinux"],
            swiftSettings: strict
        ),
        .target(name: "Policy", swiftSettings: strict),
        .target(
            name: "BlockSnap",
            dependencies: ["BlockStore", "PageRangeDiff", "RecoveryChain", "Policy"],
            swiftSettings: strict
        ),

        // The command-line tool (a product of its own, like swift-crypto's crypto-shasum).
        .executableTarget(
            name: "BlockSnapCLI",
            dependencies: [
                "BlockSnap",
                "BlockStoreS3",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/blocksnap",
            swiftSettings: strict
        ),

        // Examples: each imports public products only.
        .executableTarget(
            name: "Tour",
            dependencies: ["BlockSnap", "BlockStoreTesting", .product(name: "Crypto", package: "swift-crypto")],
            path: "Examples/Tour",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "VMAgent",
            dependencies: ["BlockSnap"],
            path: "Examples/VMAgent",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "PolicySimulator",
            dependencies: ["Policy", "BlockStoreTesting"],
            path: "Examples/PolicySimulator",
            swiftSettings: strict
        ),

        // Tests.
        .testTarget(
            name: "BlockStoreTests",
            dependencies: ["BlockStore", "BlockStoreTesting", "BlockSnap"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "BlockStoreS3Tests",
            // CrashHelper: built first, run as writer and collector processes (S3MultiProcessTests).
            dependencies: [
                "BlockStoreS3", "BlockStoreS3Testing", "BlockStoreTesting", "BlockSnap", "CrashHelper",
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "PageRangeDiffTests",
            dependencies: ["PageRangeDiff", "BlockStoreTesting"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "RecoveryChainTests",
            dependencies: ["RecoveryChain", "BlockStoreTesting", "CrashHelper"],
            swiftSettings: strict
        ),
        // Killed with SIGKILL at any moment by RecoveryChainTests' crash tests. Its s3-writer and
        // s3-gc modes are BlockStoreS3Tests' writer and collector processes on one S3 store.
        .executableTarget(
            name: "CrashHelper", dependencies: ["BlockSnap", "BlockStoreS3", "BlockStoreTesting"],
            path: "Tests/CrashHelper",
            swiftSettings: strict),
        .testTarget(
            name: "PolicyTests", dependencies: ["Policy", "BlockStoreTesting"], swiftSettings: strict),
        .testTarget(
            name: "ExampleTests",
            dependencies: ["BlockSnap"],
            swiftSettings: strict
        ),
    ]
)

// Benchmarks are added only when asked for, so `swift build` / `swift test` and CI stay fast:
//   BLOCKSNAP_BENCHMARKS=1 swift package --allow-writing-to-package-directory benchmark
if environment["BLOCKSNAP_BENCHMARKS"] != nil {
    package.dependencies.append(
        .package(
            url: "https://github.com/ordo-one/benchmark.git",
            from: "1.38.1",
            traits: ["MallocInterposer"]
        )
    )
    package.targets.append(
        .target(
            name: "BenchmarkSupport",
            dependencies: ["BlockStoreTesting"],
            path: "Benchmarks/BenchmarkSupport"
        )
    )
    for name in ["StoreThroughput", "DiffThroughput", "ChainThroughput", "S3Throughput"] {
        package.targets.append(
            .executableTarget(
                name: name,
                dependencies: [
                    "BlockSnap",
                    "CZstd",
                    .product(name: "Crypto", package: "swift-crypto"),
                    .product(name: "Benchmark", package: "benchmark"),
                    "BlockStoreTesting",
                ] + (name == "S3Throughput" ? ["BlockStoreS3", "BlockStoreS3Testing"] : [])
                    + (["ChainThroughput", "S3Throughput"].contains(name) ? ["BenchmarkSupport"] : []),
                path: "Benchmarks/\(name)",
                plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
            )
        )
    }
}

// The DocC plugin, for `scripts/docs` (BLOCKSNAP_DOCS=1 swift package generate-documentation …).
if environment["BLOCKSNAP_DOCS"] != nil {
    package.dependencies.append(.package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"))
}

// libFuzzer targets, for `scripts/fuzz` (BLOCKSNAP_FUZZ=1, built with -sanitize=fuzzer,address).
if environment["BLOCKSNAP_FUZZ"] != nil {
    package.targets.append(
        .executableTarget(
            name: "BlockSnapFuzz",
            dependencies: [
                "BlockStore", "PageRangeDiff", "RecoveryChain", "Policy", "BlockStoreS3", "BlockStoreTesting",
            ],
            path: "Tests/Fuzz"
        )
    )
}
