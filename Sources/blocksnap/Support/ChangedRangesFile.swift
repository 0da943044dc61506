import Foundation
import RecoveryChain

/// The `--changed` file: a ``ChangedRangesDocument`` read from a path, with its size checked
/// before anything is read.
struct ChangedRangesFile {
    /// Changed ranges by disk position (the order of `--disk`).
    var ranges: [Int: [Range<UInt64>]]

    /// Reads and checks a file.
    /// - Parameters:
    ///   - path: The file.
    ///   - diskSizes: The size of each disk given with `--disk`, in order.
    /// - Throws: `invalidArgument` naming the entry and the fault; `notFound`, `ioError`.
    init(path: String, diskSizes: [UInt64]) throws {
        let what = "--changed \(path)"
        let bytes = try InputFile.read(path, what: what, byteCountMax: ChangedRangesDocument.byteCountMax)
        do {
            ranges = try ChangedRangesDocument(json: bytes, diskSizes: diskSizes).ranges
        } catch let error as RecoveryChainError {
            throw CLIError("invalidArgument", "\(what): \(error.message)")
        }
    }
}
