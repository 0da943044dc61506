import Foundation

extension MotoServer {
    /// How this process launches moto: an executable and the arguments before `-H HOST -p PORT`,
    /// or nil when moto is not installed.
    ///
    /// Found once per process: the first `python3` or `python` on `PATH` that can import
    /// `moto.server`, by its real path (so that a pyenv shim does not stand between this process
    /// and the server it kills), running the guarded server script (an orphan guard and atomic conditional writes); else `moto_server` from `PATH`
    /// as it is.
    public static let launcher: (executable: String, arguments: [String])? = findMoto()

    /// Whether moto can be started here.
    public static var isInstalled: Bool { launcher != nil }

    /// Why moto cannot be started here, and how to install it.
    public static let notInstalledMessage =
        "moto_server is not installed (no python3 with moto, no moto_server on PATH): run "
        + "scripts/ensure-deps or pip install 'moto[server]'"

    /// `python -m moto.server` with two additions.
    ///
    /// - A thread that exits when the server's parent changes, that is when the process that
    ///   started it died, so a crashed run leaks no server.
    /// - Conditional writes (`If-None-Match`) made atomic, as they are on AWS: moto 5.2 checks
    ///   for the key and then stores it without a lock, so under concurrent requests two
    ///   creators of one key can both win (seen once in 16 concurrent creates). A lock is taken
    ///   around those requests only; other requests run concurrently as before.
    static let guardedServerScript = """
        import os, runpy, sys, threading, time
        import werkzeug.serving
        parent = os.getppid()
        def watch():
            while os.getppid() == parent:
                time.sleep(0.5)
            os._exit(0)
        threading.Thread(target=watch, daemon=True).start()
        conditional = threading.Lock()
        plain_run_simple = werkzeug.serving.run_simple
        def run_simple(hostname, port, application, *args, **kwargs):
            def guarded(environ, start_response):
                if environ.get("HTTP_IF_NONE_MATCH") is None:
                    return application(environ, start_response)
                with conditional:
                    return list(application(environ, start_response))
            return plain_run_simple(hostname, port, guarded, *args, **kwargs)
        werkzeug.serving.run_simple = run_simple
        sys.argv = ["moto_server"] + sys.argv[1:]
        runpy.run_module("moto.server", run_name="__main__", alter_sys=True)
        """

    private static func findMoto() -> (executable: String, arguments: [String])? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        let dirs = path.split(separator: ":").map(String.init)
        func which(_ name: String) -> String? {
            dirs.map { $0 + "/" + name }.first { FileManager.default.isExecutableFile(atPath: $0) }
        }
        // The interpreter that can import moto: its real path, not a shim.
        for python in ["python3", "python"] {
            guard let candidate = which(python) else { continue }
            let probe = Process()
            probe.executableURL = URL(fileURLWithPath: candidate)
            probe.arguments = ["-c", "import sys, moto.server; print(sys.executable)"]
            let pipe = Pipe()
            probe.standardOutput = pipe
            probe.standardError = FileHandle.nullDevice
            guard (try? probe.run()) != nil else { continue }
            let output = pipe.fileHandleForReading.readDataToEndOfFile()
            probe.waitUntilExit()
            let executable = String(decoding: output, as: UTF8.self).trimmingCharacters(
                in: .whitespacesAndNewlines)
            if probe.terminationStatus == 0, !executable.isEmpty {
                return (executable, ["-c", guardedServerScript])
            }
        }
        return which("moto_server").map { ($0, []) }
    }
}
