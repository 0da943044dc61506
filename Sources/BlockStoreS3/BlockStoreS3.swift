/// The S3-compatible storage backend of BlockSnap: ``S3Backend`` (a `StorageBackend` on AWS S3,
/// MinIO, Ceph RGW, R2, …), its ``S3Configuration`` (environment variables and `s3://BUCKET/PREFIX`
/// store URLs), and the ``SigV4Signer`` that signs its requests.
///
/// A separate module so that hosts that only use a local store do not link networking.
public enum BlockStoreS3 {
    /// The module's version of the S3 wire protocol use: ListObjectsV2, SigV4, multipart uploads.
    public static let apiVersion = "2006-03-01"
}
