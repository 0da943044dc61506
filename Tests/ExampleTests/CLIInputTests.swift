import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The `blocksnap` command takes its input the way people expect (issue 13): passphrases from a
/// file, a command or a prompt; sizes, policy numbers, disks and changed-range files checked
/// with errors that name the value; restores that do not overwrite by accident; and one error
/// contract (one line on stderr, `{"error":…}` with `--json`, exit 1, usage errors exit 2),
/// never a signal.
@Suite(.serialized) struct CLIInputTests {
    /// A run of the built tool, and how it ended.
    struct Outcome {
        var run: ExecutableTests.Run
        var reason: Process.TerminationReason
        var status: Int32 { run.status }
        var stdout: String { run.stdout }
        var stderr: String { run.stderr }
        var error: [String: Any]? { run.json?["error"] as? [String: Any] }
        var code: String? { error?["code"] as? String }
        var message: String { error?["message"] as? String ?? "" }

        /// Exited (no signal) with `status`, one line on stderr, and with `--json` the error
        /// object with `code`.
        func failed(_ status: Int32, code: String, json: Bool = true) -> Bool {
            reason == .exit && run.status == status && stderr.hasPrefix("blocksnap: ")
                && stderr.split(separator: "\n", omittingEmptySubsequences: false).count == 2
                && stderr.hasSuffix("\n") && (!json || self.code == code)
        }
    }

    /// Runs `blocksnap` isolated (see ``ExecutableTests/run(_:_:environment:isolated:)``): these
    /// tests need neither a terminal nor the test's own passphrase.
    static func blocksnap(_ arguments: [String], _ environment: [String: String] = [:]) throws -> Outcome {
        let run = try ExecutableTests.run("blocksnap", arguments, environment: environment, isolated: true)
        return Outcome(run: run, reason: run.reason)
    }

    static let passphrase = ["BLOCKSNAP_PASSPHRASE": "the right passphrase"]

