import BlockStoreS3
import BlockStoreTesting
import Foundation
import Testing

/// The XML reader S3 responses go through: the documents S3 sends read as S3 means them, and
/// anything else — including what crashed Foundation's parser — is refused with nil.
@Suite struct S3XMLReaderTests {
    static func parse(_ text: String) -> S3XMLNode? { S3XMLNode.parse(Array(text.utf8)) }

    @Test func aListingReadsAsS3MeansIt() throws {
        let root = try #require(
            Self.parse(
                """
                <?xml version="1.0" encoding="UTF-8"?>
                <!-- a listing -->
                <ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">\
                <Name>bucket</Name><IsTruncated>true</IsTruncated>\
                <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>\
                <Contents><Key>store/a&amp;b &lt;c&gt; &#233;&#x1F600;</Key><Size>120</Size></Contents>\
                <Contents><Key><![CDATA[store/<raw> & ]]>more</Key><Size>0</Size><Owner/></Contents>\
                </ListBucketResult>
                """))
        #expect(root.name == "ListBucketResult")
        #expect(root.text(of: "IsTruncated") == "true")
        #expect(root.text(of: "NextContinuationToken") == "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=")
        let contents = root.children("Contents")
        #expect(contents.map { $0.text(of: "Key") } == ["store/a&b <c> é😀", "store/<raw> & more"])
        #expect(contents.map { $0.text(of: "Size") } == ["120", "0"])
        #expect(contents[1].child("Owner")?.children.isEmpty == true)
    }

    @Test func namespacePrefixesAreDropped() throws {
        let root = try #require(Self.parse(#"<s3:Error xmlns:s3="x"><s3:Code>NoSuchKey</s3:Code></s3:Error>"#))
        #expect(root.name == "Error" && root.text(of: "Code") == "NoSuchKey")
    }

    @Test func malformedDocumentsAreRefused() {
        let cases = [
            "", "   ", "text", "<a>", "<a></b>", "<a><b></a></b>", "</a>", "<a/><b/>", "<a/>trailing",
            "<a>&unknown;</a>", "<a>&#0;</a>", "<a>&#xD800;</a>", "<a>&#x110000;</a>", "<a>&amp</a>",
            "<a>]]></a>", "<a b></a>", "<a b=c></a>", "<ab=\"c\"></a>", "<a b=\"<\"></a>",
            "<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>", "<?xml version=\"1.0\" encoding=\"UTF-16\"?><a/>",
            "<a><!-- unterminated </a>", "<a><![CDATA[ unterminated </a>", "<?xml unterminated <a/>",
            String(repeating: "<a>", count: S3XMLNode.depthMax + 1)
                + String(repeating: "</a>", count: S3XMLNode.depthMax + 1),
        ]
        for text in cases { #expect(Self.parse(text) == nil, "\(text.debugDescription)") }
        #expect(S3XMLNode.parse(Array("<a>".utf8) + [0xFF, 0xFE] + Array("</a>".utf8)) == nil, "invalid UTF-8")
        #expect(S3XMLNode.parse(Array("<a".utf8) + [0xC3] + Array("></a".utf8) + [0xC3] + Array(">".utf8)) == nil)
        // Nesting up to the limit is accepted.
        let deep =
            String(repeating: "<a>", count: S3XMLNode.depthMax) + String(repeating: "</a>", count: S3XMLNode.depthMax)
        #expect(Self.parse(deep) != nil)
    }

    /// Found by the s3-xml fuzz target: this document (a bogus encoding declaration, then bytes
    /// that are not UTF-8 in an element name) made Foundation's XMLParser trap, killing the host.
    @Test func theDocumentThatCrashedFoundationsParserIsRefused() {
        var bytes = Array(#"<?xml version="1.0" encoding="<DeleteRe"#.utf8) + [0x94, 0x8A]
        bytes += Array("lt><Deleted><Key>a</Key><UT".utf8) + [UInt8](repeating: 0xFF, count: 113)
        bytes += Array(#"F-8"?><Lis/DeletBuc"#.utf8)
        #expect(S3XMLNode.parse(bytes) == nil)
    }

    /// Any text escaped by ``S3XMLNode/escape(_:)`` reads back as itself (seeded strings of
    /// every kind of character XML allows).
    @Test(arguments: [1, 2, 3] as [UInt64])
    func escapedTextReadsBackAsItself(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        let alphabet: [Character] = [
            "a", "Z", "0", " ", "\t", "\n", "&", "<", ">", "\"", "'", "]", "é", "😀", "/", ";", "#",
        ]
        for _ in 0..<200 {
            let text = String((0..<(rng.next() % 40)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] })
            let root = try #require(Self.parse("<Key>\(S3XMLNode.escape(text))</Key>"), "\(text.debugDescription)")
            #expect(root.text == text)
        }
    }

    /// Seeded random edits of real documents never crash the reader; whatever it accepts has
    /// valid names and nests within the limit.
    @Test(arguments: [4, 5] as [UInt64])
    func randomlyDamagedDocumentsNeverCrash(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let document = Array(
            #"<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>a&amp;b</Key><Size>1</Size></Contents></ListBucketResult>"#
                .utf8)
        for _ in 0..<5000 {
            var bytes = document
            for _ in 0..<(1 + rng.next() % 4) {
                let i = Int(rng.next() % UInt64(bytes.count))
                switch rng.next() % 3 {
                case 0: bytes[i] = UInt8(truncatingIfNeeded: rng.next())
                case 1: bytes.remove(at: i)
                default: bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: i)
                }
                if bytes.isEmpty { break }
            }
            if let root = S3XMLNode.parse(bytes) {
                #expect(!root.name.isEmpty)
            }
        }
    }
}
