import BlockStoreS3
import Foundation
import Testing

/// Signatures checked against AWS's published examples: the Signature Version 4 test suite
/// (`get-vanilla`, credentials `AKIDEXAMPLE`, service `service`) and the S3 API reference's
/// "Signature Calculations for the Authorization Header" and presigned-URL examples
/// (credentials `AKIAIOSFODNN7EXAMPLE`, 24 May 2013).
@Suite struct SigV4SignerTests {
    /// 2015-08-30T12:36:00Z, the test suite's instant.
    static let suiteDate = Date(timeIntervalSince1970: 1_440_938_160)
    /// 2013-05-24T00:00:00Z, the S3 examples' instant.
    static let s3Date = Date(timeIntervalSince1970: 1_369_353_600)

    static let suiteSigner = SigV4Signer(
        credentials: S3Credentials(
            accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1", service: "service")
    static let s3Signer = SigV4Signer(
        credentials: S3Credentials(
            accessKeyID: "AKIAIOSFODNN7EXAMPLE",
            secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1")
    static let s3Host = "examplebucket.s3.amazonaws.com"

    func authorization(_ headers: [(String, String)]) -> String? {
        headers.first { $0.0 == "Authorization" }?.1
    }

    func signature(_ headers: [(String, String)]) -> String? {
        authorization(headers)?.components(separatedBy: "Signature=").last
    }

    @Test func amzDateIsBasicISO8601InUTC() {
        #expect(SigV4Signer.amzDate(Self.suiteDate) == "20150830T123600Z")
        #expect(SigV4Signer.amzDate(Self.s3Date) == "20130524T000000Z")
        #expect(SigV4Signer.amzDate(Date(timeIntervalSince1970: 0)) == "19700101T000000Z")
        #expect(SigV4Signer.amzDate(Date(timeIntervalSince1970: 951_868_799)) == "20000229T235959Z")
    }

    @Test func getVanillaMatchesTheTestSuite() {
        let signer = Self.suiteSigner
        let added = signer.sign(
            method: "GET", encodedPath: "/", query: [],
            headers: [("Host", "example.amazonaws.com")],
            payloadHash: SigV4Signer.emptyPayloadHash, date: Self.suiteDate,
            sendsContentSHA256: false)
        #expect(
            authorization(added)
                == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        )
        #expect(added.first { $0.0 == "x-amz-date" }?.1 == "20150830T123600Z")
        #expect(!added.contains { $0.0 == "x-amz-content-sha256" })
        let (canonical, signed) = signer.canonicalRequest(
            method: "GET", encodedPath: "/", query: [],
            headers: [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")],
            payloadHash: SigV4Signer.emptyPayloadHash)
        #expect(
            canonical
                == "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
                + SigV4Signer.emptyPayloadHash)
        #expect(signed == "host;x-amz-date")
        #expect(
            SigV4Signer.hexSHA256(Array(canonical.utf8))
                == "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63")
    }

    @Test func queryParametersAreSortedByName() {
        let added = Self.suiteSigner.sign(
            method: "GET", encodedPath: "/", query: [("Param2", "value2"), ("Param1", "value1")],
            headers: [("Host", "example.amazonaws.com")], payloadHash: SigV4Signer.emptyPayloadHash,
            date: Self.suiteDate, sendsContentSHA256: false)
        #expect(
            signature(added) == "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500")
    }

    @Test func s3GetObjectWithRangeMatchesTheExample() {
        let added = Self.s3Signer.sign(
            method: "GET", encodedPath: "/test.txt", query: [],
            headers: [("Host", Self.s3Host), ("Range", "bytes=0-9")],
            payloadHash: SigV4Signer.emptyPayloadHash, date: Self.s3Date)
        #expect(added.first { $0.0 == "x-amz-content-sha256" }?.1 == SigV4Signer.emptyPayloadHash)
        #expect(
            authorization(added)
                == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        )
    }

