import Synchronization

/// Runs participants through prepare → freeze → snapshot → thaw → post with timeouts, and works
/// out the consistency the snapshot achieved.
struct QuiesceCoordinator: Sendable {
    var participants: [any QuiesceParticipant]
    var phaseTimeout: Duration

    /// The outcome of a quiesced snapshot.
    struct Outcome: Sendable {
        var consistency: Consistency
        var note: String?
    }

    /// Runs `snapshot` between freeze and thaw. `snapshot` failing fails the whole call (after
    /// thaw); participants failing only lower the consistency.
    func run(_ snapshot: @Sendable () async throws -> Void) async throws -> Outcome {
        guard !participants.isEmpty else {
            try await snapshot()
            return Outcome(consistency: .crash, note: "no quiesce participants registered")
        }
        var failures: [String] = []
        var failedLevels: Set<QuiesceLevel> = []
        var alive = Array(participants.indices)
        for phase in ["prepare", "freeze"] {
            var next: [Int] = []
            for i in alive {
                let p = participants[i]
                do {
                    try await withTimeout(phaseTimeout, "\(p.name) \(phase)") {
                        if phase == "prepare" { try await p.prepare() } else { try await p.freeze() }
                    }
                    next.append(i)
                } catch {
                    failures.append("\(p.name) failed to \(phase): \(error)")
                    failedLevels.insert(p.level)
                    if phase == "freeze" { next.append(i) }  // thaw whoever tried to freeze
                }
            }
            alive = next
        }
        var snapshotError: (any Error)? = nil
        do { try await snapshot() } catch { snapshotError = error }
        for i in alive {
            let p = participants[i]
            do {
                try await withTimeout(phaseTimeout, "\(p.name) thaw") { try await p.thaw() }
            } catch {
                failures.append("\(p.name) failed to thaw: \(error)")
                failedLevels.insert(p.level)
            }
        }
        if let snapshotError { throw snapshotError }
        for i in alive where !failedLevels.contains(participants[i].level) {
            let p = participants[i]
            do {
                try await withTimeout(phaseTimeout, "\(p.name) post-snapshot") { try await p.postSnapshot() }
            } catch {
                failures.append("\(p.name) failed after the snapshot: \(error)")
            }
        }
        let levels = Set(participants.map(\.level))
        let consistency: Consistency
        if levels.contains(.application) && !failedLevels.contains(.application) && !failedLevels.contains(.fileSystem)
        {
            consistency = .application
        } else if levels.contains(.fileSystem) && !failedLevels.contains(.fileSystem) {
            consistency = .fileSystem
        } else if !levels.contains(.fileSystem) && levels.contains(.application) && failedLevels.isEmpty {
            consistency = .application
        } else {
            consistency = .crash
        }
        return Outcome(consistency: consistency, note: failures.isEmpty ? nil : failures.joined(separator: "; "))
    }
}

/// A participant phase that did not finish in time.
struct QuiesceTimeout: Error, CustomStringConvertible {
    var what: String
    var limit: Duration
    var description: String { "\(what) did not finish within \(limit)" }
}

/// Runs `body`, failing with ``QuiesceTimeout`` after `limit`. A body that ignores cancellation
/// is abandoned (cancelled and left to finish on its own), so a hung participant cannot hang the
/// backup.
func withTimeout(_ limit: Duration, _ what: String, _ body: @escaping @Sendable () async throws -> Void) async throws {
    let gate = OnceGate()
    try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
        gate.arm(c)
        let task = Task {
            do {
                try await body()
                gate.finish(.success(()))
            } catch {
                gate.finish(.failure(error))
            }
        }
        Task {
            try? await Task.sleep(for: limit)
            gate.finish(.failure(QuiesceTimeout(what: what, limit: limit)))
            task.cancel()
        }
    }
}

/// Resumes a continuation exactly once, whichever side finishes first.
final class OnceGate: Sendable {
    private let continuation = Mutex<CheckedContinuation<Void, any Error>?>(nil)

    func arm(_ c: CheckedContinuation<Void, any Error>) {
        continuation.withLock { $0 = c }
    }

    func finish(_ result: Result<Void, any Error>) {
        let c = continuation.withLock { slot -> CheckedContinuation<Void, any Error>? in
            defer { slot = nil }
            return slot
        }
        c?.resume(with: result)
    }
}
