import BlockSnap
import BlockStoreS3
import BlockStoreS3Testing
import Foundation
import Testing

/// Several hosts on one S3 store, as real processes: two `CrashHelper s3-writer` processes
/// back up different items at the same time, each taking a shared lock per backup, while a
/// `CrashHelper s3-gc` process collects garbage with the exclusive lock between their backups.
@Suite(.sharedMoto, .motoInstalled)
struct S3MultiProcessTests {
    @Test func twoWriterProcessesAndACollectorProcessLoseNothing() async throws {
        let helper = try #require(
            HelperProcess.helperPath(),
            "CrashHelper not found beside \(CommandLine.arguments[0]); build with `swift build --build-tests`")
        let server = try #require(MotoServer.shared)
        let bucket = await server.uniqueBucketName("processes")
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(
            "blocksnap-s3-processes-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let environment = [
            "AWS_ENDPOINT_URL": server.endpoint.absoluteString, "AWS_ENDPOINT_URL_S3": "",
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "",
            "AWS_REGION": "us-east-1",
        ]
        let storeURL = "s3://\(bucket)/store"
        let rounds = 8
        var children: [HelperProcess] = []
        defer { for child in children { child.killIfRunning() } }

        try await S3Backend.withBackend(configuration: try server.configuration(bucket: bucket, keyPrefix: "store")) {
            backend in
            try await backend.createBucket()
            var options = storeOptions(.none)
            options.packTargetBytes = 128 << 10
            try await ChunkStore.create(on: backend, encryption: .passphrase("pw"), options: options).close()

            let writers = try [("alpha", 81), ("beta", 82)].map { item, seed in
                try HelperProcess(
                    item, executable: helper,
                    arguments: ["s3-writer", storeURL, "pw", item, String(seed), String(rounds)],
                    environment: environment, directory: scratch)
            }
            children += writers
            // The collector starts once both writers have expired a point (so there is garbage),
            // while they go on writing.
            while writers.contains(where: { $0.isRunning && $0.lines("EXPIRED").isEmpty }) {
                try await Task.sleep(for: .milliseconds(20))
            }
            let collector = try HelperProcess(
                "gc", executable: helper, arguments: ["s3-gc", storeURL, "pw", "3"],
                environment: environment, directory: scratch)
            children.append(collector)

            for child in children {
                let status = await child.wait()
                #expect(status == 0, "\(child.name) exited with \(status): \(child.complaint)")
                #expect(child.lines("DONE").count == 1, "\(child.name) did not finish: \(child.output)")
            }
            let collections = collector.lines("GCDONE")
            #expect(collections.count == 3, "\(collector.output)")
            #expect(
                collections.reduce(0) { $0 + (Int($1.first ?? "") ?? 0) } > 0,
                "the collector deleted nothing, though both writers had expired points: \(collector.output)")
            #expect(try await backend.listAll(prefix: "locks/").isEmpty, "a process left its lock behind")

            // Every point a writer reported committed and did not expire is there and restores
            // bit-exact (its bytes' SHA-256 as the writer printed it); nothing else is there.
            let store = try await ChunkStore.open(
                on: backend, passphrase: "pw", options: storeOptions(.exclusive))
            let verify = try await store.verify()
            #expect(verify.isClean, "\(verify)")
            let chains = ChainStore(store: store, workerCount: 2)
            for writer in writers {
                let points = writer.lines("POINT")
                let expired = Set(writer.lines("EXPIRED").compactMap(\.first))
                #expect(points.count == rounds, "\(writer.name): \(writer.output)")
                #expect(expired.count == rounds / 2, "\(writer.name): \(writer.output)")
                let kept = points.filter { !expired.contains($0[0]) }
                #expect(
                    try await chains.points(item: ItemName(writer.name)).map(\.id.rawValue).sorted()
                        == kept.map { $0[0] }.sorted(),
                    "\(writer.name): the store's points differ from what the writer committed")
                for point in kept {
                    let bytes = try await restoredDisk(chains, item: ItemName(writer.name), point: PointID(point[0]))
                    #expect(
                        ChunkHasher.sha256.dataID(bytes).hex == point[1],
                        "\(writer.name) point \(point[0]) does not restore bit-exact")
                }
            }
            // And a last collection finds the store consistent.
            let last = try await store.collectGarbage()
            #expect(last.liveChunks > 0, "\(last)")
            #expect(try await store.verify().isClean)
            try await store.close()
        }
    }
}
