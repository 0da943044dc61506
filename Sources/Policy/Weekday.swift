/// A day of the week, spelled in lower case in JSON (`"sunday"`).
public enum Weekday: String, Hashable, Sendable, Codable, CaseIterable, Comparable {
    case monday, tuesday, wednesday, thursday, friday, saturday, sunday

    /// ISO 8601 number: 1 = Monday … 7 = Sunday.
    public var isoNumber: Int { Self.allCases.firstIndex(of: self)! + 1 }

    /// The weekday with ISO number `isoNumber` (1 = Monday … 7 = Sunday).
    public init?(isoNumber: Int) {
        guard (1...7).contains(isoNumber) else { return nil }
        self = Self.allCases[isoNumber - 1]
    }

    public static func < (a: Weekday, b: Weekday) -> Bool { a.isoNumber < b.isoNumber }
}

/// A month of the year, spelled in lower case in JSON (`"january"`).
public enum Month: String, Hashable, Sendable, Codable, CaseIterable, Comparable {
    case january, february, march, april, may, june
    case july, august, september, october, november, december

    /// 1 = January … 12 = December.
    public var number: Int { Self.allCases.firstIndex(of: self)! + 1 }

    /// The month numbered `number` (1 = January).
    public init?(number: Int) {
        guard (1...12).contains(number) else { return nil }
        self = Self.allCases[number - 1]
    }

    public static func < (a: Month, b: Month) -> Bool { a.number < b.number }
}
