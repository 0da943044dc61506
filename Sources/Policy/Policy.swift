/// Schedules and retention, as pure logic (filled in by the Policy issue).
public enum Policy {}
