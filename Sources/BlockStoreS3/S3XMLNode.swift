/// A parsed XML element: just enough of a tree to read S3's responses.
package struct S3XMLNode: Sendable {
    /// The element name without namespace prefix, e.g. `Contents`.
    package var name: String
    /// The element's text content (concatenated, not trimmed).
    package var text: String
    /// The child elements, in document order.
    package var children: [S3XMLNode]

    /// The first child named `name`.
    package func child(_ name: String) -> S3XMLNode? { children.first { $0.name == name } }
    /// Every child named `name`.
    package func children(_ name: String) -> [S3XMLNode] { children.filter { $0.name == name } }
    /// The text of the first child named `name`.
    package func text(of name: String) -> String? { child(name)?.text }

    /// The deepest nesting accepted: S3's documents nest four levels; a deeper one is refused
    /// before the tree (whose destruction recurses) can grow deep enough to overflow a stack.
    package static let depthMax = 32

    /// Parses a document (see ``S3XMLReader`` for what is accepted); nil when it is not
    /// well-formed XML of that subset or nests deeper than ``depthMax``.
    package static func parse(_ bytes: [UInt8]) -> S3XMLNode? {
        S3XMLReader.parse(bytes)
    }

    /// Escapes `text` for use as XML character data.
    package static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for ch in text {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(ch)
            }
        }
        return out
    }
}
