import BlockStore
import BlockStoreTesting
import Foundation
import Testing

/// Store locks fail closed: what cannot be read is held, staleness is judged on this process's
/// own clock, and a holder whose refresh fails stops before anyone could take its lock over.
@Suite struct StoreLockTests {
    static func options(
        _ lock: StoreLockMode, staleAfter: Duration, timeout: Duration, clockOffsetSeconds: Double = 0
    ) -> ChunkStoreOptions {
        var o = fastOptions(lock: lock)
        o.lockStaleAfter = staleAfter
        o.lockTimeout = timeout
        o.lockWallClock = { Date().addingTimeInterval(clockOffsetSeconds) }
        o.lockObservations = LockObservations()  // each store plays another process
        return o
    }

    static func acquire(
        _ mode: StoreLockMode, _ backend: any StorageBackend, staleAfter: Duration = .seconds(600),
        timeout: Duration, observations: LockObservations = LockObservations()
    ) async throws -> StoreLockHandle? {
        try await StoreLockHandle.acquire(
            mode, backend: backend, staleAfter: staleAfter, timeout: timeout, observations: observations)
    }

    // MARK: - Clock skew

    @Test(arguments: [-2.0, 2.0], LockTestBackend.Kind.allCases)
    func aWriterWhoseClockIsHoursOffIsNeverJudgedStaleWhileItRefreshes(
        skewHours: Double, kind: LockTestBackend.Kind
    ) async throws {
        let place = try LockTestBackend(kind)
        let backend = place.backend
        let staleAfter = Duration.seconds(1)
        try await ChunkStore.create(on: backend, encryption: .none, options: fastOptions()).close()
        let writer = try await ChunkStore.open(
            on: backend,
            options: Self.options(
                .shared, staleAfter: staleAfter, timeout: .seconds(1), clockOffsetSeconds: skewHours * 3600))
        let key = try #require(try await backend.listAll(prefix: "locks/").first?.key)
        let first = try #require(LockRecordFixture.decode(try await backend.get(key)))
        #expect(
            abs(first.refreshed.timeIntervalSinceNow - skewHours * 3600) < 1800,
            "the writer's record carries its skewed clock")

