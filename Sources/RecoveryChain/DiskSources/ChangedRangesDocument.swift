import Foundation

/// Host-tracked changed byte ranges per disk as a JSON document,
/// `{"disks":[{"disk":0,"ranges":[[start,length],…]}]}`: the form `blocksnap backup --changed`
/// reads, for hosts that keep their change tracking in a file.
///
/// The document is untrusted input. Its size is checked before it is parsed
/// (``byteCountMax``), and it is checked entry by entry: an error names the entry (`disks[1]`,
/// disk 1, `ranges[3]`) and what is wrong with it (not a pair, a negative or fractional number,
/// start + length past 2⁶⁴, past the disk's end, a disk that was not given, a disk listed
/// twice). Ranges may overlap and come in any order; empty ones (length 0) are dropped.
///
/// ```swift
/// let document = try ChangedRangesDocument(json: bytes, diskSizes: [source.sizeBytes])
/// let changes = TrackedChanges(since: base, ranges: document.ranges[0] ?? [])
/// ```
public struct ChangedRangesDocument: Sendable {
    /// The largest document accepted: 64 MiB, several million ranges.
    public static let byteCountMax = 64 << 20

    /// Changed ranges by disk position (the order of `diskSizes`).
    public var ranges: [Int: [Range<UInt64>]]

    /// Parses and checks a document.
    /// - Parameters:
    ///   - bytes: The JSON text.
    ///   - diskSizes: The size of each disk the document may name, by position.
    /// - Throws: ``RecoveryChainError`` `limitExceeded` for a document over ``byteCountMax``;
    ///   `invalidArgument` naming the entry and the fault.
    public init(json bytes: [UInt8], diskSizes: [UInt64]) throws {
        guard bytes.count <= Self.byteCountMax else {
            throw RecoveryChainError(
                .limitExceeded,
                "the changed-ranges document is \(bytes.count) bytes, more than the \(Self.byteCountMax) accepted")
        }
        let decoder = JSONDecoder()
        decoder.userInfo[Body.diskSizesKey] = diskSizes
        do {
            ranges = try decoder.decode(Body.self, from: Data(bytes)).ranges
        } catch let error as Fault {
            throw RecoveryChainError(.invalidArgument, error.message)
        } catch {
            throw RecoveryChainError(
                .invalidArgument,
                "it is not JSON of the form {\"disks\":[{\"disk\":N,\"ranges\":[[start,length],…]}]}: \(Self.describe(error))"
            )
        }
    }

    /// A fault in one entry.
    private struct Fault: Error {
        var message: String
    }

    /// A JSON parse error in a sentence.
    private static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        switch error {
        case .dataCorrupted(let c), .typeMismatch(_, let c), .valueNotFound(_, let c), .keyNotFound(_, let c):
            let path = c.codingPath.map(\.stringValue).joined(separator: ".")
            let cause = (c.underlyingError as? NSError)?.userInfo[NSDebugDescriptionErrorKey] as? String
            return [path, c.debugDescription, cause].compactMap { $0?.isEmpty == false ? $0 : nil }.joined(
                separator: ": ")
        @unknown default:
            return "\(error)"
        }
    }

    /// The file's shape, walked by hand so that each fault can name its entry.
    private struct Body: Decodable {
        static let diskSizesKey = CodingUserInfoKey(rawValue: "diskSizes")!
        var ranges: [Int: [Range<UInt64>]] = [:]

        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        init(from decoder: any Decoder) throws {
            let sizes = decoder.userInfo[Self.diskSizesKey] as? [UInt64] ?? []
            guard let top = try? decoder.container(keyedBy: Key.self) else {
                throw Fault(message: "the file is not a JSON object with \"disks\"")
            }
            for key in top.allKeys where key.stringValue != "disks" {
                throw Fault(message: "unknown key \"\(key.stringValue)\"; the only key is \"disks\"")
            }
            guard var disks = try? top.nestedUnkeyedContainer(forKey: Key(stringValue: "disks")) else {
                throw Fault(message: "\"disks\" is missing or not an array")
            }
            var seen: [Int: Int] = [:]
            while !disks.isAtEnd {
                let i = disks.currentIndex
                guard let entry = try? disks.nestedContainer(keyedBy: Key.self) else {
                    throw Fault(message: "disks[\(i)] is not an object {\"disk\":N,\"ranges\":[…]}")
                }
                for key in entry.allKeys where !["disk", "ranges"].contains(key.stringValue) {
                    throw Fault(message: "disks[\(i)] has an unknown key \"\(key.stringValue)\"")
                }
                let number = try? entry.decode(Number.self, forKey: Key(stringValue: "disk"))
                guard case .whole(let value) = number, value < UInt64(sizes.count) else {
                    let shown = number.map { "\($0)" } ?? "missing"
                    throw Fault(
                        message:
                            "disks[\(i)]: disk \(shown) is not one of the \(sizes.count) disks given with --disk (0…\(sizes.count - 1))"
                    )
                }
                let disk = Int(value)
                if let earlier = seen[disk] {
                    throw Fault(message: "disks[\(i)]: disk \(disk) is listed twice (also disks[\(earlier)])")
                }
                seen[disk] = i
                let place = "disks[\(i)] (disk \(disk))"
                guard var list = try? entry.nestedUnkeyedContainer(forKey: Key(stringValue: "ranges")) else {
                    throw Fault(message: "\(place): \"ranges\" is missing or not an array")
                }
                var found: [Range<UInt64>] = []
                while !list.isAtEnd {
                    let j = list.currentIndex
                    let at = "\(place), ranges[\(j)]"
                    guard var pair = try? list.nestedUnkeyedContainer(), pair.count == 2 else {
                        throw Fault(message: "\(at) is not a [start, length] pair")
                    }
                    var parts: [UInt64] = []
                    for name in ["start", "length"] {
                        let number = try? pair.decode(Number.self)
                        guard case .whole(let value) = number else {
                            throw Fault(message: "\(at): \(name) \(number.map { "\($0)" } ?? "") is not a byte offset")
                        }
                        parts.append(value)
                    }
                    let (start, length) = (parts[0], parts[1])
                    let (end, overflow) = start.addingReportingOverflow(length)
                    guard !overflow else {
                        throw Fault(message: "\(at): start \(start) + length \(length) is past 2^64")
                    }
                    guard end <= sizes[disk] else {
                        throw Fault(
                            message:
                                "\(at): [\(start), \(length)] ends at byte \(end), past the end of the disk (\(sizes[disk]) bytes)"
                        )
                    }
                    if length > 0 { found.append(start..<end) }
                }
                ranges[disk] = found
            }
        }
    }

    /// A JSON number as the file has it, sorted into what a range can use and what it cannot.
    private enum Number: Decodable, CustomStringConvertible {
        case whole(UInt64)
        case negative(Int64)
        case other(String)

        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let value = try? c.decode(UInt64.self) {
                self = .whole(value)
            } else if let value = try? c.decode(Int64.self) {
                self = .negative(value)
            } else if let value = try? c.decode(Double.self) {
                self = .other(value.isFinite && abs(value) >= 0x1p64 ? "\(value) (past 2^64)" : "\(value)")
            } else if let value = try? c.decode(String.self) {
                self = .other("\"\(value)\" (a string)")
            } else {
                self = .other("(not a number)")
            }
        }

        var description: String {
            switch self {
            case .whole(let value): "\(value)"
            case .negative(let value): "\(value) (negative)"
            case .other(let text): text
            }
        }
    }
}
