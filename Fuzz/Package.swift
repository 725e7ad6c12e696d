// swift-tools-version:6.0
import PackageDescription

// The KWP/1 fuzz target (libFuzzer), built by scripts/fuzz with -sanitize=fuzzer; never by `swift test`.
let package = Package(
    name: "KeelFuzz",
    dependencies: [
        .package(name: "Keel", path: ".."),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        .executableTarget(
            name: "kwp-fuzz",
            dependencies: [
                .product(name: "KeelWire", package: "Keel"),
                .product(name: "Contracts", package: "Keel"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
    ]
)
