import BlockStore
import BlockStoreTesting
import Testing

/// The conformance suite must catch a backend that breaks any one guarantee.
@Suite struct BackendConformanceTests {
    @Test(arguments: BrokenBackend.Flaw.allCases)
    func theSuiteCatchesABackendThatBreaksOneGuarantee(flaw: BrokenBackend.Flaw) async throws {
        let backend = BrokenBackend(flaw: flaw)
        let failure = await #expect(throws: ConformanceFailure.self) {
            try await BackendConformance.run(backend, keyPrefix: "conformance")
        }
        #expect(
            failure?.message.contains(flaw.expectedMention) == true,
            "\(String(describing: failure))")
    }
}
