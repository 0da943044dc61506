import BlockStore
import BlockStoreTesting
import Testing

@Suite struct MemoryBackendTests {
    @Test func passesTheBackendConformanceSuite() async throws {
        let backend = MemoryBackend()
        try await BackendConformance.run(backend, keyPrefix: "conformance")
        #expect(backend.allKeys.isEmpty, "the suite must delete everything it wrote")
    }
}
