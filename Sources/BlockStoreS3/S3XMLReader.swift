/// Reads the XML that S3-compatible servers send into an ``S3XMLNode`` tree, without Foundation's
/// `XMLParser`.
///
/// Responses come from a server and are untrusted input. Foundation's parser (libxml2 under
/// swift-corelibs-foundation) traps on some malformed documents — element names that are not
/// valid UTF-8 after a bogus encoding declaration — and leaks on every parse error; a host must
/// not crash because a server or a proxy sent garbage. This reader accepts the subset of XML 1.0
/// that S3 uses and refuses everything else with nil:
/// - an optional UTF-8 byte-order mark, an XML declaration, comments and processing instructions
///   around one root element (no `DOCTYPE`: no entity declarations, no external entities);
/// - elements with attributes (read past, not kept), character data with the five predefined
///   entities and numeric character references, CDATA sections, comments, nesting up to
///   ``S3XMLNode/depthMax``;
/// - everything in UTF-8 (S3 declares and sends UTF-8; another declared encoding is refused).
///
/// It runs in one pass over the bytes without recursion, so its time is linear in the input and
/// its stack does not grow with the document.
struct S3XMLReader {
    private let bytes: [UInt8]
    private var at = 0

    private init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// The document's root element, or nil when the bytes are not a document this reader accepts.
    static func parse(_ bytes: [UInt8]) -> S3XMLNode? {
        var reader = S3XMLReader(bytes)
        return reader.document()
    }

    // MARK: - Document

    private mutating func document() -> S3XMLNode? {
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { at = 3 }
        if starts(with: "<?xml") {
            guard let declaration = processingInstruction(), Self.declaresUTF8OrNothing(declaration) else { return nil }
        }
        guard miscellany(), peek() == UInt8(ascii: "<") else { return nil }
        guard let root = element() else { return nil }
        guard miscellany(), at == bytes.count else { return nil }
        return root
    }

    /// Skips whitespace, comments and processing instructions; false on a malformed one.
    private mutating func miscellany() -> Bool {
        while true {
            skipWhitespace()
            if starts(with: "<!--") {
                guard comment() else { return false }
            } else if starts(with: "<?") {
                guard processingInstruction() != nil else { return false }
            } else {
                return true
            }
        }
    }

    // MARK: - Elements

    /// One element and everything in it, read with an explicit stack.
    private mutating func element() -> S3XMLNode? {
        var open: [(name: [UInt8], node: S3XMLNode, text: [UInt8])] = []
        repeat {
            if starts(with: "</") {
                at += 2
                guard let name = name(), var top = open.popLast(), name == top.name else { return nil }
                skipWhitespace()
                guard take(UInt8(ascii: ">")) else { return nil }
                guard let text = String(validating: top.text, as: UTF8.self) else { return nil }
                top.node.text = text
                if open.isEmpty { return top.node }
                open[open.count - 1].node.children.append(top.node)
            } else if starts(with: "<!--") {
                guard !open.isEmpty, comment() else { return nil }
            } else if starts(with: "<![CDATA[") {
                guard !open.isEmpty, let data = cdata() else { return nil }
                open[open.count - 1].text += data
            } else if starts(with: "<?") {
                guard !open.isEmpty, processingInstruction() != nil else { return nil }
            } else if take(UInt8(ascii: "<")) {
                guard open.count < S3XMLNode.depthMax, let name = name(), let local = Self.localName(name) else {
                    return nil
                }
                guard let selfClosing = attributes() else { return nil }
                let node = S3XMLNode(name: local, text: "", children: [])
                if selfClosing {
                    if open.isEmpty { return node }
                    open[open.count - 1].node.children.append(node)
                } else {
                    open.append((name, node, []))
                }
            } else {
                guard !open.isEmpty, characterData(into: &open[open.count - 1].text) else { return nil }
            }
        } while !open.isEmpty
        return nil
    }

    /// Reads past an element's attributes to its `>` or `/>`; returns whether it closed itself,
    /// or nil when they are malformed.
    private mutating func attributes() -> Bool? {
        while true {
            let hadSpace = skipWhitespace()
            if starts(with: "/>") {
                at += 2
                return true
            }
            if take(UInt8(ascii: ">")) { return false }
            guard hadSpace, name() != nil else { return nil }
            skipWhitespace()
            guard take(UInt8(ascii: "=")) else { return nil }
            skipWhitespace()
            guard let quote = peek(), quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") else { return nil }
            at += 1
            var value: [UInt8] = []
            while let byte = peek(), byte != quote {
                if byte == UInt8(ascii: "<") { return nil }
                if byte == UInt8(ascii: "&") {
                    guard reference(into: &value) else { return nil }
                } else {
                    value.append(byte)
                    at += 1
                }
            }
            guard take(quote), String(validating: value, as: UTF8.self) != nil else { return nil }
        }
    }

