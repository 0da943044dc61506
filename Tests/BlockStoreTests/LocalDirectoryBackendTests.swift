import BlockStore
import BlockStoreTesting
import Foundation
import Testing

@Suite struct LocalDirectoryBackendTests {
    @Test func passesTheBackendConformanceSuite() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("bk-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let backend = try LocalDirectoryBackend(root: root)
        let clock = ContinuousClock()
        let elapsed = try await clock.measure {
            try await BackendConformance.run(backend, keyPrefix: "conformance")
        }
        print("conformance on directory took \(elapsed)")
    }
}
