import BlockStore
import BlockStoreTesting
import Testing

@Suite struct MemoryBackendTests {
    @Test func passesTheBackendConformanceSuiteAndLeavesNothingBehind() async throws {
        let backend = MemoryBackend()
        try await BackendConformance.run(backend, keyPrefix: "conformance/memory")
        #expect(backend.allKeys.isEmpty, "the suite must delete everything it wrote")
    }

    @Test func theSuiteWritesOnlyUnderItsKeyPrefix() async throws {
        let backend = FaultInjectingBackend(wrapping: MemoryBackend())
        let bystander: ObjectKey = "conformance-neighbour"
        try await backend.put(bystander, data: [7])
        try await BackendConformance.run(backend, keyPrefix: "conformance")
        #expect(try await backend.get(bystander) == [7])
        #expect(try await backend.listAll(prefix: "").map(\.key) == [bystander])
        #expect(backend.callCount(.put) > 40)
    }

    @Test func theSuiteRejectsAnInvalidKeyPrefix() async {
        let error = await #expect(throws: ConformanceFailure.self) {
            try await BackendConformance.run(MemoryBackend(), keyPrefix: "../escape")
        }
        #expect(error?.message.contains("../escape") == true)
    }
}
