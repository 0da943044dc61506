import ArgumentParser
import BlockSnap
import Foundation

/// Writes results as JSON (stable camelCase field names) or as text, and errors both ways.
enum Output {
    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        e.dateEncodingStrategy = .iso8601
        return e
    }()

    static func json(_ value: some Encodable) throws {
        let data = try encoder.encode(value)
        FileHandle.standardOutput.write(data)
        FileHandle.standardOutput.write(Data("\n".utf8))
    }

    static func line(_ text: String) {
        print(text)
    }

    static func iso(_ date: Date) -> String {
        date.formatted(.iso8601)
    }

    /// Reports an error: one line on stderr; with `json` also `{"error":{"code","message"}}` on
    /// stdout. Exits 130 for a cancellation (Ctrl-C), 1 otherwise.
    static func fail(_ error: any Error, json: Bool) -> Never {
        let (code, message) = describe(error)
        report(code: code, message: message, json: json)
        exit(code == "cancelled" ? 130 : 1)
    }

    /// Reports a usage error (the command line itself is wrong) the same way, with code `usage`,
    /// and exits 2.
    static func usageError(_ message: String, json: Bool) -> Never {
        report(code: "usage", message: message, json: json)
        exit(2)
    }

    private static func report(code: String, message: String, json: Bool) {
        // One line, whatever the message holds.
        let line = message.split(whereSeparator: \.isNewline).joined(separator: "; ")
        FileHandle.standardError.write(Data("blocksnap: \(line)\n".utf8))
        if json {
            struct Envelope: Encodable {
                struct Body: Encodable { var code: String; var message: String }
                var error: Body
            }
            try? Output.json(Envelope(error: .init(code: code, message: line)))
        }
    }

    static func describe(_ error: any Error) -> (code: String, message: String) {
        switch error {
        case let e as RecoveryChainError: return (e.code.description, e.message)
        case let e as BlockStoreError: return (e.code.description, e.message)
        case let e as PolicyError: return (e.code.description, e.message)
        case let e as CLIError: return (e.code, e.message)
        case is CancellationError: return ("cancelled", "cancelled")
        default: return ("error", "\(error)")
        }
    }
}

/// A usage or input error of the command line itself.
struct CLIError: Error {
    var code: String
    var message: String
    init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }
}

/// Runs a command body, turning any error into the documented error output, and Ctrl-C into a
/// clean cancellation.
func runCommand(json: Bool, _ body: @escaping @Sendable () async throws -> Void) async {
    let task = Task { try await body() }
    signal(SIGINT, SIG_IGN)
    let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .main)
    source.setEventHandler { task.cancel() }
    source.resume()
    do {
        try await task.value
        await OpenBackends.shared.shutdownAll()
    } catch let code as ExitCode {
        await OpenBackends.shared.shutdownAll()
        exit(code.rawValue)
    } catch {
        await OpenBackends.shared.shutdownAll()
        Output.fail(error, json: json)
    }
}
