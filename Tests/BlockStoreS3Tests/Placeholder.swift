import BlockStoreS3
import Testing

@Test func moduleLinks() { #expect(Bool(true)) }
