/// The S3-compatible storage backend (filled in by the S3 issue).
public enum BlockStoreS3 {}
