/// Why the benchmark's moto_server could not be started.
struct MotoProcessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
