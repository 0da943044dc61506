import Foundation

extension KeyedDecodingContainer {
    /// Decodes the whole number at `key`.
    ///
    /// `JSONDecoder` reports a number that is not a whole `Int` (a fraction, `1e30`, more digits
    /// than `Int` holds) as "not valid JSON" without saying where; this says which field it is.
    /// - Throws: `DecodingError.keyNotFound` when the key is missing; otherwise, for a value that
    ///   is not a whole `Int`, a `DecodingError.dataCorrupted` whose `underlyingError` is a
    ///   ``PolicyError/Code/invalidValue`` error naming the field by its coding path (e.g.
    ///   `tiered.daily.days`), which ``PolicyError/init(_:)`` recovers.
    func decodeWholeNumber(forKey key: Key) throws -> Int {
        if let value = try? decode(Int.self, forKey: key) { return value }
        guard contains(key) else { return try decode(Int.self, forKey: key) }  // keyNotFound
        let field = (codingPath + [key]).map(\.stringValue).filter { !$0.isEmpty }.joined(separator: ".")
        let shown: String
        if let number = try? decode(Double.self, forKey: key) {
            shown = "\(number)"
        } else if let text = try? decode(String.self, forKey: key) {
            shown = "the string \"\(text)\""
        } else {
            shown = "not a number"
        }
        let error = PolicyError(
            .invalidValue, "\(field) is \(shown), not a whole number in \(Int.min)...\(Int.max)", field: field)
        throw DecodingError.dataCorrupted(
            .init(codingPath: codingPath + [key], debugDescription: error.message, underlyingError: error))
    }

    /// Decodes the whole number at `key` as ``decodeWholeNumber(forKey:)`` does, or nil when the
    /// key is missing or null.
    func decodeWholeNumberIfPresent(forKey key: Key) throws -> Int? {
        guard contains(key), try !decodeNil(forKey: key) else { return nil }
        return try decodeWholeNumber(forKey: key)
    }
}
