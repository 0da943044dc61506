extension BlockStoreError {
    /// The error of a capped read (``StorageBackend/get(_:byteCountMax:)``) that found an object
    /// larger than its cap: ``Code/limitExceeded``, naming the key, its size and the cap.
    ///
    /// Backends of other packages use it too, so every backend words the refusal alike.
    /// - Parameters:
    ///   - key: The object read.
    ///   - sizeBytes: Its size as the backend learnt it (a file's size, a `Content-Length`), or
    ///     nil when only a count of bytes streamed past the cap is known.
    ///   - byteCountMax: The cap of the read.
    ///   - location: The backend's ``StorageBackend/location``.
    public static func objectTooLarge(
        _ key: ObjectKey, sizeBytes: UInt64?, byteCountMax: Int, location: String
    ) -> BlockStoreError {
        let size = sizeBytes.map { "\($0) bytes" } ?? "more than \(byteCountMax) bytes"
        return BlockStoreError(
            .limitExceeded,
            "object \(key) in \(location) is \(size), more than the \(byteCountMax) bytes an "
                + "object of its kind may have: it was not read; it is damaged or was not written "
                + "by BlockSnap (run verify)")
    }
}
