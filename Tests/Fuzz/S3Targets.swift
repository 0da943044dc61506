import Foundation

@testable import BlockStoreS3

/// Targets for what an S3-compatible server sends: XML documents and `Content-Range` values.
enum S3Targets {
    static let all: [FuzzTarget] = [
        FuzzTarget(name: "s3-xml", summary: "an S3 XML response, read as a listing, an error and an upload") { raw in
            guard let root = S3XMLNode.parse(Array(raw)) else { return }
            // What the backend reads from each kind of response.
            for item in root.children("Contents") {
                _ = item.text(of: "Key").map { Array($0.utf8) }
                _ = item.text(of: "Size").flatMap { UInt64($0) }
            }
            _ = root.text(of: "IsTruncated") == "true"
            _ = root.text(of: "NextContinuationToken")
            _ = root.text(of: "Code")
            _ = root.text(of: "Message")
            _ = root.text(of: "UploadId")
            for deleted in root.children("Error") { _ = deleted.text(of: "Key") }
        },
        FuzzTarget(name: "s3-content-range", summary: "a Content-Range header value") { raw in
            _ = S3ContentRange(String(decoding: raw, as: UTF8.self))
        },
    ]
}
