import BlockStoreTesting
import Foundation
import RecoveryChain
import Testing

/// The `--changed` document format as a library type: what parses, and that every fault is a
/// typed error naming its entry.
@Suite struct ChangedRangesDocumentTests {
    static func code(_ json: String, sizes: [UInt64] = [1 << 20, 4096]) -> (RecoveryChainError.Code?, String) {
        code(Array(json.utf8), sizes: sizes)
    }

    static func code(_ bytes: [UInt8], sizes: [UInt64]) -> (RecoveryChainError.Code?, String) {
        do {
            _ = try ChangedRangesDocument(json: bytes, diskSizes: sizes)
            return (nil, "")
        } catch let error as RecoveryChainError {
            return (error.code, error.message)
        } catch {
            return (nil, "\(error)")
        }
    }

    /// Seeded documents of random ranges parse to exactly those ranges (empty ones dropped).
    @Test(arguments: [1, 2, 3] as [UInt64])
    func randomDocumentsParseToTheirRanges(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        let sizes: [UInt64] = [1 << 30, 1 << 20, 4096]
        var expected: [Int: [Range<UInt64>]] = [:]
        var disks: [String] = []
        for disk in [2, 0, 1] where rng.next() % 4 != 0 {
            var pairs: [String] = []
            var kept: [Range<UInt64>] = []
            for _ in 0..<(rng.next() % 50) {
                let start = rng.next() % sizes[disk]
                let length = rng.next() % (sizes[disk] - start + 1)
                pairs.append("[\(start),\(length)]")
                if length > 0 { kept.append(start..<(start + length)) }
            }
            expected[disk] = kept
            disks.append(#"{"disk":\#(disk),"ranges":[\#(pairs.joined(separator: ","))]}"#)
        }
        let json = #"{"disks":[\#(disks.joined(separator: ","))]}"#
        let document = try ChangedRangesDocument(json: Array(json.utf8), diskSizes: sizes)
        #expect(document.ranges == expected)
    }

    @Test func everyFaultNamesItsEntry() {
        let cases: [(String, String)] = [
            (#"[]"#, "not a JSON object"),
            (#"{"disks":[],"extra":1}"#, "unknown key \"extra\""),
            (#"{"disks":[{"disk":0,"ranges":[[0,1]]},{"disk":0,"ranges":[]}]}"#, "disks[1]: disk 0 is listed twice"),
            (#"{"disks":[{"disk":2,"ranges":[]}]}"#, "disks[0]: disk 2 is not one of the 2 disks"),
            (
                #"{"disks":[{"disk":0,"ranges":[[0,1],[5]]}]}"#,
                "disks[0] (disk 0), ranges[1] is not a [start, length] pair"
            ),
            (#"{"disks":[{"disk":1,"ranges":[[-1,1]]}]}"#, "ranges[0]: start -1 (negative)"),
            (#"{"disks":[{"disk":1,"ranges":[[0,1.5]]}]}"#, "ranges[0]: length 1.5"),
            (#"{"disks":[{"disk":1,"ranges":[[4000,97]]}]}"#, "past the end of the disk (4096 bytes)"),
            (#"{"disks":[{"disk":0,"ranges":[[18446744073709551615,1]]}]}"#, "past 2^64"),
            (#"{"disks":[{"disk":0,"ranges":[[0,1]]}"#, "not JSON"),
        ]
        for (json, needle) in cases {
            let (code, message) = Self.code(json)
            #expect(code == .invalidArgument, "\(json): \(message)")
            #expect(message.contains(needle), "\(json): \(message)")
        }
    }

    @Test func aDocumentOverTheLimitIsRefusedBeforeParsing() {
        let bytes = [UInt8](repeating: 0x20, count: ChangedRangesDocument.byteCountMax + 1)
        let (code, message) = Self.code(bytes, sizes: [4096])
        #expect(code == .limitExceeded, "\(message)")
        #expect(message.contains("\(ChangedRangesDocument.byteCountMax + 1) bytes"), "\(message)")
    }
}
