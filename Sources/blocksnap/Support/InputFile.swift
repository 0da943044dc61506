import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Reads a small input file (a policy, a changed-ranges file, a passphrase file) with a size
/// bound checked before reading, so a huge or endless input (a mistyped path to a disk image,
/// `/dev/zero`) is refused instead of filling memory.
enum InputFile {
    /// Reads at most `byteCountMax` bytes of `path`, or until `stopAtNewline` finds a newline.
    /// - Parameters:
    ///   - path: The file; a FIFO (`<(command)`) or character device works too, read up to the bound.
    ///   - what: How messages name it, e.g. `--changed dirty.json`.
    ///   - byteCountMax: The most bytes accepted. A regular file larger than this is refused
    ///     before a byte is read; other files are refused once they yield more.
    ///   - stopAtNewline: Stop at the first newline (returned without it).
    ///   - refusal: Checks the opened file's status; a returned error is thrown.
    /// - Returns: The bytes read.
    /// - Throws: `notFound`, `invalidArgument` (a directory, or more than `byteCountMax` bytes),
    ///   `ioError`, or what `refusal` returns.
    static func read(
        _ path: String, what: String, byteCountMax: Int, stopAtNewline: Bool = false,
        refusal: (stat) -> CLIError? = { _ in nil }
    ) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let e = errno
            if e == ENOENT { throw CLIError("notFound", "\(what) does not exist") }
            throw CLIError("ioError", "cannot open \(what): \(String(cString: strerror(e)))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw CLIError("ioError", "cannot stat \(what): \(String(cString: strerror(errno)))")
        }
        if st.st_mode & S_IFMT == S_IFDIR { throw CLIError("invalidArgument", "\(what) is a directory, not a file") }
        if let error = refusal(st) { throw error }
        let tooLarge = "\(what) is larger than \(ByteSize.compact(byteCountMax)), the most it may hold"
        if st.st_mode & S_IFMT == S_IFREG && st.st_size > byteCountMax && !stopAtNewline {
            throw CLIError("invalidArgument", "\(tooLarge) (it is \(st.st_size) bytes)")
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw CLIError("ioError", "cannot read \(what): \(String(cString: strerror(errno)))")
            }
            if n == 0 { return bytes }
            if stopAtNewline, let newline = chunk[0..<n].firstIndex(of: UInt8(ascii: "\n")) {
                bytes += chunk[0..<newline]
                guard bytes.count <= byteCountMax else { throw CLIError("invalidArgument", tooLarge) }
                return bytes
            }
            bytes += chunk[0..<n]
            guard bytes.count <= byteCountMax else { throw CLIError("invalidArgument", tooLarge) }
        }
    }
}