    /// Character data up to the next `<`, with references replaced.
    private mutating func characterData(into text: inout [UInt8]) -> Bool {
        while let byte = peek(), byte != UInt8(ascii: "<") {
            if byte == UInt8(ascii: "&") {
                guard reference(into: &text) else { return false }
            } else {
                // "]]>" may not appear in character data.
                if byte == UInt8(ascii: "]"), starts(with: "]]>") { return false }
                text.append(byte)
                at += 1
            }
        }
        return peek() != nil
    }

    /// An entity or character reference at `&`, appended as UTF-8.
    private mutating func reference(into out: inout [UInt8]) -> Bool {
        at += 1
        guard let end = bytes[at...].prefix(12).firstIndex(of: UInt8(ascii: ";")) else { return false }
        let body = Array(bytes[at..<end])
        at = end + 1
        switch String(decoding: body, as: UTF8.self) {
        case "lt": out.append(UInt8(ascii: "<"))
        case "gt": out.append(UInt8(ascii: ">"))
        case "amp": out.append(UInt8(ascii: "&"))
        case "quot": out.append(UInt8(ascii: "\""))
        case "apos": out.append(UInt8(ascii: "'"))
        case let text where text.hasPrefix("#x"):
            return Self.appendScalar(UInt32(text.dropFirst(2), radix: 16), to: &out)
        case let text where text.hasPrefix("#"):
            return Self.appendScalar(UInt32(text.dropFirst(1), radix: 10), to: &out)
        default:
            return false
        }
        return true
    }

    private static func appendScalar(_ value: UInt32?, to out: inout [UInt8]) -> Bool {
        // Characters XML allows: tab, newline, carriage return and U+0020 and above (no surrogates).
        guard let value, value == 0x9 || value == 0xA || value == 0xD || value >= 0x20,
            let scalar = Unicode.Scalar(value)
        else { return false }
        out.append(contentsOf: Array(String(Character(scalar)).utf8))
        return true
    }

    // MARK: - Markup that carries no data

    private mutating func comment() -> Bool {
        at += 4
        guard let end = find("--") else { return false }
        at = end + 2
        return take(UInt8(ascii: ">"))
    }

    private mutating func cdata() -> [UInt8]? {
        at += 9
        guard let end = find("]]>") else { return nil }
        let data = Array(bytes[at..<end])
        at = end + 3
        return data
    }

    /// A processing instruction's content (between `<?` and `?>`).
    private mutating func processingInstruction() -> [UInt8]? {
        at += 2
        guard let end = find("?>") else { return nil }
        let content = Array(bytes[at..<end])
        at = end + 2
        return content
    }

    private static func declaresUTF8OrNothing(_ declaration: [UInt8]) -> Bool {
        let text = String(decoding: declaration, as: UTF8.self).lowercased()
        guard let range = text.range(of: "encoding") else { return true }
        let rest = text[range.upperBound...].drop { $0 == " " || $0 == "=" || $0 == "\"" || $0 == "'" }
        return rest.hasPrefix("utf-8") || rest.hasPrefix("utf8")
    }

    // MARK: - Lexing

    /// A name: bytes up to whitespace or a delimiter, non-empty and valid UTF-8.
    private mutating func name() -> [UInt8]? {
        let start = at
        while let byte = peek(), !Self.endsName(byte) { at += 1 }
        guard at > start else { return nil }
        let name = Array(bytes[start..<at])
        guard String(validating: name, as: UTF8.self) != nil else { return nil }
        return name
    }

    private static func endsName(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x20, 0x09, 0x0A, 0x0D, UInt8(ascii: "/"), UInt8(ascii: ">"), UInt8(ascii: "<"), UInt8(ascii: "="),
            UInt8(ascii: "&"), UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "?"), UInt8(ascii: "!"):
            return true
        default:
            return false
        }
    }

    /// The part of a name after its namespace prefix.
    private static func localName(_ name: [UInt8]) -> String? {
        let local = name.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false).last ?? []
        guard !local.isEmpty else { return nil }
        return String(validating: local, as: UTF8.self)
    }

    @discardableResult
    private mutating func skipWhitespace() -> Bool {
        let start = at
        while let byte = peek(), byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { at += 1 }
        return at > start
    }

    private func peek() -> UInt8? { at < bytes.count ? bytes[at] : nil }

    private mutating func take(_ byte: UInt8) -> Bool {
        guard peek() == byte else { return false }
        at += 1
        return true
    }

    private func starts(with text: StaticString) -> Bool {
        let count = text.utf8CodeUnitCount
        guard bytes.count - at >= count else { return false }
        return text.withUTF8Buffer { pattern in
            for i in 0..<count where bytes[at + i] != pattern[i] { return false }
            return true
        }
    }

    /// The index where `text` next starts, from the current position.
    private func find(_ text: StaticString) -> Int? {
        let count = text.utf8CodeUnitCount
        guard bytes.count - at >= count else { return nil }
        return text.withUTF8Buffer { pattern in
            var i = at
            while i + count <= bytes.count {
                if bytes[i] == pattern[0] {
                    var match = true
                    for j in 1..<count where bytes[i + j] != pattern[j] {
                        match = false
                        break
                    }
                    if match { return i }
                }
                i += 1
            }
            return nil
        }
    }
}
