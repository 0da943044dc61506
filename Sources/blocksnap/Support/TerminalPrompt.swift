#if canImport(Glibc)
    import Glibc
#endif

/// Reads a secret typed on the terminal (standard input), without echo.
///
/// The terminal is put in non-canonical mode without echo and without signals for the read, and
/// restored afterwards: the line is edited here (Backspace, Ctrl-U), Enter ends it, Ctrl-C
/// cancels and Ctrl-D on an empty line ends input. Handling Ctrl-C here, not as a signal, means
/// the terminal is always restored, however the prompt ends.
enum TerminalPrompt {
    /// Shows `prompt` on standard error and reads one line from the terminal on standard input.
    /// - Returns: The bytes typed, without the newline.
    /// - Throws: `CancellationError` for Ctrl-C; `invalidArgument` when input ends before a
    ///   line, for a line longer than ``Passphrase/byteCountMax`` bytes, or when standard input
    ///   is not a terminal.
    static func readSecret(prompt: String) throws -> [UInt8] {
        var saved = termios()
        guard tcgetattr(STDIN_FILENO, &saved) == 0 else {
            throw CLIError("invalidArgument", "standard input is not a terminal to ask for a passphrase on")
        }
        var quiet = saved
        quiet.c_lflag &= ~tcflag_t(ECHO | ECHONL | ICANON | ISIG | IEXTEN)
        withUnsafeMutableBytes(of: &quiet.c_cc) { cc in
            cc[Int(VMIN)] = 1
            cc[Int(VTIME)] = 0
        }
        // Quiet first, then the prompt: what is typed once the prompt shows is never echoed or
        // flushed (TCSAFLUSH drops only what was typed before).
        guard tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0 else {
            throw CLIError("invalidArgument", "cannot turn off echo on the terminal to ask for a passphrase")
        }
        defer {
            _ = tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved)
            write(STDERR_FILENO, "\n")
        }
        write(STDERR_FILENO, prompt)
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while true {
            let n = read(STDIN_FILENO, &byte, 1)
            if n < 0 && errno == EINTR { continue }
            guard n == 1 else {
                throw CLIError("invalidArgument", "input ended before a passphrase was entered")
            }
            switch byte {
            case UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                return line
            case 0x03:  // Ctrl-C
                throw CancellationError()
            case 0x04:  // Ctrl-D
                if line.isEmpty { throw CLIError("invalidArgument", "input ended before a passphrase was entered") }
            case 0x7F, 0x08:  // Backspace: one character, with its UTF-8 continuation bytes
                while let last = line.popLast(), last & 0xC0 == 0x80 {}
            case 0x15:  // Ctrl-U
                line.removeAll()
            default:
                line.append(byte)
                if line.count > Passphrase.byteCountMax {
                    throw CLIError(
                        "invalidArgument", "the passphrase typed is longer than \(Passphrase.byteCountMax) bytes")
                }
            }
        }
    }

    private static func write(_ fd: Int32, _ text: String) {
        var text = text
        text.withUTF8 { bytes in _ = Glibc.write(fd, bytes.baseAddress, bytes.count) }
    }
}
