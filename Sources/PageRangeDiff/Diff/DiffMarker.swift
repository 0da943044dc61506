import BlockStore

/// An opaque continuation marker: where the next page of a paged diff starts.
///
/// A marker is bound to its request (both maps, the byte range, the granularity): passing it
/// with another request fails with ``PageRangeDiffError/Code/invalidMarker``. It stays valid
/// forever, since maps never change. Its string form (``description``) is safe to print and to
/// pass back through a command line, and parses with ``init(parsing:)``.
public struct DiffMarker: Sendable, Hashable, CustomStringConvertible, Codable {
    /// The byte offset the next page starts at.
    package let resumeOffsetBytes: UInt64
    /// A digest of the request the marker belongs to.
    package let requestFingerprint: UInt64

    static let prefix = "prd1-"

    package init(resumeOffsetBytes: UInt64, requestFingerprint: UInt64) {
        self.resumeOffsetBytes = resumeOffsetBytes
        self.requestFingerprint = requestFingerprint
    }

    /// Parses a marker's string form.
    /// - Throws: ``PageRangeDiffError`` `invalidMarker` for anything that is not a marker.
    public init(parsing text: some StringProtocol) throws {
        let bad = PageRangeDiffError(
            .invalidMarker,
            "\"\(text.prefix(60))\" is not a diff continuation marker; pass back the nextMarker "
                + "of the previous page unchanged")
        guard text.hasPrefix(DiffMarker.prefix) else { throw bad }
        let body = text.dropFirst(DiffMarker.prefix.count)
        let parts = body.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].utf8.count == 16, parts[1].utf8.count == 16,
            let offset = UInt64(parts[0], radix: 16), let fingerprint = UInt64(parts[1], radix: 16),
            parts.allSatisfy({ $0.utf8.allSatisfy { c in (c >= 48 && c <= 57) || (c >= 97 && c <= 102) } })
        else { throw bad }
        self.init(resumeOffsetBytes: offset, requestFingerprint: fingerprint)
    }

    /// The marker as text, e.g. `prd1-0000000000010000-3f2a…` (opaque; do not build by hand).
    public var description: String {
        DiffMarker.prefix + DiffMarker.hex16(resumeOffsetBytes) + "-"
            + DiffMarker.hex16(requestFingerprint)
    }

    static func hex16(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }

    /// Decodes from the string form.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do { try self.init(parsing: text) } catch {
            throw DecodingError.dataCorruptedError(
                in: container,
                debugDescription: "not a diff continuation marker")
        }
    }

    /// Encodes as the string form.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    /// The digest binding a marker to its request.
    static func fingerprint(
        base: BlockMap?, target: BlockMap, byteRange: Range<UInt64>,
        granularity: DiffGranularity
    ) -> UInt64 {
        var bytes: [UInt8] = Array("blocksnap.diffmarker.v1".utf8)
        func add(_ v: UInt64) { for k in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(k)))) } }
        bytes += (base?.rootID ?? .zero).bytes
        add(base?.diskSizeBytes ?? UInt64.max)
        bytes += target.rootID.bytes
        add(target.diskSizeBytes)
        add(byteRange.lowerBound)
        add(byteRange.upperBound)
        bytes.append(granularity == .exact ? 1 : 0)
        return ChunkHasher.sha256.dataID(bytes).prefix64
    }
}
