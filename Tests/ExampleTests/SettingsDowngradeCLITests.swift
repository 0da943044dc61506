import Foundation
import Testing

/// S48 from the command line (the reproduction): an encrypted store whose `config` was
/// replaced by a plain store's `config` is refused with `tampered`, and nothing is written to it.
@Suite struct SettingsDowngradeCLITests {
    static func scratch() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
            "blocksnap-downgrade-\(UUID().uuidString)"
        )
        .path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Every file under `root` with its bytes (locks included: a refused open takes none).
    static func files(under root: String) throws -> [String: Data] {
        var out: [String: Data] = [:]
        let enumerator = FileManager.default.enumerator(atPath: root)
        while let path = enumerator?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            let full = "\(root)/\(path)"
            if FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue {
                out[path] = try Data(contentsOf: URL(fileURLWithPath: full))
            }
        }
        return out
    }

    static func errorCode(_ run: ExecutableTests.Run) -> String? {
        (run.json?["error"] as? [String: Any])?["code"] as? String
    }

    @Test func backupIntoAnEncryptedStoreWithAPlainConfigIsRefusedAndWritesNothing() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let env = ["BLOCKSNAP_PASSPHRASE": "downgrade passphrase"]
        let encrypted = "\(dir)/encrypted"
        let plain = "\(dir)/plain"
        var disk = [UInt8](repeating: 0, count: 256 << 10)
        for i in stride(from: 0, to: disk.count, by: 5) { disk[i] = UInt8(truncatingIfNeeded: i &* 31 | 1) }
        let image = "\(dir)/disk.img"
        try Data(disk).write(to: URL(fileURLWithPath: image))

        let initEncrypted = try ExecutableTests.run("blocksnap", ["init", "--store", encrypted], environment: env)
        #expect(initEncrypted.status == 0, "\(initEncrypted.stderr)")
        let first = try ExecutableTests.run(
            "blocksnap", ["backup", "--store", encrypted, "--item", "vm1", "--disk", image, "--json"],
            environment: env)
        #expect(first.status == 0, "\(first.stderr)")
        let initPlain = try ExecutableTests.run("blocksnap", ["init", "--store", plain, "--no-encryption"])
        #expect(initPlain.status == 0, "\(initPlain.stderr)")

        // Someone who can write to the store swaps in the plain store's config.
        try FileManager.default.removeItem(atPath: "\(encrypted)/config")
        try FileManager.default.copyItem(atPath: "\(plain)/config", toPath: "\(encrypted)/config")
        let before = try Self.files(under: encrypted)
        for i in stride(from: 0, to: disk.count, by: 4096) { disk[i] ^= 0x5A }
        try Data(disk).write(to: URL(fileURLWithPath: image))

        let backup = try ExecutableTests.run(
            "blocksnap", ["backup", "--store", encrypted, "--item", "vm1", "--disk", image, "--json"],
            environment: env)
        #expect(backup.status == 1, "\(backup.stdout) \(backup.stderr)")
        #expect(Self.errorCode(backup) == "tampered", "\(backup.stdout)")
        #expect(try Self.files(under: encrypted) == before, "the refused backup wrote to the store")

        // Without the passphrase the key files beside the plain config give the swap away.
        let list = try ExecutableTests.run("blocksnap", ["list", "--store", encrypted, "--json"])
        #expect(list.status == 1)
        #expect(Self.errorCode(list) == "tampered", "\(list.stdout)")
        #expect(try Self.files(under: encrypted) == before)
    }
}
