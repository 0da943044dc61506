/// Parameters of the passphrase key-derivation function (scrypt).
///
/// The default (N = 2^15, r = 8, p = 1) costs about 32 MiB and a tenth of a second, so guessing
/// passphrases is slow. Tests may use ``fastForTesting``; never ship stores made with it.
///
/// A key file names its own parameters, so whoever can write to a store could ask every opener
/// for any amount of memory and time. Parameters are therefore capped, and checked before scrypt
/// runs: scrypt's memory `128·N·r` bytes at most ``memoryBytesMax`` (256 MiB) and its work
/// `N·r·p` at most ``workMax`` (2^22, sixteen times the default's). A key file beyond the caps is
/// skipped when opening a store; new key files beyond them are refused.
public struct KeyDerivation: Codable, Sendable, Equatable {
    /// scrypt's CPU/memory cost N (a power of two).
    public var n: Int
    /// scrypt's block size r.
    public var r: Int
    /// scrypt's parallelism p.
    public var p: Int

    /// Creates parameters.
    public init(n: Int, r: Int, p: Int) {
        self.n = n
        self.r = r
        self.p = p
    }

    /// The recommended parameters.
    public static let `default` = KeyDerivation(n: 1 << 15, r: 8, p: 1)
    /// Cheap parameters for tests only.
    public static let fastForTesting = KeyDerivation(n: 1 << 10, r: 8, p: 1)

    /// The most memory one derivation may use: scrypt takes `128·N·r` bytes, so N·r ≤ 2^21
    /// (for r = 8, N up to 2^18).
    public static let memoryBytesMax = 256 << 20
    /// The most work one derivation may do, as `N·r·p`: 2^22, sixteen times the default's
    /// 2^18 (a second or two on a current core), so opening a store never stalls on a hostile
    /// key file.
    public static let workMax = 1 << 22
    /// The block sizes r accepted (the default is 8).
    static let rRange = 1...32
    /// The parallelism p accepted (the default is 1).
    static let pRange = 1...16
    /// The largest N that can pass the memory cap (with r = 1); checked first, so the products
    /// below never overflow.
    static let nMax = memoryBytesMax / 128

    /// Why these parameters are refused, or nil when they are within bounds: `corruptObject`
    /// for values no scrypt accepts, `limitExceeded` for values beyond the caps. Pure
    /// arithmetic on bounded values: nothing is derived.
    func problem() -> BlockStoreError? {
        guard n >= 2, n & (n - 1) == 0, r >= 1, p >= 1 else {
            return BlockStoreError(
                .corruptObject,
                "key derivation parameters n=\(n) r=\(r) p=\(p) are not valid scrypt parameters (n a power of two of at least 2, r and p at least 1)"
            )
        }
        guard n <= Self.nMax, Self.rRange.contains(r), Self.pRange.contains(p),
            128 * n * r <= Self.memoryBytesMax, n * r * p <= Self.workMax
        else {
            return BlockStoreError(
                .limitExceeded,
                "key derivation parameters n=\(n) r=\(r) p=\(p) exceed this build's caps (memory 128·n·r at most 256 MiB, work n·r·p at most 2^22, r 1…32, p 1…16)"
            )
        }
        return nil
    }

    /// Checks parameters a caller chose for a new key file.
    /// - Throws: `invalidArgument` when they are invalid or beyond the caps.
    func validateForNewKey() throws {
        if let problem = problem() {
            throw BlockStoreError(.invalidArgument, problem.message)
        }
    }
}