        // A collector whose clock is off the other way (4 h from the writer's) tries for three
        // stale intervals. It never gets in beside the live writer: if it gets in at all (a
        // machine so busy that the writer could not refresh), the writer had stopped first.
        do {
            let gc = try await ChunkStore.open(
                on: backend,
                options: Self.options(
                    .exclusive, staleAfter: staleAfter, timeout: staleAfter * 3, clockOffsetSeconds: -skewHours * 3600))
            let error = await #expect(throws: BlockStoreError.self, "the collector got in beside a live writer") {
                try await writer.flush()
            }
            #expect(error?.code == .lockLost, "skew \(skewHours) h on \(kind): \(String(describing: error))")
            try? await gc.close()
            try? await writer.close()
            return
        } catch let error as BlockStoreError {
            #expect(error.code == .locked, "skew \(skewHours) h on \(kind): \(error)")
            #expect(error.message.contains("by a writer"), "\(error)")
        }
        let later = try #require(
            LockRecordFixture.decode(try await backend.get(key)), "the writer's lock is still there")
        #expect(
            later.token == first.token && later.counter > first.counter,
            "the writer refreshed: \(first.counter) → \(later.counter)")
        try? await writer.close()
        // Once it is gone the collector gets in at its first try.
        let gc = try await ChunkStore.open(
            on: backend,
            options: Self.options(
                .exclusive, staleAfter: staleAfter, timeout: .zero, clockOffsetSeconds: -skewHours * 3600))
        try await gc.close()
    }

    // MARK: - What cannot be read is held

    enum Unreadable: String, CaseIterable, Sendable {
        case garbage, empty, huge, previousFormat, badToken

        var bytes: [UInt8] {
            switch self {
            case .garbage: return (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 151 &+ 7) }
            case .empty: return []
            case .huge: return [UInt8](repeating: UInt8(ascii: "{"), count: 1 << 20)
            case .previousFormat:
                return Array(
                    #"{"hostname":"h","pid":1,"exclusive":true,"created":"2020-01-01T00:00:00Z","refreshed":"2020-01-01T00:00:00Z"}"#
                        .utf8)
            case .badToken:
                var record = LockRecordFixture(owner: .elsewhere, exclusive: false)
                record.token = "not/a token"
                return record.encoded()
            }
        }
    }

    @Test(arguments: Unreadable.allCases)
    func aLockObjectThatCannotBeDecodedCountsAsHeldByEveryLocker(_ kind: Unreadable) async throws {
        let backend = MemoryBackend()
        let key = randomLockKey()
        let bytes = kind.bytes
        try await backend.put(key, data: bytes)
        for mode in [StoreLockMode.exclusive, .shared] {
            let error = await #expect(throws: BlockStoreError.self) {
                let handle = try await Self.acquire(mode, backend, timeout: .milliseconds(200))
                await handle?.release()
            }
            #expect(error?.code == .locked, "\(kind) \(mode): \(String(describing: error))")
            #expect(
                error?.message.contains(key.rawValue) == true,
                "the message names the object: \(String(describing: error))")
        }
        #expect(try await backend.get(key) == bytes, "\(kind): an unreadable lock is never removed for it")
        #expect(
            try await backend.listAll(prefix: "locks/").map(\.key) == [key], "the lockers removed their own objects")
    }

    @Test func anUndecodableLockThatNeverChangesGoesStaleAfterTheStaleIntervalOfObservation() async throws {
        let backend = MemoryBackend()
        let key = randomLockKey()
        try await backend.put(key, data: Unreadable.garbage.bytes)
        let handle = try #require(
            try await Self.acquire(.exclusive, backend, staleAfter: .milliseconds(300), timeout: .seconds(5)))
        #expect(try await backend.size(key) == nil, "the exclusive locker removed the stale object")
        await handle.release()
    }

    @Test func aLockObjectThatCannotBeReadCountsAsHeld() async throws {
        let memory = MemoryBackend()
        let holder = try #require(try await Self.acquire(.shared, memory, timeout: .zero))
        let faulty = FaultInjectingBackend(
            wrapping: memory, seed: 3, configuration: .init(failureProbabilities: [.rangedGet: 1]))
        let error = await #expect(throws: BlockStoreError.self) {
            let handle = try await Self.acquire(.exclusive, faulty, timeout: .milliseconds(200))
            await handle?.release()
        }
        #expect(error?.code == .locked, "\(String(describing: error))")
        #expect(
            (error?.underlying as? BlockStoreError).flatMap { FaultInjectingBackend.injectedFault(in: $0) } != nil,
            "the cause is the read error: \(String(describing: error))")
        try holder.checkHeld()
        #expect(try await memory.listAll(prefix: "locks/").map(\.key) == [holder.key])
        await holder.release()
    }

    @Test(arguments: [StoreLockMode.exclusive, .shared])
    func aLockerThatCannotListTheLocksNeverProceeds(_ mode: StoreLockMode) async throws {
        let memory = MemoryBackend()  // no lock at all: only the listing stands in the way
        let faulty = FaultInjectingBackend(
            wrapping: memory, seed: 4, configuration: .init(failureProbabilities: [.list: 1]))
        let error = await #expect(throws: BlockStoreError.self) {
            let handle = try await Self.acquire(mode, faulty, timeout: .milliseconds(200))
            await handle?.release()
        }
        #expect(error?.code == .backendError, "\(String(describing: error))")
        #expect(faulty.callCount(.list) >= 2, "it retried until its timeout")
        #expect(try await memory.listAll(prefix: "locks/").isEmpty, "it removed its own lock object")
    }

    // MARK: - Staleness by observation, never by timestamps

    @Test func aLockNobodyRefreshesIsTakenOverOnlyAfterThisProcessWatchedItForTheStaleInterval() async throws {
        let backend = MemoryBackend()
        let key = randomLockKey()
        // Its wall-clock dates say a day old; it is from another host (never provably gone).
        try await backend.put(key, data: LockRecordFixture(owner: .elsewhere, exclusive: true).encoded())
        let memory = LockObservations()
        let staleAfter = Duration.milliseconds(400)
        let first = await #expect(throws: BlockStoreError.self) {
            let handle = try await Self.acquire(
                .shared, backend, staleAfter: staleAfter, timeout: .zero, observations: memory)
            await handle?.release()
        }
        #expect(first?.code == .locked, "a day-old timestamp does not make a lock stale: \(String(describing: first))")
        #expect(first?.message.contains("another-host.example") == true)
        try await Task.sleep(for: staleAfter + .milliseconds(50))
        // The same process tries again: it has now seen the counter stand still long enough.
        let handle = try #require(
            try await Self.acquire(.exclusive, backend, staleAfter: staleAfter, timeout: .zero, observations: memory))
        #expect(try await backend.size(key) == nil, "the exclusive locker removed the stale lock")
        await handle.release()
    }

    @Test func aLockLeftByAProcessThatEndedOnThisHostIsStaleAtOnce() async throws {
        #if os(Linux)
            let me = ProcessIdentity.current
            #expect(me.bootID != nil && me.pidNamespace != nil && me.processStart != nil, "\(me)")
        #endif
        #expect(ProcessIdentity.ended.isProvablyGone)
        #expect(!ProcessIdentity.current.isProvablyGone)
        #expect(!ProcessIdentity.elsewhere.isProvablyGone)
        let backend = MemoryBackend()
        let key = randomLockKey()
        try await backend.put(key, data: LockRecordFixture(owner: .ended, exclusive: true).encoded())
        let writer = try #require(try await Self.acquire(.shared, backend, timeout: .zero))
        #expect(try await backend.size(key) != nil, "a shared locker ignores a stale lock but leaves it")
        await writer.release()
        let gc = try #require(try await Self.acquire(.exclusive, backend, timeout: .zero))
        #expect(try await backend.size(key) == nil, "an exclusive locker removes it")
        await gc.release()
    }

    // MARK: - A holder whose refresh fails stops first

    @Test func aHolderWhoseRefreshesFailStopsBeforeAWaitingCollectorTakesOver() async throws {
        let memory = MemoryBackend()
        try await ChunkStore.create(on: memory, encryption: .none, options: fastOptions()).close()
        let faulty = FaultInjectingBackend(wrapping: memory, seed: 5)
        let staleAfter = Duration.milliseconds(400)
        let writer = try await ChunkStore.open(
            on: faulty, options: Self.options(.shared, staleAfter: staleAfter, timeout: .zero))
        var rng = SplitMix64(seed: 5)
        let id = try await writer.putBlock(Blocks.make(4096, kind: 0, rng: &rng)).id
        faulty.configuration = .init(failureProbabilities: [.put: 1])  // every refresh fails from now on

        // A collector with the same stale interval waits for the lock to go stale.
        let gc = try await ChunkStore.open(
            on: memory, options: Self.options(.exclusive, staleAfter: staleAfter, timeout: .seconds(20)))
        // By the time it got in, the writer had stopped.
        for (what, step) in [
            ("a write", { _ = try await writer.putBlock(Blocks.make(4096, kind: 0, rng: &rng)) }),
            ("a flush", { try await writer.flush() }),
            ("a root", { try await writer.publishRoot("points/late", id: id) }),
        ] as [(String, () async throws -> Void)] {
            let error = await #expect(throws: BlockStoreError.self, "\(what) after the lock was lost") {
                try await step()
            }
            #expect(error?.code == .lockLost, "\(what): \(String(describing: error))")
            #expect(error?.message.contains("no refresh") == true, "\(what): \(String(describing: error))")
        }
        #expect(try await memory.listAll(prefix: "roots/").isEmpty, "no root was published")
        try? await gc.close()
        faulty.configuration = .init()
        await #expect(throws: BlockStoreError.self) { try await writer.close() }
        #expect(try await memory.listAll(prefix: "locks/").isEmpty)
    }

    @Test func aHolderWhoseLockObjectWasRemovedStopsWithLockLost() async throws {
        let memory = MemoryBackend()
        let store = try await ChunkStore.create(
            on: memory, encryption: .none,
            options: Self.options(.shared, staleAfter: .milliseconds(400), timeout: .zero))
        for entry in try await memory.listAll(prefix: "locks/") { try await memory.delete(entry.key) }
        var lost: BlockStoreError? = nil
        for _ in 0..<250 where lost == nil {
            do {
                try await store.flush()
                try await Task.sleep(for: .milliseconds(20))
            } catch let error as BlockStoreError {
                lost = error
            }
        }
        #expect(lost?.code == .lockLost, "\(String(describing: lost))")
        // Its next refresh found the object gone (or, on a machine too busy to refresh in time,
        // its margin ran out first).
        #expect(
            lost.map { $0.message.contains("deleted") || $0.message.contains("no refresh") } == true,
            "\(String(describing: lost))")
        #expect(try await memory.listAll(prefix: "locks/").isEmpty, "the refresh did not bring the object back")
        await #expect(throws: BlockStoreError.self) { try await store.close() }
    }

    // MARK: - Garbage collection

    @Test func garbageCollectionChecksItsLockBeforeEveryDeletion() async throws {
        let memory = MemoryBackend()
        let writer = try await ChunkStore.create(
            on: memory, encryption: .none, options: fastOptions(packTargetBytes: 64 << 10))
        var rng = SplitMix64(seed: 8)
        var kept: [ChunkID: [UInt8]] = [:]
        var entries: [StoreNode.Entry] = []
        for slot in 0..<20 {
            let block = Blocks.make(16384, kind: 0, rng: &rng)
            let id = try await writer.putBlock(block).id
            kept[id] = block
            entries.append(StoreNode.Entry(slot: UInt32(slot), id: id))
        }
        try await writer.publishRoot("points/kept", id: try await writer.putNode(StoreNode(entries: entries)))
        for _ in 0..<20 { _ = try await writer.putBlock(Blocks.make(16384, kind: 0, rng: &rng)) }  // garbage
        try await writer.close()

        let hooked = HookBackend(wrapping: memory)
        let staleAfter = Duration.milliseconds(300)
        let gc = try await ChunkStore.open(
            on: hooked, options: Self.options(.exclusive, staleAfter: staleAfter, timeout: .zero))
        // Once the new index objects are being written, the collector's lock goes: its object
        // is removed, and no refresh can succeed for longer than its margin.
        hooked.arm {
            for entry in (try? await memory.listAll(prefix: "locks/")) ?? [] { try? await memory.delete(entry.key) }
            try? await Task.sleep(for: staleAfter)
        }
        let error = await #expect(throws: BlockStoreError.self) { _ = try await gc.collectGarbage() }
        #expect(error?.code == .lockLost, "\(String(describing: error))")
        let deletions = hooked.deleted.filter { !$0.rawValue.hasPrefix("locks/") }
        #expect(deletions.isEmpty, "a collector that lost its lock deleted \(deletions)")
        await #expect(throws: BlockStoreError.self) { try await gc.close() }

        // Nothing committed was touched; the next collection does the work.
        let next = try await ChunkStore.open(
            on: memory, options: fastOptions(lock: .exclusive, packTargetBytes: 64 << 10))
        let report = try await next.collectGarbage()
        #expect(report.deletedChunks >= 20)
        #expect(try await next.verify().isClean)
        for (id, block) in kept { #expect(try await next.chunk(id) == block) }
        try await next.close()
    }

    // MARK: - Settings

    @Test func lockSettingsOutsideTheirBoundsAreRejected() async throws {
        for (staleAfter, timeout) in [
            (Duration.milliseconds(10), Duration.seconds(1)), (.seconds(1), .seconds(-1)), (.seconds(2 * 86400), .zero),
        ] {
            var options = fastOptions()
            options.lockStaleAfter = staleAfter
            options.lockTimeout = timeout
            let error = await #expect(throws: BlockStoreError.self) {
                _ = try await ChunkStore.create(on: MemoryBackend(), encryption: .none, options: options)
            }
            #expect(error?.code == .invalidArgument, "\(staleAfter), \(timeout): \(String(describing: error))")
        }
    }
}
