import BlockStore
import Foundation
import RecoveryChain
import Testing

/// Configuration, secrets and tags travel with a point, within their limits.
@Suite struct PointMetadataTests {
    @Test func configurationAndSecretsRoundTripWithThePoint() async throws {
        var rng = SeededGenerator(seed: 19)
        let store = try await ChunkStore.create(
            on: MemoryBackend(), encryption: .passphrase("pw"), options: testOptions())
        let chains = ChainStore(store: store, workerCount: 2)
        // Larger than one 1 MiB piece, so the blob spans several chunks.
        let configuration = (0..<((1 << 20) + 777)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let secrets = Array("disk-key: 00112233445566778899aabbccddeeff".utf8)
        var request = BackupRequest(
            item: "vm", disks: [DiskInput(disk: 0, source: MemoryDiskSource(bytes: [UInt8](repeating: 3, count: 8192)))]
        )
        request.blockSizeBytes = 4096
        request.configuration = configuration
        request.secrets = secrets
        request.tags = (0..<50).map { "tag-\($0)" }
        let with = try await chains.backup(request)
        #expect(with.point.hasConfiguration && with.point.hasSecrets)
        #expect(try await chains.configuration(item: "vm", point: with.point.id) == configuration)
        #expect(try await chains.secrets(item: "vm", point: with.point.id) == secrets)
        #expect(try await chains.point(item: "vm", point: with.point.id).tags == request.tags)

        request.configuration = []
        request.secrets = nil
        request.tags = []
        let without = try await chains.backup(request)
        #expect(try await chains.configuration(item: "vm", point: without.point.id) == [])
        #expect(try await chains.secrets(item: "vm", point: without.point.id) == nil)
        #expect(!without.point.hasSecrets)
    }

    @Test func secretsAreRefusedOnAnUnencryptedStore() async throws {
        let store = try await ChunkStore.create(on: MemoryBackend(), encryption: .none, options: testOptions())
        let chains = ChainStore(store: store, workerCount: 2)
        var request = BackupRequest(
            item: "vm", disks: [DiskInput(disk: 0, source: MemoryDiskSource(bytes: [UInt8](repeating: 3, count: 8192)))]
        )
        request.secrets = [1, 2, 3]
        do {
            _ = try await chains.backup(request)
            Issue.record("secrets were stored in the clear")
        } catch let error as RecoveryChainError {
            #expect(error.code == .invalidArgument)
            #expect(error.message.contains("encrypted"), "\(error.message)")
        }
        #expect(try await chains.points(item: "vm").isEmpty)
    }

    @Test func moreThanFiftyTagsAreRefused() async throws {
        let store = try await ChunkStore.create(on: MemoryBackend(), encryption: .none, options: testOptions())
        let chains = ChainStore(store: store, workerCount: 2)
        var request = BackupRequest(
            item: "vm", disks: [DiskInput(disk: 0, source: MemoryDiskSource(bytes: [UInt8](repeating: 3, count: 8192)))]
        )
        request.tags = (0..<51).map { "t\($0)" }
        do {
            _ = try await chains.backup(request)
            Issue.record("51 tags were accepted")
        } catch let error as RecoveryChainError {
            #expect(error.code == .limitExceeded)
            #expect(error.message.contains("50"), "\(error.message)")
        }
        #expect(try await chains.points(item: "vm").isEmpty)
    }
}
