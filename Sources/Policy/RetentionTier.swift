/// The tiers of an Azure-style policy; a point may carry several ("tags").
public enum RetentionTier: String, Hashable, Sendable, Codable, CaseIterable, Comparable {
    /// Every scheduled point, kept ``TieredRetention/Daily/days`` days.
    case daily
    /// The first scheduled point of a chosen weekday, kept ``TieredRetention/Weekly/weeks`` weeks.
    case weekly
    /// The first scheduled point of a chosen day of the month, kept
    /// ``TieredRetention/Monthly/months`` months.
    case monthly
    /// The first scheduled point of a chosen day of a chosen month, kept
    /// ``TieredRetention/Yearly/years`` years.
    case yearly

    /// Orders daily < weekly < monthly < yearly.
    public static func < (a: RetentionTier, b: RetentionTier) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}
