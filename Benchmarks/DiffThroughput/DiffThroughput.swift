import Benchmark
import BlockSnap

// Filled in by the issue that owns this benchmark.
let benchmarks: @Sendable () -> Void = {
}
