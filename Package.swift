// swift-tools-version:6.0
import PackageDescription

// Keel: three services (planner, gateway, capital) that speak KWP/1 to each other.
// Layout and dependency rules: pure modules (Planning, Execution, CapitalAllocation) never import NIO or
// GRDB; services depend on pure modules, never the reverse; executables only configure.
let package = Package(
    name: "Keel",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "Contracts", targets: ["Contracts"]),
        .library(name: "KeelWire", targets: ["KeelWire"]),
        .library(name: "CKeelClient", targets: ["CKeelClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // Exact integers, decimals and rationals, and Keel's one decimal grammar. Pure, no dependencies.
        .target(name: "ExactNumbers"),
        // swift-protobuf output for proto/ (committed; scripts/gen-contracts) + small extensions.
        .target(
            name: "Contracts",
            dependencies: ["ExactNumbers", .product(name: "SwiftProtobuf", package: "swift-protobuf")]
        ),
        // Pure planning: proportional, multi-world, overlay, hybrid, target-weight. No I/O.
        .target(name: "Planning", dependencies: ["Contracts", "ExactNumbers"]),
        // KWP/1: framing, the Frame envelope, status codes, the RPC server and client on SwiftNIO.
        .target(
            name: "KeelWire",
            dependencies: [
                "Contracts",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The system protobuf-c library (Debian libprotobuf-c-dev).
        .systemLibrary(
            name: "CProtobufC",
            pkgConfig: "libprotobuf-c",
            providers: [.apt(["libprotobuf-c-dev"])]
        ),
        // A C client of KWP/1 on protobuf-c (protoc-c output committed under generated/).
        .target(
            name: "CKeelClient",
            dependencies: ["CProtobufC"],
            exclude: [],
            cSettings: [.headerSearchPath("generated")]
        ),
        // Benchmarks (scripts/bench builds them in release; the tests never run them).
        .executableTarget(name: "planner-bench", dependencies: ["Planning", "Contracts"], path: "Benchmarks/planner-bench"),
        .testTarget(name: "ExactNumbersTests", dependencies: ["ExactNumbers"]),
        .testTarget(name: "ContractsTests", dependencies: ["Contracts"]),
        .testTarget(
            name: "PlanningTests", dependencies: ["Planning", "Contracts", "ExactNumbers"],
            resources: [.copy("Fixtures")]),
        .testTarget(
            name: "KeelWireTests",
            dependencies: [
                "KeelWire", "Contracts", "CKeelClient",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
