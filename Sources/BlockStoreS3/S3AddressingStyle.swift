/// How a request names its bucket: in the path or in the host name.
public enum S3AddressingStyle: String, Sendable, Hashable, CaseIterable {
    /// `https://endpoint/BUCKET/KEY`: what MinIO, Ceph RGW, moto and most local services expect.
    case path
    /// `https://BUCKET.endpoint/KEY`: what AWS recommends; needs a DNS-compatible bucket name.
    case virtualHosted
}
