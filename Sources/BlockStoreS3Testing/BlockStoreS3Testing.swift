/// Test support for BlockStoreS3: a `moto_server` (PyPI `moto[server]`) on loopback to run
/// ``S3Backend`` against, for tests, benchmarks and hosts that want to try the S3 store without
/// an account.
///
/// ```swift
/// try await MotoServer.withServer { server in
///     let configuration = try server.configuration(bucket: await server.uniqueBucketName("demo"))
///     try await S3Backend.withBackend(configuration: configuration) { backend in
///         try await backend.createBucket()
///         try await backend.put("hello", data: Array("world".utf8))
///     }
/// }
/// ```
///
/// The module depends on Foundation's `Process` and the C library's sockets only, not on a test
/// framework: suites wrap ``MotoServer`` in their own traits.
public enum BlockStoreS3Testing {}
