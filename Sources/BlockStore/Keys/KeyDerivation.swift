/// Parameters of the passphrase key-derivation function (scrypt).
///
/// The default (N = 2^15, r = 8, p = 1) costs about 32 MiB and a tenth of a second, so guessing
/// passphrases is slow. Tests may use ``fastForTesting``; never ship stores made with it.
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

    /// The largest N accepted: 2^22 costs 4 GiB with r = 8, beyond which a key file would be a
    /// denial of service for whoever opens the store.
    static let nMax = 1 << 22
    /// The block sizes r accepted (the default is 8).
    static let rRange = 1...32
    /// The parallelism p accepted (the default is 1).
    static let pRange = 1...16

    func validate() throws {
        guard n >= 2, n <= Self.nMax, n & (n - 1) == 0, Self.rRange.contains(r), Self.pRange.contains(p) else {
            throw BlockStoreError(
                .corruptObject,
                "key derivation parameters n=\(n) r=\(r) p=\(p) are outside the accepted bounds (n a power of two up to 2^22, r 1…32, p 1…16)"
            )
        }
    }
}
