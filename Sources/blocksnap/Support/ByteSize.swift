import Foundation

/// Parses and prints sizes like `64KiB`, `4MiB`, `1GiB`, `512`.
enum ByteSize {
    /// The unit suffixes accepted, longest first so `KiB` is not read as `B`.
    private static let units: [(suffix: String, factor: Int)] = [
        ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30),
        ("B", 1), ("", 1),
    ]

    /// Parses a size given to `option`, checking it against `range` without ever overflowing.
    /// - Parameters:
    ///   - text: A whole number of bytes, optionally followed by `B`, `K`/`KiB`, `M`/`MiB` or
    ///     `G`/`GiB` (powers of 1024).
    ///   - option: The option's name for the message, e.g. `--block-size`.
    ///   - range: The sizes the option allows.
    /// - Returns: The size in bytes.
    /// - Throws: `invalidArgument` naming the value and the allowed range, for text that is not a
    ///   size and for a size (however many digits) outside `range`.
    static func parse(_ text: String, option: String, range: ClosedRange<Int>) throws -> Int {
        let allowed = "\(compact(range.lowerBound))…\(compact(range.upperBound))"
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            let digits = text.dropLast(suffix.count)
            guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { continue }
            // Too many digits for Int, or a product past Int.max: out of range either way.
            guard let count = Int(digits) else { break }
            let (bytes, overflow) = count.multipliedReportingOverflow(by: factor)
            guard !overflow, range.contains(bytes) else { break }
            return bytes
        }
        let isSize = units.contains { unit in
            let digits = text.dropLast(unit.suffix.count)
            return text.hasSuffix(unit.suffix) && !digits.isEmpty && digits.allSatisfy { $0.isASCII && $0.isNumber }
        }
        if isSize {
            throw CLIError("invalidArgument", "\(option) \(text) is outside the allowed range \(allowed)")
        }
        throw CLIError(
            "invalidArgument",
            "\(option) \(text) is not a size such as 64KiB or 4MiB (allowed: \(allowed))")
    }

    /// A size for messages: whole KiB, MiB or GiB when exact (`4KiB`), else bytes.
    static func compact(_ bytes: Int) -> String {
        for (suffix, factor) in [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)]
        where bytes >= factor && bytes % factor == 0 {
            return "\(bytes / factor)\(suffix)"
        }
        return "\(bytes)B"
    }

    /// A size for people, with one decimal: `1.5 MiB`, `512 B`.
    static func format(_ n: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(n)
        var i = 0
        while value >= 1024 && i < units.count - 1 {
            value /= 1024
            i += 1
        }
        return i == 0 ? "\(n) B" : String(format: "%.1f %@", value, units[i])
    }
}
