/// Why a moto server could not be found, started or reached.
public struct MotoError: Error, CustomStringConvertible, Sendable {
    /// What went wrong and, where it helps, what to do.
    public var description: String

    /// Creates an error with `description`.
    public init(_ description: String) { self.description = description }
}
