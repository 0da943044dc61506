import BlockStore

extension S3Backend {
    /// Uploads `data` as `name` in parts: CreateMultipartUpload, UploadPart (at most
    /// `multipartConcurrency` at once), CompleteMultipartUpload; on any failure the upload is
    /// aborted, so no part lingers and no object appears.
    func multipartPut(_ name: String, data: [UInt8]) async throws {
        let partSize = effectivePartSize(for: data.count)
        let partCount = (data.count + partSize - 1) / partSize
        let initiated = try await send(
            S3Request(
                operation: "CreateMultipartUpload", method: "POST", object: name,
                query: [("uploads", "")])
        ).response
        guard initiated.status == 200 else {
            throw failure(initiated, "CreateMultipartUpload", key: nil, name: name)
        }
        guard let uploadID = S3XMLNode.parse(initiated.body)?.text(of: "UploadId"),
            !uploadID.isEmpty
        else {
            throw malformed("CreateMultipartUpload", initiated)
        }
        do {
            let etags = try await uploadParts(
                name, data: data, uploadID: uploadID, partSize: partSize, partCount: partCount)
            try await completeMultipart(
                name, uploadID: uploadID, etags: etags, expectedSize: data.count)
        } catch {
            // Abort even when this task was cancelled: an unstructured task does not inherit it.
            let backend = self
            await Task { try? await backend.abortMultipart(name, uploadID: uploadID) }.value
            throw error
        }
    }

    private func uploadParts(
        _ name: String, data: [UInt8], uploadID: String, partSize: Int, partCount: Int
    ) async throws -> [String] {
        var etags = [String](repeating: "", count: partCount)
        try await withThrowingTaskGroup(of: (Int, String).self) { group in
            var next = 0
            func startNext() {
                let index = next
                next += 1
                let range = (index * partSize)..<min(data.count, (index + 1) * partSize)
                group.addTask {
                    let response = try await self.send(
                        S3Request(
                            operation: "UploadPart", method: "PUT", object: name,
                            query: [("partNumber", String(index + 1)), ("uploadId", uploadID)],
                            body: data[range], contentMD5: !self.configuration.signsPayload)
                    ).response
                    guard response.status == 200 else {
                        throw self.failure(response, "UploadPart", key: nil, name: name)
                    }
                    guard let etag = response.header("etag"), !etag.isEmpty else {
                        throw self.malformed("UploadPart (no ETag)", response)
                    }
                    return (index, etag)
                }
            }
            while next < min(partCount, configuration.multipartConcurrency) { startNext() }
            while let (index, etag) = try await group.next() {
                etags[index] = etag
                if next < partCount { startNext() }
            }
        }
        return etags
    }

    private func completeMultipart(
        _ name: String, uploadID: String, etags: [String], expectedSize: Int
    ) async throws {
        var xml = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        for (index, etag) in etags.enumerated() {
            xml +=
                "<Part><PartNumber>\(index + 1)</PartNumber><ETag>\(S3XMLNode.escape(etag))</ETag></Part>"
        }
        xml += "</CompleteMultipartUpload>"
        let body = Array(xml.utf8)
        let request = S3Request(
            operation: "CompleteMultipartUpload", method: "POST", object: name,
            query: [("uploadId", uploadID)],
            headers: [("Content-Type", "application/xml")], body: body[...])
        var ambiguous = false
        for attempt in 1...configuration.retryPolicy.maxAttempts {
            let sent = try await send(request)
            ambiguous = ambiguous || sent.ambiguous
            let response = sent.response
            let root = S3XMLNode.parse(response.body)
            switch response.status {
            case 200 where root != nil && root?.name != "Error":
                return  // CompleteMultipartUploadResult (moto says ...Response)
            case 200 where root?.name == "Error":
                // S3 reports some failures of a completion in a 200 response; they are retryable.
                if attempt < configuration.retryPolicy.maxAttempts {
                    ambiguous = true
                    try? await Task.sleep(
                        for: configuration.retryPolicy.jitteredBackoff(afterAttempt: attempt))
                    continue
                }
                throw failure(
                    response, "CompleteMultipartUpload", key: nil, name: name, statusOverride: 500)
            case 404 where ambiguous && root?.text(of: "Code") == "NoSuchUpload":
                // An earlier attempt completed it and its response was lost.
                if let key = ObjectKey(name), try await sizeOfName(key) == UInt64(expectedSize) {
                    return
                }
                throw failure(response, "CompleteMultipartUpload", key: nil, name: name)
            case 200:
                // Not XML: trust the object itself.
                if let key = ObjectKey(name), try await sizeOfName(key) == UInt64(expectedSize) {
                    return
                }
                throw malformed("CompleteMultipartUpload", response)
            default:
                throw failure(response, "CompleteMultipartUpload", key: nil, name: name)
            }
        }
    }

    func abortMultipart(_ name: String, uploadID: String) async throws {
        _ = try await send(
            S3Request(
                operation: "AbortMultipartUpload", method: "DELETE", object: name,
                query: [("uploadId", uploadID)]))
    }

    /// The size of a bucket key that already carries the store's prefix.
    private func sizeOfName(_ name: ObjectKey) async throws -> UInt64? {
        let response = try await send(
            S3Request(operation: "HeadObject", method: "HEAD", object: name.rawValue)
        )
        .response
        switch response.status {
        case 200: return response.header("content-length").flatMap(UInt64.init)
        case 404: return nil
        default: throw failure(response, "HeadObject", key: nil, name: name.rawValue)
        }
    }
}