    func scratch() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("blocksnap-cli-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// A seeded 1 MiB disk image (no zero blocks at the start) at `path`.
    func image(_ path: String, seed: UInt64 = 13) throws -> [UInt8] {
        var state = seed
        let bytes = (0..<(1 << 20)).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 33) | 1
        }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return bytes
    }

    /// A store at `dir/store` (encrypted with ``passphrase`` unless `plain`) with one point of
    /// `dir/disk.img`; returns the point.
    func storeWithAPoint(_ dir: String, plain: Bool = false) throws -> String {
        _ = try image("\(dir)/disk.img")
        let env = plain ? [:] : Self.passphrase
        let created = try Self.blocksnap(
            ["init", "--store", "\(dir)/store", "--block-size", "16KiB"] + (plain ? ["--no-encryption"] : []), env)
        try #require(created.status == 0, "\(created.stderr)")
        let backup = try Self.blocksnap(
            ["backup", "--store", "\(dir)/store", "--item", "vm1", "--disk", "\(dir)/disk.img", "--json"], env)
        return try #require(backup.run.json?["point"] as? String, "\(backup.stderr)")
    }

    /// The points `list` shows for the store's items.
    func points(_ dir: String, _ env: [String: String] = Self.passphrase) throws -> [String] {
        let list = try Self.blocksnap(["list", "--store", "\(dir)/store", "--json"], env)
        let items = list.run.json?["items"] as? [[String: Any]] ?? []
        return items.flatMap { ($0["points"] as? [[String: Any]] ?? []).compactMap { $0["point"] as? String } }
    }

    // MARK: - Sizes

    @Test func blockSizesParseWithoutOverflowAndNameTheValueAndRange() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for value in [
            "9000000000G", "99999999999999999999999", "9223372036854775807KiB", "8796093022208G", "0", "8MiB",
            "2KiB", "-4K", "abc", "4Ki", "3KiB", " 4KiB",
        ] {
            let store = "\(dir)/store-\(UUID().uuidString)"
            // `--block-size=VALUE`, so that "-4K" is a value and not an unknown option.
            let run = try Self.blocksnap([
                "init", "--store", store, "--block-size=\(value)", "--no-encryption", "--json",
            ])
            #expect(run.failed(1, code: "invalidArgument"), "\(value): \(run.status) \(run.stdout) \(run.stderr)")
            #expect(run.message.contains("--block-size \(value)"), "\(value): \(run.message)")
            #expect(run.message.contains("4KiB") && run.message.contains("4MiB"), "\(value): \(run.message)")
            #expect(!FileManager.default.fileExists(atPath: store), "\(value): a store was created")
        }
        let text = try Self.blocksnap(["init", "--store", "\(dir)/s", "--block-size", "9000000000G", "--no-encryption"])
        #expect(text.failed(1, code: "invalidArgument", json: false) && text.stdout.isEmpty, "\(text.stderr)")
        let good = try Self.blocksnap([
            "init", "--store", "\(dir)/ok", "--block-size", "4MiB", "--no-encryption", "--json",
        ])
        #expect(good.status == 0 && good.run.json?["blockSize"] as? Int == 4 << 20, "\(good.stderr)")
    }

    // MARK: - Policies

    @Test func policyNumbersOutOfRangeAreErrorsNamingTheirField() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let point = try storeWithAPoint(dir, plain: true)
        let cases: [(String, String, String)] = [
            (#"{"keepWithin": "300000000000y"}"#, "outOfRange", "keepWithin"),
            (#"{"keepLast": 2, "keepWithinDaily": "99999999999999999999999d"}"#, "outOfRange", "keepWithinDaily"),
            (#"{"keepLast": 1e30}"#, "invalidValue", "keepLast"),
            (#"{"keepDaily": -5}"#, "outOfRange", "keepDaily"),
            (#"{"keepHourly": 9223372036854775807}"#, "outOfRange", "keepHourly"),
            (#"{"count": {"keepWithin": "-3d"}}"#, "outOfRange", "keepWithin"),
            (#"{"tiered": {"daily": {"days": 99999999999}}}"#, "outOfRange", "daily.days"),
            (#"{"tiered": {"weekly": {"weeks": 1e300, "weekdays": ["sunday"]}}}"#, "invalidValue", "weekly.weeks"),
            (
                #"{"tiered": {"daily": {"days": 7}}, "onDemandRetentionDays": -1}"#, "outOfRange",
                "onDemandRetentionDays"
            ),
        ]
        for (json, code, field) in cases {
            let policy = "\(dir)/policy.json"
            try Data(json.utf8).write(to: URL(fileURLWithPath: policy))
            let run = try Self.blocksnap(
                ["prune", "--store", "\(dir)/store", "--item", "vm1", "--policy", policy, "--json"])
            #expect(run.failed(1, code: code), "\(json): \(run.reason) \(run.status) \(run.stdout) \(run.stderr)")
            #expect(run.message.contains(field), "\(json): \(run.message)")
        }
        #expect(try points(dir, [:]) == [point], "a refused prune removed a point")
    }

    // MARK: - Disks

    /// `mkfifo`, for the tests.
    func fifo(_ path: String) throws -> String {
        try #require(mkfifo(path, 0o600) == 0, "mkfifo: \(String(cString: strerror(errno)))")
        return path
    }

    /// A bound Unix socket at `path` (the path stays after the descriptor closes).
    func socket(_ path: String) throws -> String {
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        try #require(bytes.count < MemoryLayout.size(ofValue: address.sun_path))
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        try #require(bound == 0, "bind: \(String(cString: strerror(errno)))")
        return path
    }

    @Test func disksThatAreNotRegularFilesOrBlockDevicesAreRefusedAndNothingIsRecorded() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try Self.blocksnap(["init", "--store", "\(dir)/store", "--no-encryption"]).status == 0)
        _ = try image("\(dir)/disk.img")
        try FileManager.default.createDirectory(atPath: "\(dir)/a-directory", withIntermediateDirectories: false)
        #expect(FileManager.default.createFile(atPath: "\(dir)/empty.img", contents: nil))
        let cases: [(String, String)] = [
            ("/dev/null", "character device"), (try fifo("\(dir)/fifo"), "FIFO"),
            (try socket("\(dir)/sock"), "socket"), ("\(dir)/a-directory", "directory"), ("\(dir)/empty.img", "empty"),
        ]
        for (path, kind) in cases {
            for disks in [[path], ["\(dir)/disk.img", path]] {
                let run = try Self.blocksnap(
                    ["backup", "--store", "\(dir)/store", "--item", "vm1", "--json"] + disks.flatMap { ["--disk", $0] })
                #expect(run.failed(1, code: "invalidArgument"), "\(disks): \(run.status) \(run.stdout) \(run.stderr)")
                #expect(run.message.contains(path) && run.message.contains(kind), "\(path): \(run.message)")
            }
        }
        #expect(try points(dir, [:]).isEmpty, "a point was recorded")
        let missing = try Self.blocksnap([
            "backup", "--store", "\(dir)/store", "--item", "vm1", "--disk", "\(dir)/nope", "--json",
        ])
        #expect(missing.failed(1, code: "notFound"), "\(missing.stdout)")
    }

    // MARK: - Changed ranges

    @Test func changedFilesAreBoundedAndEveryBadEntryIsNamed() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let p1 = try storeWithAPoint(dir, plain: true)
        func backup(changed json: String?, file: String = "\(dir)/changed.json") throws -> Outcome {
            if let json { try Data(json.utf8).write(to: URL(fileURLWithPath: file)) }
            return try Self.blocksnap([
                "backup", "--store", "\(dir)/store", "--item", "vm1", "--disk", "\(dir)/disk.img", "--changed", file,
                "--base", p1, "--json",
            ])
        }
        // Over 64 MiB: refused from its size, before a byte is read (a sparse file costs nothing).
        let huge = "\(dir)/huge.json"
        #expect(FileManager.default.createFile(atPath: huge, contents: nil))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: huge))
        try handle.truncate(atOffset: (64 << 20) + 1)
        try handle.close()
        let big = try backup(changed: nil, file: huge)
        #expect(
            big.failed(1, code: "invalidArgument") && big.message.contains("64MiB")
                && big.message.contains("\((64 << 20) + 1) bytes"), "\(big.stdout)")

        let disk = 1 << 20
        let cases: [(String, [String])] = [
            (
                #"{"disks":[{"disk":0,"ranges":[[0,4096],[-5,10]]}]}"#,
                ["disks[0] (disk 0), ranges[1]", "-5", "negative"]
            ),
            (#"{"disks":[{"disk":0,"ranges":[[0,4096],[7,-1]]}]}"#, ["ranges[1]", "length", "negative"]),
            (#"{"disks":[{"disk":0,"ranges":[[0,4096],[1,2,3]]}]}"#, ["ranges[1] is not a [start, length] pair"]),
            (#"{"disks":[{"disk":0,"ranges":[[0,4096],7]}]}"#, ["ranges[1] is not a [start, length] pair"]),
            (
                #"{"disks":[{"disk":0,"ranges":[[\#(disk - 100),101]]}]}"#,
                ["ranges[0]", "past the end", "\(disk) bytes"]
            ),
            (#"{"disks":[{"disk":0,"ranges":[[18446744073709551615,2]]}]}"#, ["ranges[0]", "past 2^64"]),
            (#"{"disks":[{"disk":0,"ranges":[[1e30,2]]}]}"#, ["ranges[0]", "start", "past 2^64"]),
            (#"{"disks":[{"disk":0,"ranges":[[1.5,2]]}]}"#, ["ranges[0]", "start 1.5"]),
            (#"{"disks":[{"disk":0,"ranges":[["0",2]]}]}"#, ["ranges[0]", "string"]),
            (#"{"disks":[{"disk":3,"ranges":[]}]}"#, ["disks[0]", "disk 3", "--disk"]),
            (#"{"disks":[{"disk":-1,"ranges":[]}]}"#, ["disks[0]", "-1"]),
            (#"{"disks":[{"disk":0,"ranges":[]},{"disk":0,"ranges":[]}]}"#, ["disks[1]", "listed twice", "disks[0]"]),
            (#"{"disks":[{"disk":0,"ranges":[],"extra":1}]}"#, ["disks[0]", "extra"]),
            (#"{"disks":[{"disk":0}]}"#, ["disks[0] (disk 0)", "ranges"]),
            (#"{"disks":[0]}"#, ["disks[0] is not an object"]),
            (#"{"disk":[]}"#, ["unknown key \"disk\""]),
            (#"[1,2]"#, ["not a JSON object"]),
            (#"{"disks":[{"disk":0,"ranges":[[0,1]]}"#, ["not JSON"]),
        ]
        for (json, parts) in cases {
            let run = try backup(changed: json)
            #expect(run.failed(1, code: "invalidArgument"), "\(json): \(run.status) \(run.stdout) \(run.stderr)")
            for part in parts {
                #expect(run.message.contains(part), "\(json): \(run.message) lacks \(part)")
            }
        }
        #expect(try points(dir, [:]) == [p1], "a refused backup recorded a point")
        // Overlapping, unordered and empty ranges are fine.
        let fine = try backup(changed: #"{"disks":[{"disk":0,"ranges":[[8192,100],[0,9000],[500,0]]}]}"#)
        #expect(fine.status == 0, "\(fine.stderr)")
        #expect(try points(dir, [:]).count == 2)
    }

    // MARK: - Restore

    @Test func restoreOntoAnExistingTargetNeedsForceAndLeavesItUnchangedWithout() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let point = try storeWithAPoint(dir, plain: true)
        let disk = try readBytes("\(dir)/disk.img")
        let target = "\(dir)/precious.img"
        let precious = Data("do not overwrite me".utf8)
        try precious.write(to: URL(fileURLWithPath: target))
        func restore(_ extra: [String], to: String = target) throws -> Outcome {
            try Self.blocksnap(
                ["restore", "--store", "\(dir)/store", "--item", "vm1", "--point", point, "--to", to, "--json"] + extra)
        }
        let refused = try restore([])
        #expect(refused.failed(1, code: "alreadyExists"), "\(refused.stdout) \(refused.stderr)")
        #expect(refused.message.contains("--force") && refused.message.contains(target), "\(refused.message)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: target)) == precious, "the refused restore changed the file")
        let link = "\(dir)/dangling"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "\(dir)/nowhere.img")
        #expect(try restore([], to: link).failed(1, code: "alreadyExists"))
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/nowhere.img"))

        let forced = try restore(["--force"])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(try readBytes(target) == disk)

        let missing = try restore(["--in-place"], to: "\(dir)/missing.img")
        #expect(missing.failed(1, code: "notFound"), "\(missing.stdout)")
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/missing.img"))
        let inPlace = try restore(["--in-place"])
        #expect(inPlace.status == 0, "\(inPlace.stderr)")
        let device = try restore(["--force"], to: "/dev/null")
        #expect(
            device.failed(1, code: "invalidArgument") && device.message.contains("character device"), "\(device.stdout)"
        )
        let fresh = try restore([], to: "\(dir)/fresh.img")
        #expect(fresh.status == 0, "\(fresh.stderr)")
        #expect(try readBytes("\(dir)/fresh.img") == disk)
    }

    /// The CLI side of a restore that fails midway: the file it created is gone.
    @Test func aFailedRestoreLeavesNoPartialFile() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let point = try storeWithAPoint(dir, plain: true)
        let data = "\(dir)/store/data"
        let packs = try FileManager.default.subpathsOfDirectory(atPath: data).map { "\(data)/\($0)" }.filter {
            (try? FileManager.default.attributesOfItem(atPath: $0)[.type] as? FileAttributeType) == .typeRegular
        }
        // Damage every pack's middle: whichever the restore reads first fails it.
        for pack in packs {
            var bytes = try readBytes(pack)
            bytes[bytes.count / 2] ^= 0x01
            try Data(bytes).write(to: URL(fileURLWithPath: pack))
        }
        let target = "\(dir)/partial.img"
        let run = try Self.blocksnap([
            "restore", "--store", "\(dir)/store", "--item", "vm1", "--point", point, "--to", target, "--json",
        ])
        #expect(run.reason == .exit && run.status == 1 && run.code != nil, "\(run.stdout) \(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: target), "the failed restore left its partial file")
    }

    func readBytes(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }

    // MARK: - Usage errors

    @Test func usageErrorsExitTwoWithOneLineAndTheJSONForm() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = "\(dir)/store"
        let cases: [[String]] = [
            ["list", "--store", store, "--bogus"],
            ["list"],
            ["restore", "--store", store, "--item", "vm1", "--point", "p", "--to", "\(dir)/x", "--disk", "abc"],
            ["diff", "--store", store, "--item", "vm1", "--to", "p", "--max-results", "many"],
            ["backup", "--store", store, "--item", "vm1"],
            ["backup", "--store", store, "--item", "vm1", "--disk", "d", "--retain-days", "1e3"],
            ["frobnicate", "--store", store],
            ["init", "--store", store, "--block-size"],
        ]
        for arguments in cases {
            let text = try Self.blocksnap(arguments)
            #expect(
                text.failed(2, code: "usage", json: false), "\(arguments): \(text.reason) \(text.status) \(text.stderr)"
            )
            #expect(text.stdout.isEmpty, "\(arguments): \(text.stdout)")
            let json = try Self.blocksnap(arguments + ["--json"])
            #expect(json.failed(2, code: "usage"), "\(arguments): \(json.status) \(json.stdout) \(json.stderr)")
            #expect(!json.message.isEmpty)
        }
        #expect(!FileManager.default.fileExists(atPath: store))
        let help = try Self.blocksnap(["restore", "--help"])
        #expect(help.status == 0 && help.stdout.contains("--force"), "\(help.stderr)")
        let rootHelp = try Self.blocksnap(["--help"])
        #expect(rootHelp.status == 0 && rootHelp.stdout.contains("BLOCKSNAP_PASSPHRASE_COMMAND"))
        let helpCommand = try Self.blocksnap(["help", "restore"])
        #expect(helpCommand.status == 0 && helpCommand.stdout.contains("--force"), "\(helpCommand.stderr)")
        let badHelp = try Self.blocksnap(["help", "frobnicate", "--json"])
        #expect(badHelp.failed(2, code: "usage"), "\(badHelp.status) \(badHelp.stdout) \(badHelp.stderr)")
    }

    // MARK: - Passphrases

    /// Writes `text` to a file with `mode`.
    func secretFile(_ path: String, _ text: String, mode: Int = 0o600) throws -> String {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        return path
    }

    @Test func passphrasesComeFromAFileOrACommandInOrderAndAWrongOneFails() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let right = "the right passphrase"
        let file = try secretFile("\(dir)/pass", "\(right)\nsecond line ignored\n")
        // init from a file (CRLF line ending), then everything else opens with it.
        let crlf = try secretFile("\(dir)/pass-crlf", "\(right)\r\n")
        _ = try image("\(dir)/disk.img")
        let created = try Self.blocksnap(["init", "--store", "\(dir)/store", "--passphrase-file", crlf, "--json"])
        #expect(created.status == 0 && created.run.json?["encrypted"] as? Bool == true, "\(created.stderr)")
        let backup = try Self.blocksnap([
            "backup", "--store", "\(dir)/store", "--item", "vm1", "--disk", "\(dir)/disk.img", "--passphrase-file",
            file,
        ])
        #expect(backup.status == 0, "\(backup.stderr)")
        func list(_ extra: [String], _ env: [String: String]) throws -> Outcome {
            try Self.blocksnap(["list", "--store", "\(dir)/store", "--json"] + extra, env)
        }
        let marker = "\(dir)/command-ran"
        let opens: [([String], [String: String])] = [
            (["--passphrase-file", file], [:]),
            ([], ["BLOCKSNAP_PASSPHRASE_COMMAND": "printf '%s\\n' '\(right)'"]),
            ([], ["BLOCKSNAP_PASSPHRASE_COMMAND": "cat '\(file)'"]),
            ([], ["BLOCKSNAP_PASSPHRASE": right]),
            // Precedence: the file over the command (which is not even run) over the variable.
            (["--passphrase-file", file], ["BLOCKSNAP_PASSPHRASE_COMMAND": "touch '\(marker)'; echo wrong"]),
            ([], ["BLOCKSNAP_PASSPHRASE_COMMAND": "echo '\(right)'", "BLOCKSNAP_PASSPHRASE": "wrong"]),
        ]
        for (extra, env) in opens {
            let run = try list(extra, env)
            #expect(run.status == 0 && run.run.json?["items"] != nil, "\(extra) \(env): \(run.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: marker), "the command ran although a file was given")

        let wrongFile = try secretFile("\(dir)/wrong", "not it\n")
        let fails: [([String], [String: String], String, String)] = [
            (["--passphrase-file", wrongFile], [:], "wrongPassphrase", ""),
            ([], ["BLOCKSNAP_PASSPHRASE_COMMAND": "echo 'not it'"], "wrongPassphrase", ""),
            ([], ["BLOCKSNAP_PASSPHRASE": "not it"], "wrongPassphrase", ""),
            ([], ["BLOCKSNAP_PASSPHRASE_COMMAND": "echo '\(right)'; exit 3"], "invalidArgument", "exit status 3"),
            ([], ["BLOCKSNAP_PASSPHRASE_COMMAND": "kill -9 $$"], "invalidArgument", "signal 9"),
            ([], ["BLOCKSNAP_PASSPHRASE_COMMAND": "true"], "invalidArgument", "empty"),
            (["--passphrase-file", "\(dir)/absent"], [:], "notFound", "absent"),
            (["--passphrase-file", dir], [:], "invalidArgument", "directory"),
            (["--passphrase-file", try secretFile("\(dir)/empty", "\n")], [:], "invalidArgument", "empty"),
            (
                ["--passphrase-file", try secretFile("\(dir)/open", right, mode: 0o644)], [:], "invalidArgument",
                "chmod 600"
            ),
            ([], [:], "wrongPassphrase", "encrypted"),
        ]
        for (extra, env, code, part) in fails {
            let run = try list(extra, env)
            #expect(run.failed(1, code: code), "\(extra) \(env): \(run.status) \(run.stdout) \(run.stderr)")
            #expect(part.isEmpty || run.message.contains(part), "\(extra) \(env): \(run.message)")
            // Never printed, whatever went wrong.
            #expect(!run.stderr.contains(right) && !run.stdout.contains(right) && !run.stderr.contains("not it"))
        }
        let noSource = try Self.blocksnap(["init", "--store", "\(dir)/other", "--json"])
        #expect(noSource.failed(1, code: "invalidArgument"), "\(noSource.stdout)")
        #expect(noSource.message.contains("--passphrase-file") && noSource.message.contains("--no-encryption"))
    }

    /// Whether `python3` can drive a pseudo-terminal for the prompt test.
    static let hasPython: Bool = {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import pty"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }()

    /// Runs `blocksnap` on a pseudo-terminal (python's pty), typing each answer after each
    /// "passphrase" prompt appears. Returns everything the terminal showed and the exit status.
    func onTerminal(_ arguments: [String], answers: [String]) throws -> (status: Int32, screen: String) {
        let script = #"""
            import os, pty, sys, time
            answers = [a.encode() for a in os.environ["ANSWERS"].split("\n") if a]
            pid, fd = pty.fork()
            if pid == 0:
                os.execv(sys.argv[1], sys.argv[1:])
            screen, pending, deadline = b"", b"", time.time() + 120
            while time.time() < deadline:
                try:
                    data = os.read(fd, 4096)
                except OSError:
                    break
                if not data:
                    break
                screen += data
                pending += data
                if answers and pending.rstrip().endswith(b":") and b"assphrase" in pending:
                    time.sleep(0.1)
                    os.write(fd, answers.pop(0) + b"\r")
                    pending = b""
            _, status = os.waitpid(pid, 0)
            sys.stdout.write(screen.decode("utf-8", "replace"))
            sys.exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 100 + os.WTERMSIG(status))
            """#
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        let tool = ExecutableTests.productsDirectory.appendingPathComponent("blocksnap").path
        process.arguments = ["python3", "-c", script, tool] + arguments
        var env = ProcessInfo.processInfo.environment
        for name in ["BLOCKSNAP_PASSPHRASE", "BLOCKSNAP_PASSPHRASE_COMMAND"] { env[name] = nil }
        env["ANSWERS"] = answers.joined(separator: "\n")
        process.environment = env
        let out = Pipe()
        process.standardOutput = out
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let screen = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: screen, as: UTF8.self))
    }

    @Test(.enabled(if: hasPython)) func onATerminalThePassphraseIsAskedWithoutEchoTwiceForInit() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let secret = "typed at the prompt"
        let mismatch = try onTerminal(["init", "--store", "\(dir)/store"], answers: [secret, "something else"])
        #expect(mismatch.status == 1 && mismatch.screen.contains("differ"), "\(mismatch.screen)")
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/store/config"))

        let created = try onTerminal(["init", "--store", "\(dir)/store"], answers: [secret, secret])
        #expect(created.status == 0 && created.screen.contains("created an encrypted store"), "\(created.screen)")
        #expect(created.screen.components(separatedBy: "assphrase").count - 1 == 2, "asked twice: \(created.screen)")
        #expect(!created.screen.contains(secret), "the passphrase was echoed: \(created.screen)")

        let listed = try onTerminal(["list", "--store", "\(dir)/store", "--json"], answers: [secret])
        #expect(listed.status == 0 && listed.screen.contains("\"items\""), "\(listed.screen)")
        #expect(!listed.screen.contains(secret))
        let wrong = try onTerminal(["list", "--store", "\(dir)/store", "--json"], answers: ["not the one"])
        #expect(wrong.status == 1 && wrong.screen.contains("wrongPassphrase"), "\(wrong.screen)")
        // The file source wins over the prompt: nothing is asked.
        let file = try secretFile("\(dir)/pass", secret)
        let quiet = try onTerminal(["list", "--store", "\(dir)/store", "--passphrase-file", file], answers: [])
        #expect(quiet.status == 0 && !quiet.screen.contains("assphrase:"), "\(quiet.screen)")

        // A plain store never prompts.
        #expect(try Self.blocksnap(["init", "--store", "\(dir)/plain", "--no-encryption"]).status == 0)
        let plain = try onTerminal(["list", "--store", "\(dir)/plain"], answers: [])
        #expect(plain.status == 0 && !plain.screen.contains("assphrase"), "\(plain.screen)")
    }
}
