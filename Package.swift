// swift-tools-version:6.0
import PackageDescription

// Keel: three services (planner, gateway, capital) that speak KWP/1 to each other.
// Layout and dependency rules: pure modules (Planning, Execution, CapitalAllocation) never import NIO or
// GRDB; services depend on pure modules, never the reverse; executables only configure.

// The shipped executables are linked by lld with packed relative relocations (DT_RELR, glibc 2.36 and
// later), and export no symbols of their own (nothing looks them up; swiftc exports every one by
// default): the loader's 108,000 start-up pointer fixes are read from a 20 KB table instead of a
// 2.6 MB one, and its symbol table shrinks from 800 KB to 14 KB. Each idle service is about 4.5 MiB
// smaller for it (Benchmarks/notes.md, Memory).
let serviceLinking: [LinkerSetting] = [
    .unsafeFlags(
        ["-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs", "-Xlinker", "--no-export-dynamic"],
        .when(platforms: [.linux])),
]

/// A service module: handlers + store + wiring over its pure modules, on the shared host, wire and store.
func serviceModule(_ name: String, _ pure: Target.Dependency...) -> Target {
    .target(
        name: name,
        dependencies: pure + [
            "Contracts", "KeelWire", "KeelOps", "KeelStore", "ExactNumbers", "KeelHost",
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ]
    )
}

/// A service executable: configuration only (flags, environment, config file) over its service module.
func serviceExecutable(_ name: String, _ modules: Target.Dependency...) -> Target {
    .executableTarget(
        name: name,
        dependencies: modules + [
            "KeelOps", "KeelHost",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ],
        linkerSettings: serviceLinking
    )
}

let package = Package(
    name: "Keel",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "Contracts", targets: ["Contracts"]),
        .library(name: "KeelWire", targets: ["KeelWire"]),
        .library(name: "CKeelClient", targets: ["CKeelClient"]),
        .library(name: "Planning", targets: ["Planning"]),
        .executable(name: "keel-planner", targets: ["keel-planner"]),
        .executable(name: "keel-gateway", targets: ["keel-gateway"]),
        .executable(name: "keel-capital", targets: ["keel-capital"]),
        .executable(name: "keel", targets: ["keel"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
    ],
    targets: [
        // Exact integers, decimals and rationals, and Keel's one decimal grammar. Pure, no dependencies.
        .target(name: "ExactNumbers"),
        // The venues' dialects, pure: request signing, rate limits as the venue counts them, its
        // instruments, and its answers read into accepted / rejected / unknown. No I/O.
        .target(
            name: "Venues",
            dependencies: ["ExactNumbers", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // swift-protobuf output for proto/ (committed; scripts/gen-contracts) + small extensions.
        .target(
            name: "Contracts",
            dependencies: [
                "ExactNumbers",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // Pure planning: proportional, multi-world, overlay, hybrid, target-weight. No I/O.
        .target(
            name: "Planning",
            dependencies: ["Contracts", "ExactNumbers", .product(name: "SwiftProtobuf", package: "swift-protobuf")]
        ),
        // Pure order building: venue policy, reduce-only legs, the strategy split, the shared-account policy.
        .target(
            name: "Execution",
            dependencies: ["Planning", "Contracts", "ExactNumbers", .product(name: "SwiftProtobuf", package: "swift-protobuf")]
        ),
        // Pure capital maths: allocation, order quantity, PnL compounding, rebalance conditions.
        .target(name: "CapitalAllocation", dependencies: ["Contracts", "ExactNumbers"]),
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
        // What the services' stores share: opening a WAL database with migrations, ids, commit signals.
        .target(
            name: "KeelStore",
            dependencies: [
                "Contracts",
                .product(name: "GRDB", package: "GRDB.swift"),
                // The SQLite C API GRDB is built on: the WAL hook of the store's checkpoints.
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        // What every service process shares: the /metrics and /healthz HTTP endpoint, the metrics
        // backend, the service flags and environment.
        .target(
            name: "KeelOps",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The one process host: the KWP/1 server, Health, metrics and every background loop as
        // swift-service-lifecycle services in one ServiceGroup, shut down in order.
        .target(
            name: "KeelHost",
            dependencies: [
                "KeelWire", "KeelOps", "KeelStore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // keel-planner: handlers + store + events over the pure Planning module.
        serviceModule("PlannerService", "Planning"),
        serviceExecutable("keel-planner", "PlannerService"),
        // keel-gateway: handlers over the pure Execution module, the planner client.
        serviceModule("GatewayService", "Execution", "Planning", "Venues"),
        serviceExecutable("keel-gateway", "GatewayService", "Execution"),
        // keel-capital: handlers + store + scheduler over the pure CapitalAllocation module.
        serviceModule("CapitalService", "CapitalAllocation"),
        serviceExecutable("keel-capital", "CapitalService", "CapitalAllocation"),
        // The CLI: any RPC with a JSON body.
        .executableTarget(
            name: "keel",
            dependencies: [
                "KeelWire", "Contracts", "ExactNumbers",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            linkerSettings: serviceLinking
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
        .executableTarget(
            name: "planner-bench",
            dependencies: ["Planning", "Contracts", "PlannerService", "KeelWire", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            path: "Benchmarks/planner-bench"),
        .executableTarget(
            name: "keel-bench",
            dependencies: [
                "Contracts", "Execution", "KeelWire", "PlannerService", "GatewayService", "CapitalService",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Benchmarks/keel-bench"),
        .testTarget(
            name: "PlannerServiceTests",
            dependencies: ["PlannerService", "Planning", "KeelWire", "Contracts", "KeelStore", "KeelOps", "KeelTestSupport"]),
        .testTarget(name: "ExactNumbersTests", dependencies: ["ExactNumbers", "KeelTestSupport"]),
        .testTarget(name: "ContractsTests", dependencies: ["Contracts", "KeelTestSupport", .product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        // The worked example cases (Fixtures/) and their comparison rules.
        .target(
            name: "KeelTestSupport",
            dependencies: [
                "ExactNumbers", "KeelWire", "Contracts",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            path: "Tests/KeelTestSupport",
            resources: [.copy("Fixtures")]),
        .testTarget(
            name: "GatewayServiceTests",
            dependencies: [
                "GatewayService", "PlannerService", "Execution", "Planning", "KeelWire", "Contracts", "KeelTestSupport", "Venues",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(name: "VenuesTests", dependencies: ["Venues", "ExactNumbers", "KeelTestSupport", .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(
            name: "KeelStoreTests",
            dependencies: ["KeelStore", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "ExecutionTests", dependencies: ["Execution", "Planning", "Contracts", "ExactNumbers", "KeelTestSupport"]),
        .testTarget(name: "CapitalAllocationTests", dependencies: ["CapitalAllocation", "Planning", "Contracts", "ExactNumbers", "KeelTestSupport"]),
        // The three executables as processes, end to end.
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "KeelWire", "Contracts", "ExactNumbers", "KeelTestSupport",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]),
        .testTarget(
            name: "CapitalServiceTests",
            dependencies: [
                "CapitalService", "CapitalAllocation", "GatewayService", "PlannerService", "Execution", "KeelWire", "Contracts",
                "ExactNumbers", "KeelTestSupport",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]),
        .testTarget(name: "PlanningTests", dependencies: ["Planning", "Contracts", "ExactNumbers", "KeelTestSupport"]),
        .testTarget(
            name: "KeelWireTests",
            dependencies: [
                "KeelWire", "Contracts", "CKeelClient", "KeelTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
