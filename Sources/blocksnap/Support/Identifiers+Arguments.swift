import ArgumentParser
import BlockSnap

extension ItemName: ExpressibleByArgument {
    /// An item name as typed on the command line (checked when used).
    public init?(argument: String) { self.init(argument) }
}

extension PointID: ExpressibleByArgument {
    /// A point ID as typed on the command line (checked when used).
    public init?(argument: String) { self.init(argument) }
}

extension DiskIndex: ExpressibleByArgument {
    /// A disk position as typed on the command line.
    public init?(argument: String) {
        guard let value = Int(argument) else { return nil }
        self.init(value)
    }
}
