import Foundation
import Testing

@testable import Policy

@Suite struct StrictDecodingTests {
    /// A misspelt tier or policy key must not silently keep less.
    @Test func unknownKeysAreRejected() {
        for json in [
            #"{"tiered": {"dayly": {"days": 7}, "weekly": {"weeks": 4, "weekdays": ["sunday"]}}}"#,
            #"{"tiered": {"daily": {"days": 7}}, "onDemandRetentionDay": 5}"#,
        ] {
            #expect(throws: DecodingError.self, "\(json)") {
                try JSONDecoder().decode(RetentionPolicy.self, from: Data(json.utf8))
            }
        }
    }
}
