// BlockSnap's libFuzzer driver: one binary, every decoder; `scripts/fuzz` picks the target.
//
//   BLOCKSNAP_FUZZ_TARGET=index BlockSnapFuzz [libFuzzer options] CORPUS…
//   BlockSnapFuzz --list
//   BLOCKSNAP_FUZZ_TARGET=index BlockSnapFuzz --write-seeds DIR
//
// Built only with BLOCKSNAP_FUZZ=1 and `-sanitize=fuzzer,address` (see scripts/fuzz). SwiftPM
// names this file's entry point `main`, so libFuzzer's own `main` is not used: this one runs
// libFuzzer through `LLVMFuzzerRunDriver` with the chosen target.
import Foundation

@testable import BlockStore

@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// The chosen target's body (set once, before the driver starts).
nonisolated(unsafe) var chosenBody: (@Sendable (UnsafeRawBufferPointer) -> Void)?

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    chosenBody?(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

let arguments = CommandLine.arguments
if arguments.count == 2, arguments[1] == "--list" {
    for target in FuzzTarget.all { print("\(target.name)\t\(target.summary)") }
    exit(0)
}
let name = ProcessInfo.processInfo.environment["BLOCKSNAP_FUZZ_TARGET"] ?? ""
guard let target = FuzzTarget.named(name) else {
    FileHandle.standardError.write(
        Data("set BLOCKSNAP_FUZZ_TARGET to one of: \(FuzzTarget.all.map(\.name).joined(separator: ", "))\n".utf8))
    exit(2)
}
if arguments.count == 3, arguments[1] == "--write-seeds" {
    try await SeedCorpus.write(target: target.name, to: arguments[2])
    exit(0)
}
// Roots and chunks are decoded by a store's instance methods: a plain store on memory.
StoreObjectTargets.store = try await ChunkStore.create(on: MemoryBackend(), encryption: .none)
chosenBody = target.body
var argc = CommandLine.argc
var argv = CommandLine.unsafeArgv
exit(runFuzzerDriver(&argc, &argv, fuzzOneInput))
