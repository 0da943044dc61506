import BlockSnap
import Foundation
import Synchronization

/// A one-line progress bar with rate and ETA on a terminal's stderr; silent when stderr is not a
/// terminal or output is JSON.
final class ProgressBar: Sendable {
    private let enabled: Bool
    private let drawn = Mutex(false)

    init(json: Bool) {
        enabled = !json && isatty(STDERR_FILENO) == 1
    }

    var handler: JobProgressHandler? {
        guard enabled else { return nil }
        return { [self] p in draw(p) }
    }

    private func draw(_ p: JobProgress) {
        let width = 28
        let filled = Int(p.fractionDone * Double(width))
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        let rate = ByteSize.format(UInt64(p.bytesPerSecond)) + "/s"
        let eta = p.estimatedSecondsRemaining.map { "ETA \(Int($0.rounded()))s" } ?? ""
        let line =
            "\r\(p.phase.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)) \(bar) \(Int(p.fractionDone * 100))%  \(rate)  \(eta)   "
        FileHandle.standardError.write(Data(line.utf8))
        drawn.withLock { $0 = true }
    }

    func finish() {
        if drawn.withLock({ $0 }) { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}
