/// The counts a restic-style evaluation has left after a kept point, as `restic forget --json`
/// reports them (`-1` stays `-1` for an unlimited rule; `0` means used up or off).
public struct ForgetCounters: Hashable, Sendable, Codable {
    /// What is left of `keepLast`.
    public var last: Int
    /// What is left of `keepHourly`.
    public var hourly: Int
    /// What is left of `keepDaily`.
    public var daily: Int
    /// What is left of `keepWeekly`.
    public var weekly: Int
    /// What is left of `keepMonthly`.
    public var monthly: Int
    /// What is left of `keepYearly`.
    public var yearly: Int

    /// Creates counters.
    public init(
        last: Int = 0, hourly: Int = 0, daily: Int = 0, weekly: Int = 0,
        monthly: Int = 0, yearly: Int = 0
    ) {
        self.last = last
        self.hourly = hourly
        self.daily = daily
        self.weekly = weekly
        self.monthly = monthly
        self.yearly = yearly
    }
}
