/// Which day of a month a monthly or yearly tier picks, written as a string in JSON:
/// `"1"` … `"28"`, `"last"`, or `"<ordinal> <weekday>"` such as `"first sunday"` or
/// `"last friday"` (ordinals `first`, `second`, `third`, `fourth`, `last`).
///
/// Days 29–31 are not accepted (as in Azure): they would skip short months; use `"last"`.
public enum DayRule: Hashable, Sendable, Codable, CustomStringConvertible {
    /// A fixed day of the month, 1...28.
    case day(Int)
    /// The last day of the month (28, 29, 30 or 31).
    case last
    /// The first, second, third, fourth or last given weekday of the month.
    case weekday(WeekdayOrdinal, Weekday)

    /// Which occurrence of a weekday within its month.
    public enum WeekdayOrdinal: String, Hashable, Sendable, Codable, CaseIterable {
        /// Days 1–7.
        case first
        /// Days 8–14.
        case second
        /// Days 15–21.
        case third
        /// Days 22–28.
        case fourth
        /// The last seven days of the month.
        case last
    }

    /// Parses the JSON spelling.
    /// - Throws: ``PolicyError/Code/invalidValue`` or ``PolicyError/Code/outOfRange``.
    public init(_ text: String, field: String = "days") throws(PolicyError) {
        let words = text.lowercased().split(separator: " ")
        if words.count == 1, let n = Int(words[0]) {
            try PolicyError.check(field, n, 1...28, "(day of month; use \"last\" for month ends)")
            self = .day(n)
        } else if words == ["last"] {
            self = .last
        } else if words.count == 2, let ordinal = WeekdayOrdinal(rawValue: String(words[0])),
            let weekday = Weekday(rawValue: String(words[1]))
        {
            self = .weekday(ordinal, weekday)
        } else {
            throw PolicyError(
                .invalidValue,
                "\(field) entry \"\(text)\" must be 1...28, \"last\" or like \"first sunday\"",
                field: field)
        }
    }

    /// The JSON spelling (`"15"`, `"last"`, `"second tuesday"`).
    public var description: String {
        switch self {
        case .day(let n): "\(n)"
        case .last: "last"
        case .weekday(let ordinal, let weekday): "\(ordinal.rawValue) \(weekday.rawValue)"
        }
    }

    /// Whether the civil date is the day this rule picks in its month.
    func matches(_ date: CivilDate) -> Bool {
        let length = CivilDate.daysIn(year: date.year, month: date.month)
        switch self {
        case .day(let n): return date.day == n
        case .last: return date.day == length
        case .weekday(let ordinal, let weekday):
            guard date.isoWeekday == weekday.isoNumber else { return false }
            switch ordinal {
            case .first: return date.day <= 7
            case .second: return (8...14).contains(date.day)
            case .third: return (15...21).contains(date.day)
            case .fourth: return (22...28).contains(date.day)
            case .last: return date.day + 7 > length
            }
        }
    }

    /// Whether the rule names a weekday (rather than a day number).
    var isWeekdayBased: Bool {
        if case .weekday = self { return true }
        return false
    }

    /// Decodes the string spelling.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text: String
        if let n = try? container.decode(Int.self) {
            text = "\(n)"
        } else {
            text = try container.decode(String.self)
        }
        do { try self.init(text) } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.message)
        }
    }

    /// Encodes the string spelling.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
