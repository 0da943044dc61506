import BlockStore
import BlockStoreTesting
import Testing

@Suite struct FaultInjectingBackendTests {
    @Test func withoutFaultsItIsTransparentAndPassesTheConformanceSuite() async throws {
        let memory = MemoryBackend()
        let backend = FaultInjectingBackend(wrapping: memory, seed: 1)
        try await BackendConformance.run(backend, keyPrefix: "conformance")
        for operation in FaultInjectingBackend.Operation.allCases {
            #expect(backend.callCount(operation) > 0, "the suite never called \(operation)")
        }
        #expect(backend.injectedFailureCount == 0)
        #expect(backend.corruptedReadCount == 0)
        #expect(!backend.hasCrashed)
        #expect(backend.createIsAtomic == memory.createIsAtomic)
        #expect(memory.allKeys.isEmpty)
    }

    @Test func countsEveryCallPerOperation() async throws {
        let backend = FaultInjectingBackend(wrapping: MemoryBackend())
        try await backend.put("a", data: [1])
        try await backend.put("b", data: [2])
        _ = try await backend.create("a", data: [3])
        _ = try await backend.get("a")
        _ = try await backend.get("a", range: 0..<1)
        _ = try? await backend.get("missing")
        _ = try await backend.size("b")
        _ = try await backend.list(prefix: "", after: nil, limit: 10)
        try await backend.delete("b")
        #expect(
            backend.callCounts == [
                .put: 2, .create: 1, .get: 2, .rangedGet: 1, .size: 1, .list: 1, .delete: 1,
            ])
        #expect(backend.mutatingOperationCount == 4)
    }

    @Test func aCertainFailureStopsEveryCallOfThatOperationBeforeItLands() async throws {
        let memory = MemoryBackend()
        try await memory.put("existing", data: [1, 2])
        let backend = FaultInjectingBackend(
            wrapping: memory, seed: 3, configuration: .init(failureProbabilities: [.put: 1]))
        for index in 0..<5 {
            let error = await #expect(throws: BlockStoreError.self) {
                try await backend.put(ObjectKey(validating: "k\(index)"), data: [0])
            }
            #expect(error?.code == .backendError)
            #expect(error?.message.contains("seed 3") == true)
            let fault = error.flatMap { FaultInjectingBackend.injectedFault(in: $0) }
            #expect(fault == .init(kind: .failure, operation: .put))
        }
        #expect(memory.allKeys == ["existing"])
        #expect(try await backend.get("existing") == [1, 2])
        #expect(try await backend.create("created", data: [3]))
        #expect(backend.injectedFailureCount == 5)
        #expect(backend.callCount(.put) == 5)
        #expect(backend.mutatingOperationCount == 1)
    }

    @Test func aFailureAfterApplyingLeavesTheWriteInPlace() async throws {
        let memory = MemoryBackend()
        let backend = FaultInjectingBackend(
            wrapping: memory,
            configuration: .init(
                failureProbabilities: [.put: 1, .delete: 1], failuresAfterApplyingFraction: 1))
        let error = await #expect(throws: BlockStoreError.self) {
            try await backend.put("landed", data: [4])
        }
        #expect(
            error.flatMap { FaultInjectingBackend.injectedFault(in: $0) }?.kind
                == .failureAfterApplying)
        #expect(try await memory.get("landed") == [4])
        await #expect(throws: BlockStoreError.self) { try await backend.delete("landed") }
        #expect(memory.allKeys.isEmpty)
    }

    @Test func theSameSeedFailsTheSameCalls() async throws {
        func outcomes(seed: UInt64) async throws -> [Bool] {
            let memory = MemoryBackend()
            try await memory.put("object", data: [1])
            let backend = FaultInjectingBackend(
                wrapping: memory, seed: seed,
                configuration: .init(failureProbabilities: [.get: 0.3]))
            var failed: [Bool] = []
            for _ in 0..<200 {
                do {
                    _ = try await backend.get("object")
                    failed.append(false)
                } catch {
                    #expect(FaultInjectingBackend.injectedFault(in: error) != nil)
                    failed.append(true)
                }
            }
            #expect(backend.injectedFailureCount == failed.filter { $0 }.count)
            return failed
        }
        let first = try await outcomes(seed: 42)
        #expect(try await outcomes(seed: 42) == first)
        #expect(try await outcomes(seed: 43) != first)
        // 200 draws at 0.3: the mean is 60, the standard deviation about 6.5.
        #expect((30...90).contains(first.filter { $0 }.count))
    }

    @Test func aCrashAfterNMutationsKeepsExactlyThoseAndFailsEverythingAfter() async throws {
        let memory = MemoryBackend()
        let backend = FaultInjectingBackend(
            wrapping: memory, configuration: .init(crashAfterMutatingOperations: 3))
        try await backend.put("k0", data: [0])
        #expect(try await backend.create("k1", data: [1]))
        #expect(try await backend.get("k0") == [0])
        try await backend.put("k2", data: [2])
        #expect(backend.hasCrashed)
        for call in 0..<4 {
            let error = await #expect(throws: BlockStoreError.self) {
                switch call {
                case 0: try await backend.put("k3", data: [3])
                case 1: _ = try await backend.get("k0")
                case 2: _ = try await backend.list(prefix: "", after: nil, limit: 10)
                default: try await backend.delete("k0")
                }
            }
            #expect(error.flatMap { FaultInjectingBackend.injectedFault(in: $0) }?.kind == .crash)
            #expect(error?.message.hasPrefix("simulated crash") == true)
        }
        #expect(memory.allKeys == ["k0", "k1", "k2"])
        #expect(backend.mutatingOperationCount == 3)
        #expect(backend.callCount(.put) == 3)
    }

    @Test func aCrashAtZeroStopsTheFirstWriteAndAManualCrashStopsEverything() async throws {
        let memory = MemoryBackend()
        let atZero = FaultInjectingBackend(
            wrapping: memory, configuration: .init(crashAfterMutatingOperations: 0))
        #expect(try await atZero.size("k") == nil)
        await #expect(throws: BlockStoreError.self) { try await atZero.put("k", data: [1]) }
        #expect(memory.allKeys.isEmpty)

        let manual = FaultInjectingBackend(wrapping: memory)
        try await manual.put("k", data: [1])
        manual.crash()
        await #expect(throws: BlockStoreError.self) { _ = try await manual.size("k") }
        #expect(memory.allKeys == ["k"])
    }

    @Test func corruptedReadsFlipExactlyOneBitAndLeaveTheObjectIntact() async throws {
        let memory = MemoryBackend()
        let data = (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try await memory.put("object", data: data)
        try await memory.put("empty", data: [])
        let backend = FaultInjectingBackend(
            wrapping: memory, seed: 9, configuration: .init(readCorruptionProbability: 1))
        for _ in 0..<20 {
            let read = try await backend.get("object")
            #expect(read.count == data.count)
            #expect(zip(read, data).map { ($0 ^ $1).nonzeroBitCount }.reduce(0, +) == 1)
        }
        let ranged = try await backend.get("object", range: 100..<200)
        #expect(zip(ranged, data[100..<200]).map { ($0 ^ $1).nonzeroBitCount }.reduce(0, +) == 1)
        #expect(try await backend.get("empty") == [])
        #expect(backend.corruptedReadCount == 21)
        #expect(try await memory.get("object") == data)

        backend.configuration.readCorruptionProbability = 0
        #expect(try await backend.get("object") == data)
    }

    @Test func faultsCanBeSwitchedOnAfterSetup() async throws {
        let backend = FaultInjectingBackend(wrapping: MemoryBackend(), seed: 5)
        try await backend.put("setup", data: [1])
        backend.configuration = .failingEveryOperation(withProbability: 1)
        for operation in FaultInjectingBackend.Operation.allCases {
            let error = await #expect(throws: BlockStoreError.self) {
                switch operation {
                case .put: try await backend.put("x", data: [])
                case .create: _ = try await backend.create("x", data: [])
                case .get: _ = try await backend.get("setup")
                case .rangedGet: _ = try await backend.get("setup", range: 0..<1)
                case .size: _ = try await backend.size("setup")
                case .list: _ = try await backend.list(prefix: "", after: nil, limit: 1)
                case .delete: try await backend.delete("setup")
                }
            }
            #expect(
                error.flatMap { FaultInjectingBackend.injectedFault(in: $0) }?.operation
                    == operation)
        }
        backend.configuration = .init()
        #expect(try await backend.get("setup") == [1])
    }

    @Test func itsGeneratorMatchesThePublishedSplitMix64Sequence() {
        var generator = SplitMix64(seed: 0)
        #expect(generator.next() == 0xE220_A839_7B1D_CDAF)
        #expect(generator.next() == 0x6E78_9E6A_A1B9_65F4)
        #expect(generator.next() == 0x06C4_5D18_8009_454F)
        var a = SplitMix64(seed: 77)
        var b = SplitMix64(seed: 77)
        #expect(a.bytes(count: 13) == b.bytes(count: 13))
        #expect((0..<1000).allSatisfy { _ in (0..<1).contains(a.nextUnitInterval()) })
    }
}
