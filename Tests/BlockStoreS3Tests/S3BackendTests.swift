import BlockStore
import BlockStoreS3
import BlockStoreS3Testing
import BlockStoreTesting
import Foundation
import Testing

/// The backend against a real S3 server on loopback (moto), one fresh bucket per test so the
/// tests run in parallel.
@Suite(.sharedMoto, .motoInstalled)
struct S3BackendTests {
    @Test func passesTheBackendConformanceSuite() async throws {
        try await withMotoBackend { backend in
            try await BackendConformance.run(backend, keyPrefix: "conformance")
        }
    }

    @Test func putGetAndSizeRoundTrip() async throws {
        try await withMotoBackend { backend in
            let data = SplitMix64.bytes(count: 100_000, seed: 1)
            try await backend.put("data/ab/pack-1", data: data)
            #expect(try await backend.get("data/ab/pack-1") == data)
            #expect(try await backend.size("data/ab/pack-1") == 100_000)
            #expect(try await backend.size("data/ab/missing") == nil)
            try await backend.put("data/ab/pack-1", data: [1, 2, 3])
            #expect(try await backend.get("data/ab/pack-1") == [1, 2, 3])
            try await backend.put("empty", data: [])
            #expect(try await backend.get("empty") == [])
            #expect(try await backend.size("empty") == 0)
            let error = await #expect(throws: BlockStoreError.self) {
                try await backend.get("nope")
            }
            #expect(error?.code == .notFound)
            #expect(error?.message.contains("nope") == true)
        }
    }

    @Test func rangedGetsClampToTheEnd() async throws {
        try await withMotoBackend { backend in
            let data = SplitMix64.bytes(count: 1000, seed: 2)
            try await backend.put("obj", data: data)
            #expect(try await backend.get("obj", range: 10..<20) == Array(data[10..<20]))
            #expect(try await backend.get("obj", range: 0..<1000) == data)
            #expect(try await backend.get("obj", range: 990..<5000) == Array(data[990...]))
            #expect(try await backend.get("obj", range: 1000..<1010) == [])
            #expect(try await backend.get("obj", range: 5000..<6000) == [])
            #expect(try await backend.get("obj", range: 7..<7) == [])
            #expect(try await backend.get("obj", range: 995..<UInt64.max) == Array(data[995...]))
            #expect(try await backend.get("obj", range: 0..<UInt64(Int64.max)) == data)
            #expect(try await backend.get("obj", range: UInt64.max - 1..<UInt64.max) == [])
            try await backend.put("empty", data: [])
            #expect(try await backend.get("empty", range: 0..<10) == [])
            for range: Range<UInt64> in [0..<10, 3..<3] {
                let error = await #expect(throws: BlockStoreError.self) {
                    try await backend.get("nope", range: range)
                }
                #expect(error?.code == .notFound)
            }
        }
    }

    @Test func listingPagesThrough2500KeysAndBatchDeleteRemovesThem() async throws {
        try await withMotoBackend { backend in
            let keys = (0..<2500).map { ObjectKey(stringLiteral: String(format: "index/%05d", $0)) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                var next = 0
                for _ in 0..<16 {
                    let index = next
                    next += 1
                    group.addTask { try await backend.put(keys[index], data: [UInt8(index % 256)]) }
                }
                while try await group.next() != nil, next < keys.count {
                    let index = next
                    next += 1
                    group.addTask { try await backend.put(keys[index], data: [UInt8(index % 256)]) }
                }
            }
            try await backend.put("other/x", data: [9, 9])

            let before = backend.statistics.requestCountByOperation["ListObjectsV2", default: 0]
            let all = try await backend.listAll(prefix: "index/", pageSize: 1000)
            #expect(all.map(\.key) == keys)
            #expect(all.allSatisfy { $0.sizeBytes == 1 })
            #expect(
                backend.statistics.requestCountByOperation["ListObjectsV2", default: 0] - before
                    == 3)

            let page = try await backend.list(prefix: "index/", after: keys[999], limit: 1000)
            #expect(page.entries.first?.key == keys[1000])
            #expect(page.entries.count == 1000)
            #expect(page.continuation == keys[1999])
            let last = try await backend.list(prefix: "index/", after: keys[1999], limit: 1000)
            #expect(last.entries.count == 500)
            #expect(last.continuation == nil)
            let small = try await backend.list(prefix: "index/0001", after: nil, limit: 3)
            #expect(
                small.entries.map(\.key.rawValue) == ["index/00010", "index/00011", "index/00012"])
            #expect(small.continuation == "index/00012")
            let everything = try await backend.list(prefix: "", after: nil, limit: 5000)
            #expect(everything.entries.count == 2501)
            #expect(everything.continuation == nil)

            let deletesBefore = backend.statistics.requestCountByOperation[
                "DeleteObjects", default: 0]
            try await backend.deleteMany(keys + ["index/never-existed"])
            #expect(
                backend.statistics.requestCountByOperation["DeleteObjects", default: 0]
                    - deletesBefore == 3)
            #expect(try await backend.listAll(prefix: "index/").isEmpty)
            #expect(try await backend.get("other/x") == [9, 9])
        }
    }

    @Test func multipartUploadOf12MiBRoundTripsBitExact() async throws {
        try await withMotoBackend(configure: {
            $0.multipartThresholdBytes = 5 * 1024 * 1024
            $0.multipartPartSizeBytes = 5 * 1024 * 1024
            $0.multipartConcurrency = 2
        }) { backend in
            let data = SplitMix64.bytes(count: 12 * 1024 * 1024 + 17, seed: 3)
            try await backend.put("packs/big", data: data)
            let counts = backend.statistics.requestCountByOperation
            #expect(counts["CreateMultipartUpload"] == 1)
            #expect(counts["UploadPart"] == 3)
            #expect(counts["CompleteMultipartUpload"] == 1)
            #expect(counts["PutObject"] == nil)
            #expect(try await backend.size("packs/big") == UInt64(data.count))
            #expect(try await backend.get("packs/big") == data)
            let middle: Range<UInt64> = 5 * 1024 * 1024 - 10..<5 * 1024 * 1024 + 10
            #expect(
                try await backend.get("packs/big", range: middle)
                    == Array(data[Int(middle.lowerBound)..<Int(middle.upperBound)]))
        }
    }

    @Test func createOnlyRefusesAnExistingKeyAndLeavesIt() async throws {
        try await withMotoBackend { (backend: S3Backend) async throws in
            #expect(backend.createIsAtomic)
            #expect(try await backend.create("locks/a", data: [1]) == true)
            #expect(try await backend.create("locks/a", data: [2]) == false)
            #expect(try await backend.get("locks/a") == [1])
            #expect(try await backend.probeConditionalWrites() == true)
        }
    }

    @Test func createWithoutAtomicServiceChecksFirst() async throws {
        try await withMotoBackend(configure: { $0.createIsAtomic = false }) {
            (backend: S3Backend) async throws in
            #expect(!backend.createIsAtomic)
            #expect(try await backend.create("locks/a", data: [1]) == true)
            #expect(try await backend.create("locks/a", data: [2]) == false)
            #expect(try await backend.get("locks/a") == [1])
        }
    }

    @Test func concurrentCreatorsHaveExactlyOneWinner() async throws {
        try await withMotoBackend { backend in
            let wins = try await withThrowingTaskGroup(of: Bool.self) { group in
                for i in 0..<8 {
                    group.addTask { try await backend.create("locks/race", data: [UInt8(i)]) }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(wins == 1)
        }
    }

    @Test func deleteIsIdempotentAndPrefixesKeepStoresApart() async throws {
        try await withMotoBackend(keyPrefix: "store-a") { backend in
            var other = backend.configuration
            other.keyPrefix = "store-b"
            try await S3Backend.withBackend(configuration: other) { b in
                try await backend.put("k", data: [1])
                try await b.put("k", data: [2])
                #expect(try await backend.get("k") == [1])
                #expect(try await b.get("k") == [2])
                #expect(try await backend.listAll(prefix: "").map(\.key) == ["k"])
                try await backend.delete("k")
                try await backend.delete("k")
                try await backend.delete("never")
                #expect(try await backend.size("k") == nil)
                #expect(try await b.get("k") == [2])
                try await backend.deleteMany([])
            }
        }
    }

    @Test func unsignedPayloadsRoundTrip() async throws {
        try await withMotoBackend(configure: {
            $0.signsPayload = false
            $0.multipartThresholdBytes = 5 * 1024 * 1024
            $0.multipartPartSizeBytes = 5 * 1024 * 1024
        }) { backend in
            let data = SplitMix64.bytes(count: 6 * 1024 * 1024, seed: 4)
            try await backend.put("big", data: data)
            try await backend.put("small", data: [1, 2])
            #expect(try await backend.get("big") == data)
            #expect(try await backend.get("small") == [1, 2])
        }
    }

    @Test func missingBucketIsATypedErrorNamingTheBucket() async throws {
        let server = try #require(MotoServer.shared)
        let configuration = try server.configuration(bucket: "no-such-bucket-here")
        try await S3Backend.withBackend(configuration: configuration) { backend in
            for operation in ["get", "put", "size", "list", "delete"] {
                let error = await #expect(throws: BlockStoreError.self, "\(operation)") {
                    switch operation {
                    case "get": _ = try await backend.get("k")
                    case "put": try await backend.put("k", data: [1])
                    case "size": _ = try await backend.size("k")
                    case "list": _ = try await backend.list(prefix: "", after: nil, limit: 10)
                    default: try await backend.delete("k")
                    }
                }
                #expect(error?.code == .backendError)
                #expect(
                    error?.message.contains(
                        "bucket no-such-bucket-here does not exist at http://127.0.0.1:\(server.port)"
                    ) == true)
                #expect((error?.underlying as? S3ServiceError)?.reason == .bucketMissing)
            }
        }
    }
}
