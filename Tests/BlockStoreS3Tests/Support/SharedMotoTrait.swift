import BlockStoreS3
import BlockStoreS3Testing
import Testing

extension MotoServer {
    /// The server shared by one suite (set by ``SharedMotoTrait``).
    @TaskLocal static var shared: MotoServer?
}

/// Starts one moto server for a whole suite, shares it through ``MotoServer/shared`` and kills
/// it when the suite ends.
struct SharedMotoTrait: SuiteTrait, TestScoping {
    var isRecursive: Bool { false }

    func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        guard MotoServer.isInstalled, MotoServer.shared == nil else {
            try await function()
            return
        }
        try await MotoServer.withServer { server in
            try await MotoServer.$shared.withValue(server) { try await function() }
        }
    }
}

extension Trait where Self == SharedMotoTrait {
    /// One moto server for the suite.
    static var sharedMoto: Self { Self() }
}

extension Trait where Self == ConditionTrait {
    /// Skips the suite, saying how to install moto, where moto cannot be started.
    static var motoInstalled: Self {
        .enabled(if: MotoServer.isInstalled, Comment(rawValue: MotoServer.notInstalledMessage))
    }
}

/// Runs `body` with a backend on a fresh bucket of `server` (the suite's shared server by
/// default) and shuts the backend down afterwards.
func withMotoBackend<T>(
    _ hint: String = #function,
    server: MotoServer? = nil,
    keyPrefix: String = "store",
    configure: (inout S3Configuration) -> Void = { _ in },
    _ body: (S3Backend) async throws -> T
) async throws -> T {
    let server = try #require(server ?? MotoServer.shared, "no moto server in scope")
    var configuration = try server.configuration(
        bucket: await server.uniqueBucketName(hint), keyPrefix: keyPrefix)
    configure(&configuration)
    return try await S3Backend.withBackend(configuration: configuration) { backend in
        try await backend.createBucket()
        return try await body(backend)
    }
}
