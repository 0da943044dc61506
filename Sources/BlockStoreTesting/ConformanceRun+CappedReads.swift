import BlockStore

/// The checks of capped reads (``StorageBackend/get(_:byteCountMax:)``).
extension ConformanceRun {
    /// A capped read returns an object of exactly the cap or less, refuses one byte more with
    /// `limitExceeded` naming the key, its size and the cap, and throws `notFound` for a missing
    /// key whatever the cap; an empty object reads under a cap of 0.
    func checkCappedReads() async throws {
        let missing = makeKey("capped/missing")
        for cap in [0, 1, Int.max] {
            try await requireNotFound("get(\(missing), byteCountMax: \(cap)) of a missing key") {
                try await backend.get(missing, byteCountMax: cap)
            }
        }
        for count in [0, 1, 4097, Self.largeObjectBytes] {
            let key = makeKey("capped/\(count)")
            let data = pattern(count, seed: 700)
            try await backend.put(key, data: data)
            for cap in [count, count + 1, Int.max] {
                try requireBytes(
                    try await backend.get(key, byteCountMax: cap), data,
                    "get(\(key), byteCountMax: \(cap)) of \(count) bytes")
            }
            for cap in count > 0 ? [count - 1, 0] : [] {
                try await requireTooLarge(key, count: count, cap: cap)
            }
            try await backend.delete(key)
        }
    }

    /// Requires a capped read of `key` (of `count` bytes) under `cap` to throw `limitExceeded`
    /// whose message names the key and the cap.
    private func requireTooLarge(_ key: ObjectKey, count: Int, cap: Int) async throws {
        let what = "get(\(key), byteCountMax: \(cap)) of \(count) bytes"
        let value: [UInt8]
        do {
            value = try await backend.get(key, byteCountMax: cap)
        } catch let error as BlockStoreError {
            try require(
                error.code == .limitExceeded,
                "\(what) must throw BlockStoreError limitExceeded, threw \(error.code): \(error)")
            try require(
                error.message.contains(key.rawValue) && error.message.contains(String(cap)),
                "\(what) must name the key and the cap in its message: \(error.message)")
            return
        } catch {
            throw ConformanceFailure(
                "\(backend.location): \(what) must throw BlockStoreError limitExceeded, threw \(error)")
        }
        throw ConformanceFailure(
            "\(backend.location): \(what) must throw BlockStoreError limitExceeded, returned \(value.count) bytes")
    }
}
