/// One decoder under the fuzzer: a name for `scripts/fuzz`, and a body that feeds it one input.
///
/// Bodies must never trap, hang or leak on any input: a decoder refuses bad bytes with its
/// module's typed error, which the body drops. Anything else — a crash, a sanitizer report, a
/// timeout — is a finding.
struct FuzzTarget: Sendable {
    /// The name `scripts/fuzz` takes.
    var name: String
    /// What the input is.
    var summary: String
    /// Feeds one input to the decoder.
    var body: @Sendable (UnsafeRawBufferPointer) -> Void

    /// Every target, in the order `scripts/fuzz --list` prints them.
    static let all: [FuzzTarget] = StoreObjectTargets.all + ChainTargets.all + S3Targets.all

    /// The target named `name`, if any.
    static func named(_ name: String) -> FuzzTarget? { all.first { $0.name == name } }
}

/// How targets of framed, checksummed or sealed objects read their input.
///
/// The first byte picks the mode. Even: the rest is the whole stored object, handed to the
/// decoder as read from a store (exercising magic, version, mode and authentication checks).
/// Odd: the rest is the object's plaintext body, which the harness seals for the object's role
/// and frames as a writer would, so that the parser behind the checksum or AEAD is reached with
/// arbitrary bytes (a hostile writer that holds the key can produce exactly these).
enum FuzzInput {
    /// Splits an input into its mode and payload; nil for an empty input.
    static func split(_ raw: UnsafeRawBufferPointer) -> (sealBody: Bool, payload: [UInt8])? {
        guard let first = raw.first else { return nil }
        return (first & 1 == 1, Array(raw.dropFirst()))
    }
}
