import BlockStore
import BlockStoreTesting
import Testing

/// `listAll` stops a backend whose pages do not move on instead of looping forever.
@Suite struct ListingAdvanceTests {
    /// A memory backend whose listing misbehaves one way.
    struct StuckBackend: StorageBackend {
        enum Fault: String, CaseIterable, Sendable {
            /// Every page is the first one again, continuation included.
            case samePageForever
            /// The continuation goes back to the start.
            case continuationGoesBack
            /// Keys come out of order within a page.
            case keysOutOfOrder
        }

        let fault: Fault
        let memory = MemoryBackend()

        var location: String { "stuck memory" }
        var createIsAtomic: Bool { true }
        func put(_ key: ObjectKey, data: [UInt8]) async throws { try await memory.put(key, data: data) }
        func create(_ key: ObjectKey, data: [UInt8]) async throws -> Bool {
            try await memory.create(key, data: data)
        }
        func get(_ key: ObjectKey) async throws -> [UInt8] { try await memory.get(key) }
        func get(_ key: ObjectKey, byteCountMax: Int) async throws -> [UInt8] {
            try await memory.get(key, byteCountMax: byteCountMax)
        }
        func get(_ key: ObjectKey, range: Range<UInt64>) async throws -> [UInt8] {
            try await memory.get(key, range: range)
        }
        func size(_ key: ObjectKey) async throws -> UInt64? { try await memory.size(key) }
        func delete(_ key: ObjectKey) async throws { try await memory.delete(key) }

        func list(prefix: String, after: ObjectKey?, limit: Int) async throws -> ObjectListing {
            switch fault {
            case .samePageForever:
                return try await memory.list(prefix: prefix, after: nil, limit: limit)
            case .continuationGoesBack:
                var page = try await memory.list(prefix: prefix, after: after, limit: limit)
                if after != nil { page.continuation = "a/0" }
                return page
            case .keysOutOfOrder:
                var page = try await memory.list(prefix: prefix, after: after, limit: limit)
                page.entries.reverse()
                return page
            }
        }
    }

    @Test(arguments: StuckBackend.Fault.allCases)
    func listAllStopsAListingThatDoesNotAdvance(fault: StuckBackend.Fault) async throws {
        let backend = StuckBackend(fault: fault)
        for n in 0..<10 { try await backend.put(try ObjectKey(validating: "a/\(n)"), data: [UInt8(n)]) }
        // Raced against a generous bound, so a regression fails instead of hanging the run:
        // listAll checks for cancellation before each page.
        let outcome = await withTaskGroup(of: Result<Int, any Error>?.self) { group in
            group.addTask {
                do { return .success(try await backend.listAll(prefix: "a/", pageSize: 3).count) } catch {
                    return .failure(error)
                }
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(120))
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        guard case .failure(let thrown)? = outcome else {
            Issue.record("\(fault): listAll returned \(String(describing: outcome)) instead of throwing")
            return
        }
        let error = thrown as? BlockStoreError
        #expect(error?.code == .backendError, "\(fault): \(String(describing: error))")
        #expect(error?.message.contains("does not advance") == true, "\(fault): \(String(describing: error))")
    }

    @Test func listAllFollowsAnHonestListingToItsEnd() async throws {
        let backend = MemoryBackend()
        for n in 0..<10 { try await backend.put(try ObjectKey(validating: "a/\(n)"), data: []) }
        #expect(try await backend.listAll(prefix: "a/", pageSize: 3).count == 10)
    }
}
