/// A day of the week, spelled in lower case in JSON (`"sunday"`).
public enum Weekday: String, Hashable, Sendable, Codable, CaseIterable, Comparable {
    /// Monday (ISO 1).
    case monday
    /// Tuesday (ISO 2).
    case tuesday
    /// Wednesday (ISO 3).
    case wednesday
    /// Thursday (ISO 4).
    case thursday
    /// Friday (ISO 5).
    case friday
    /// Saturday (ISO 6).
    case saturday
    /// Sunday (ISO 7).
    case sunday

    /// ISO 8601 number: 1 = Monday … 7 = Sunday.
    public var isoNumber: Int { Self.allCases.firstIndex(of: self)! + 1 }

    /// The weekday with ISO number `isoNumber` (1 = Monday … 7 = Sunday).
    public init?(isoNumber: Int) {
        guard (1...7).contains(isoNumber) else { return nil }
        self = Self.allCases[isoNumber - 1]
    }

    /// Orders Monday first, as ISO 8601.
    public static func < (a: Weekday, b: Weekday) -> Bool { a.isoNumber < b.isoNumber }
}

/// A month of the year, spelled in lower case in JSON (`"january"`).
public enum Month: String, Hashable, Sendable, Codable, CaseIterable, Comparable {
    /// January (1).
    case january
    /// February (2).
    case february
    /// March (3).
    case march
    /// April (4).
    case april
    /// May (5).
    case may
    /// June (6).
    case june
    /// July (7).
    case july
    /// August (8).
    case august
    /// September (9).
    case september
    /// October (10).
    case october
    /// November (11).
    case november
    /// December (12).
    case december

    /// 1 = January … 12 = December.
    public var number: Int { Self.allCases.firstIndex(of: self)! + 1 }

    /// The month numbered `number` (1 = January).
    public init?(number: Int) {
        guard (1...12).contains(number) else { return nil }
        self = Self.allCases[number - 1]
    }

    /// Orders January first.
    public static func < (a: Month, b: Month) -> Bool { a.number < b.number }
}