    @Test func s3PutObjectMatchesTheExampleWithAKeyEncodedOnce() {
        let body = Array("Welcome to Amazon S3.".utf8)
        let payloadHash = SigV4Signer.hexSHA256(body)
        #expect(payloadHash == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")
        let path = "/" + SigV4Signer.uriEncode("test$file.text", encodeSlash: false)
        #expect(path == "/test%24file.text")
        let headers = [
            ("Host", Self.s3Host), ("Date", "Fri, 24 May 2013 00:00:00 GMT"),
            ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
        ]
        let (canonical, signed) = Self.s3Signer.canonicalRequest(
            method: "PUT", encodedPath: path, query: [],
            headers: headers + [
                ("x-amz-date", "20130524T000000Z"), ("x-amz-content-sha256", payloadHash),
            ],
            payloadHash: payloadHash)
        #expect(signed == "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class")
        #expect(
            SigV4Signer.hexSHA256(Array(canonical.utf8))
                == "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d")
        let added = Self.s3Signer.sign(
            method: "PUT", encodedPath: path, query: [], headers: headers, payloadHash: payloadHash,
            date: Self.s3Date)
        #expect(
            signature(added) == "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")
    }

    @Test func s3BucketLifecycleSignsAValuelessParameter() {
        let (canonical, _) = Self.s3Signer.canonicalRequest(
            method: "GET", encodedPath: "/", query: [("lifecycle", "")],
            headers: [
                ("Host", Self.s3Host), ("x-amz-date", "20130524T000000Z"),
                ("x-amz-content-sha256", SigV4Signer.emptyPayloadHash),
            ],
            payloadHash: SigV4Signer.emptyPayloadHash)
        #expect(
            canonical.split(separator: "\n", omittingEmptySubsequences: false)[2] == "lifecycle=")
        #expect(
            SigV4Signer.hexSHA256(Array(canonical.utf8))
                == "9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca")
        let added = Self.s3Signer.sign(
            method: "GET", encodedPath: "/", query: [("lifecycle", "")],
            headers: [("Host", Self.s3Host)],
            payloadHash: SigV4Signer.emptyPayloadHash, date: Self.s3Date)
        #expect(
            signature(added) == "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543")
    }

    @Test func s3ListObjectsMatchesTheExample() {
        let added = Self.s3Signer.sign(
            method: "GET", encodedPath: "/", query: [("prefix", "J"), ("max-keys", "2")],
            headers: [("Host", Self.s3Host)], payloadHash: SigV4Signer.emptyPayloadHash,
            date: Self.s3Date)
        #expect(
            signature(added) == "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")
    }

    @Test func presignedGetUsesUnsignedPayloadAndMatchesTheExample() {
        let params = Self.s3Signer.presignedQuery(
            method: "GET", encodedPath: "/test.txt", host: Self.s3Host, date: Self.s3Date,
            expiresSeconds: 86_400)
        #expect(params.first { $0.0 == "X-Amz-SignedHeaders" }?.1 == "host")
        #expect(
            params.first { $0.0 == "X-Amz-Credential" }?.1
                == "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request")
        #expect(params.last?.0 == "X-Amz-Signature")
        #expect(
            params.last?.1 == "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")
    }

    @Test func unsignedPayloadIsSentAndSignedInTheHeader() {
        let added = Self.s3Signer.sign(
            method: "PUT", encodedPath: "/k", query: [], headers: [("Host", Self.s3Host)],
            payloadHash: SigV4Signer.unsignedPayload, date: Self.s3Date)
        #expect(added.first { $0.0 == "x-amz-content-sha256" }?.1 == "UNSIGNED-PAYLOAD")
        #expect(
            authorization(added)?.contains("SignedHeaders=host;x-amz-content-sha256;x-amz-date,")
                == true)
        let (canonical, _) = Self.s3Signer.canonicalRequest(
            method: "PUT", encodedPath: "/k", query: [],
            headers: [("Host", Self.s3Host)] + added.dropLast(),
            payloadHash: SigV4Signer.unsignedPayload)
        #expect(canonical.hasSuffix("\nUNSIGNED-PAYLOAD"))
        // The signature commits to the payload mode: a signed hash gives another signature.
        let signedMode = Self.s3Signer.sign(
            method: "PUT", encodedPath: "/k", query: [], headers: [("Host", Self.s3Host)],
            payloadHash: SigV4Signer.emptyPayloadHash, date: Self.s3Date)
        #expect(signature(signedMode) != signature(added))
    }

    @Test func sessionTokenIsSentAndSigned() {
        var signer = Self.s3Signer
        signer.credentials.sessionToken = "token/with+chars="
        let added = signer.sign(
            method: "GET", encodedPath: "/", query: [], headers: [("Host", Self.s3Host)],
            payloadHash: SigV4Signer.emptyPayloadHash, date: Self.s3Date)
        #expect(added.first { $0.0 == "x-amz-security-token" }?.1 == "token/with+chars=")
        #expect(authorization(added)?.contains("x-amz-date;x-amz-security-token,") == true)
    }

    @Test func uriEncodingFollowsS3Rules() {
        #expect(SigV4Signer.uriEncode("data/ab/cd.pack", encodeSlash: false) == "data/ab/cd.pack")
        #expect(SigV4Signer.uriEncode("data/ab", encodeSlash: true) == "data%2Fab")
        #expect(SigV4Signer.uriEncode("A-Z_a.z~0 9", encodeSlash: false) == "A-Z_a.z~0%209")
        #expect(SigV4Signer.uriEncode("+=&?*", encodeSlash: true) == "%2B%3D%26%3F%2A")
        #expect(SigV4Signer.uriEncode("é", encodeSlash: true) == "%C3%A9")
        // Encoded once: a '%' in a key becomes %25, an encoded key is not encoded again by the signer.
        #expect(SigV4Signer.uriEncode("a%2Fb", encodeSlash: false) == "a%252Fb")
        let (canonical, _) = Self.s3Signer.canonicalRequest(
            method: "GET", encodedPath: "/bucket/a%20b", query: [], headers: [("Host", "h")],
            payloadHash: SigV4Signer.emptyPayloadHash)
        #expect(canonical.split(separator: "\n")[1] == "/bucket/a%20b")
    }

    @Test func headerValuesAreTrimmedAndSpacesCollapsed() {
        let (canonical, signed) = Self.s3Signer.canonicalRequest(
            method: "GET", encodedPath: "/", query: [],
            headers: [("X-Amz-Meta-A", "  one   two  "), ("Host", "h"), ("x-amz-meta-a", "three")],
            payloadHash: SigV4Signer.emptyPayloadHash)
        #expect(canonical.contains("\nx-amz-meta-a:one two,three\n"))
        #expect(signed == "host;x-amz-meta-a")
    }

    @Test func aURLKeepsItsPercentEncodedQuery() {
        // The HTTP client sends URL.query as is: the encoding signed is the encoding sent.
        let url = URL(string: "http://127.0.0.1:9000/bucket?prefix=a%2Fb&start-after=x%2By")!
        #expect(url.query == "prefix=a%2Fb&start-after=x%2By")
    }
}
