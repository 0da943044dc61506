import BlockStore
import BlockStoreS3
import Foundation
import Testing

@Suite struct S3ConfigurationTests {
    static let credentials = [
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret",
    ]

    @Test func environmentGivesCredentialsRegionAndEndpoint() throws {
        let environment = Self.credentials.merging([
            "AWS_SESSION_TOKEN": "tok", "AWS_REGION": "eu-west-1",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:9000",
        ]) { $1 }
        let configuration = try S3Configuration.fromEnvironment(
            bucket: "backups", keyPrefix: "/hosts/a/", environment: environment)
        #expect(configuration.credentials.accessKeyID == "AKIDEXAMPLE")
        #expect(configuration.credentials.secretAccessKey == "secret")
        #expect(configuration.credentials.sessionToken == "tok")
        #expect(configuration.region == "eu-west-1")
        #expect(configuration.endpoint.absoluteString == "http://127.0.0.1:9000")
        #expect(configuration.keyPrefix == "hosts/a")
        #expect(configuration.addressingStyle == .path)
        #expect(configuration.createIsAtomic == false)
        #expect(configuration.storeURL == "s3://backups/hosts/a")
    }

    @Test func awsIsTheDefaultEndpointWithVirtualHostedAddressing() throws {
        let configuration = try S3Configuration.fromEnvironment(
            bucket: "backups", environment: Self.credentials)
        #expect(configuration.region == "us-east-1")
        #expect(configuration.endpoint.absoluteString == "https://s3.us-east-1.amazonaws.com")
        #expect(configuration.addressingStyle == .virtualHosted)
        #expect(configuration.createIsAtomic == true)
        #expect(configuration.credentials.sessionToken == nil)
        // A dotted bucket cannot be a TLS host name: path style.
        let dotted = try S3Configuration.fromEnvironment(
            bucket: "my.backups", environment: Self.credentials)
        #expect(dotted.addressingStyle == .path)
    }

    @Test func serviceSpecificEndpointWinsAndDefaultRegionIsRead() throws {
        let environment = Self.credentials.merging([
            "AWS_ENDPOINT_URL": "http://a:1", "AWS_ENDPOINT_URL_S3": "http://b:2",
            "AWS_DEFAULT_REGION": "ap-south-1",
        ]) { $1 }
        let configuration = try S3Configuration.fromEnvironment(
            bucket: "backups", environment: environment)
        #expect(configuration.endpoint.absoluteString == "http://b:2")
        #expect(configuration.region == "ap-south-1")
    }

    @Test(arguments: ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"])
    func missingCredentialsNameTheVariable(_ name: String) {
        var environment = Self.credentials
        environment[name] = nil
        let error = #expect(throws: BlockStoreError.self) {
            try S3Configuration.fromEnvironment(bucket: "backups", environment: environment)
        }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains(name) == true)
    }

    @Test func badEndpointIsRejected() {
        let environment = Self.credentials.merging(["AWS_ENDPOINT_URL": "ftp://host"]) { $1 }
        let error = #expect(throws: BlockStoreError.self) {
            try S3Configuration.fromEnvironment(bucket: "backups", environment: environment)
        }
        #expect(error?.code == .invalidArgument)
    }

    @Test func storeURLsParse() throws {
        #expect(try S3Configuration.parseStoreURL("s3://backups") == ("backups", ""))
        #expect(try S3Configuration.parseStoreURL("s3://backups/") == ("backups", ""))
        #expect(
            try S3Configuration.parseStoreURL("s3://backups/vm/host-1/") == ("backups", "vm/host-1")
        )
        #expect(S3Configuration.isStoreURL("s3://x"))
        #expect(S3Configuration.isStoreURL("S3://x"))
        #expect(!S3Configuration.isStoreURL("/var/lib/blocksnap"))
        let configuration = try S3Configuration.fromStoreURL(
            "s3://backups/vm", environment: Self.credentials)
        #expect(configuration.bucket == "backups")
        #expect(configuration.keyPrefix == "vm")
    }

    @Test(arguments: [
        "s3://", "s3:///prefix", "s3://Bad_Bucket", "s3://ab", "s3://backups/../x",
        "s3://backups/a b", "s3://backups/p?region=x", "/var/lib/store", "-bucket",
    ])
    func malformedStoreURLsAreRejected(_ text: String) {
        let error = #expect(throws: BlockStoreError.self) {
            try S3Configuration.parseStoreURL(text)
        }
        #expect(error?.code == .invalidArgument)
    }

    @Test func credentialsNeverPrintTheSecret() {
        let credentials = S3Credentials(
            accessKeyID: "AKID", secretAccessKey: "s3cr3t", sessionToken: "t0k3n")
        #expect(!credentials.description.contains("s3cr3t"))
        #expect(!credentials.description.contains("t0k3n"))
        #expect(credentials.description.contains("AKID"))
    }

    @Test func retryBackoffDoublesUpToItsCap() {
        let policy = S3RetryPolicy()
        #expect(policy.backoffCap(afterAttempt: 1) == .milliseconds(200))
        #expect(policy.backoffCap(afterAttempt: 2) == .milliseconds(400))
        #expect(policy.backoffCap(afterAttempt: 30) == .seconds(5))
        #expect(policy.maxTotalBackoff == .milliseconds(3000))
        #expect(S3RetryPolicy.none.maxTotalBackoff == .zero)
    }

    @Test func defaultsAreWithinS3Limits() throws {
        let configuration = try S3Configuration.fromEnvironment(
            bucket: "backups", environment: Self.credentials)
        #expect(configuration.multipartPartSizeBytes >= S3Configuration.minimumPartSizeBytes)
        #expect(configuration.multipartThresholdBytes >= configuration.multipartPartSizeBytes)
        #expect(configuration.maxRequestsInFlight == 16)
        #expect(
            configuration.timeouts
                == S3Timeouts(connect: .seconds(5), read: .seconds(30), request: .seconds(300)))
    }
}
