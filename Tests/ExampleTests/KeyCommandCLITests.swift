import BlockSnap
import Foundation
import Testing

/// `blocksnap key add|list|remove` through the built command: passphrases added from the
/// environment or a file both open the store, the list shows them, and the last key stays.
@Suite struct KeyCommandCLITests {
    static func keys(_ run: ExecutableTests.Run) -> [[String: Any]] {
        run.json?["keys"] as? [[String: Any]] ?? []
    }

    static func errorCode(_ run: ExecutableTests.Run) -> String? {
        (run.json?["error"] as? [String: Any])?["code"] as? String
    }

    /// Whether `passphrase` opens the store (a read-only command succeeds).
    static func opens(_ store: String, with passphrase: String) throws -> ExecutableTests.Run {
        try ExecutableTests.run(
            "blocksnap", ["stats", "--store", store, "--json"], environment: ["BLOCKSNAP_PASSPHRASE": passphrase])
    }

    @Test func keysAreAddedListedAndRemovedButNeverTheLast() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("blocksnap-keys-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = "\(dir)/store"
        let old = ["BLOCKSNAP_PASSPHRASE": "old passphrase"]
        #expect(try ExecutableTests.run("blocksnap", ["init", "--store", store], environment: old).status == 0)

        // From the environment.
        let added = try ExecutableTests.run(
            "blocksnap", ["key", "add", "--store", store, "--label", "ops", "--json"],
            environment: old.merging(["BLOCKSNAP_NEW_PASSPHRASE": "new passphrase"]) { $1 })
        #expect(added.status == 0, "\(added.stderr)")
        let addedID = try #require(added.json?["id"] as? String, "\(added.stdout)")
        #expect(added.json?["label"] as? String == "ops")

        // From a file: one trailing newline is not part of the passphrase.
        let file = "\(dir)/new-passphrase"
        try Data("filed passphrase\n".utf8).write(to: URL(fileURLWithPath: file))
        let fromFile = try ExecutableTests.run(
            "blocksnap", ["key", "add", "--store", store, "--new-passphrase-file", file, "--json"], environment: old)
        #expect(fromFile.status == 0, "\(fromFile.stderr)")
        let both = try ExecutableTests.run(
            "blocksnap", ["key", "add", "--store", store, "--new-passphrase-file", file, "--json"],
            environment: old.merging(["BLOCKSNAP_NEW_PASSPHRASE": "x"]) { $1 })
        #expect(both.status == 1 && Self.errorCode(both) == "invalidArgument", "\(both.stdout)")

        let list = try ExecutableTests.run("blocksnap", ["key", "list", "--store", store, "--json"], environment: old)
        #expect(list.status == 0, "\(list.stderr)")
        let listed = Self.keys(list)
        #expect(listed.count == 3, "\(list.stdout)")
        #expect(Set(listed.compactMap { $0["label"] as? String }) == ["initial", "ops", ""], "\(list.stdout)")
        #expect(listed.allSatisfy { ($0["created"] as? String)?.hasPrefix("20") == true }, "\(list.stdout)")
        #expect(listed.contains { $0["id"] as? String == addedID })
        let initialID = try #require(listed.first { $0["label"] as? String == "initial" }?["id"] as? String)
        let text = try ExecutableTests.run("blocksnap", ["key", "list", "--store", store], environment: old)
        #expect(text.status == 0 && text.stdout.contains(addedID) && text.stdout.contains("ops"))

        for passphrase in ["old passphrase", "new passphrase", "filed passphrase"] {
            let run = try Self.opens(store, with: passphrase)
            #expect(run.status == 0, "\(passphrase): \(run.stdout) \(run.stderr)")
        }
        #expect(Self.errorCode(try Self.opens(store, with: "filed passphrase\n")) == "wrongPassphrase")

        // Rotate: the new passphrase removes the old one, which stops opening the store.
        let new = ["BLOCKSNAP_PASSPHRASE": "new passphrase"]
        let removed = try ExecutableTests.run(
            "blocksnap", ["key", "remove", "--store", store, initialID, "--json"], environment: new)
        #expect(removed.status == 0, "\(removed.stderr)")
        #expect(removed.json?["removed"] as? String == initialID)
        #expect(Self.errorCode(try Self.opens(store, with: "old passphrase")) == "wrongPassphrase")
        #expect(try Self.opens(store, with: "new passphrase").status == 0)

        // Down to one key: removing it is refused.
        let rest = Self.keys(
            try ExecutableTests.run("blocksnap", ["key", "list", "--store", store, "--json"], environment: new))
        let filedID = try #require(rest.first { $0["id"] as? String != addedID }?["id"] as? String)
        #expect(
            try ExecutableTests.run("blocksnap", ["key", "remove", "--store", store, filedID], environment: new).status
                == 0)
        let last = try ExecutableTests.run(
            "blocksnap", ["key", "remove", "--store", store, addedID, "--json"], environment: new)
        #expect(last.status == 1, "\(last.stdout)")
        #expect(Self.errorCode(last) == "invalidArgument", "\(last.stdout)")
        let final = Self.keys(
            try ExecutableTests.run("blocksnap", ["key", "list", "--store", store, "--json"], environment: new))
        #expect(final.map { $0["id"] as? String } == [addedID])
        #expect(try Self.opens(store, with: "new passphrase").status == 0)
    }
}

extension KeyCommandCLITests {
    /// A key file that cannot be used is shown by `key list` (and warned about on standard error)
    /// without stopping the good key from opening the store; `key remove` removes it.
    @Test func aDamagedKeyFileIsListedWarnedAboutAndRemovable() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("blocksnap-keys-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = "\(dir)/store"
        let env = ["BLOCKSNAP_PASSPHRASE": "the passphrase"]
        #expect(try ExecutableTests.run("blocksnap", ["init", "--store", store], environment: env).status == 0)
        // Not a key file, named as one must be (the SHA-256 of its bytes).
        let junk = Data("{\"version\":2}".utf8)
        let junkID = ChunkHasher.sha256.dataID(Array(junk)).hex
        try junk.write(to: URL(fileURLWithPath: "\(store)/keys/\(junkID)"))

        let list = try ExecutableTests.run("blocksnap", ["key", "list", "--store", store, "--json"], environment: env)
        #expect(list.status == 0, "\(list.stdout) \(list.stderr)")
        #expect(Self.keys(list).map { $0["label"] as? String } == ["initial"], "\(list.stdout)")
        let damaged = list.json?["damaged"] as? [[String: Any]] ?? []
        #expect(damaged.map { $0["id"] as? String } == [junkID], "\(list.stdout)")
        #expect(list.stderr.contains("warning") && list.stderr.contains(junkID), "\(list.stderr)")

        let removed = try ExecutableTests.run(
            "blocksnap", ["key", "remove", "--store", store, junkID, "--json"], environment: env)
        #expect(removed.status == 0, "\(removed.stdout) \(removed.stderr)")
        let after = try ExecutableTests.run("blocksnap", ["key", "list", "--store", store, "--json"], environment: env)
        #expect((after.json?["damaged"] as? [[String: Any]])?.isEmpty == true, "\(after.stdout)")
        #expect(!after.stderr.contains("warning"), "\(after.stderr)")
    }
}
