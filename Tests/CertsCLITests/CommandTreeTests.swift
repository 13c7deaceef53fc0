import ArgumentParser
import Foundation
import Testing
@testable import certs

/// The whole command tree, walked from the root command's `configuration.subcommands`: a command
/// added without `--json`, or whose failure with `--json` is not one JSON error document, fails here.
@Suite struct CommandTreeTests {
    /// Every leaf command's path (["ca", "crl"], ["check"], …).
    static func leaves(_ type: ParsableCommand.Type = Certs.self, path: [String] = []) -> [[String]] {
        let subcommands = type.configuration.subcommands
        guard !subcommands.isEmpty else { return [path] }
        return subcommands.flatMap { leaves($0, path: path + [$0.configuration.commandName ?? "?"]) }
    }

    /// The documented exit code of a usage error: 2, but UNKNOWN (3) for check (monitoring convention).
    static func usageExit(_ path: [String]) -> Int32 { path == ["check"] ? 3 : 2 }

    @Test func theWalkReachesEveryCommandGroup() {
        let paths = Self.leaves().map { $0.joined(separator: " ") }
        for expected in ["key new", "csr new", "ca init", "ca hop", "ca crl", "export", "emit cron", "emit k8s", "account show", "request", "check", "doctor"] {
            #expect(paths.contains(expected), "\(paths)")
        }
        #expect(paths.count == Set(paths).count)
    }

    @Test(arguments: leaves())
    func everyLeafListsJSONInItsHelpAndFailsWithOneJSONErrorDocument(path: [String]) throws {
        let help = try certs(path + ["--help"])
        #expect(help.status == 0, "\(help.stderr)")
        // An option line of the help, not a mention in the discussion.
        let optionLines = help.stdout.split(separator: "\n").map { $0.drop { $0 == " " } }
        #expect(optionLines.contains { $0 == "--json" || $0.hasPrefix("--json ") }, "certs \(path.joined(separator: " ")) --help lists no --json")

        let r = try certs(path + ["--json", "--no-such-option"])
        let code = Self.usageExit(path)
        #expect(r.status == code, "exit \(r.status): \(r.stderr)")
        #expect(r.stderrLines.count == 1 && r.stderr.hasPrefix("error: "), "\(r.stderr)")
        // The failure is the unknown option or a missing argument, never --json (a command without it names it).
        #expect(!r.stderr.contains("--json"), "\(r.stderr)")
        let doc = try parseJSONObject(r.stdout)
        #expect(doc["version"] as? Int == 1)
        let error = try #require(doc["error"] as? [String: Any], "\(r.stdout)")
        #expect(error["code"] as? Int == Int(code))
        #expect(error["kind"] as? String == "usage")
        let message = try #require(error["message"] as? String)
        #expect(r.stderr == "error: \(message)\n", "stderr and the document say the same: \(r.stderr) / \(message)")
    }
}

/// Input errors with `--json`: every command that reads a user's file, given a missing file and a
/// malformed one (a PEM block whose body is not base64; as a stack file it is not a mapping), fails
/// with exactly one JSON error document on stdout (kind "input") that says what stderr says.
@Suite struct InputErrorJSONTests {
    /// The command lines, with "FILE" where the file goes; every path is a leaf of the tree.
    static let fileReaders: [[String]] = [
        ["inspect", "FILE"], ["bundle", "FILE"], ["verify", "FILE"], ["check", "FILE"],
        ["install", "shop", "--cert", "FILE", "--store", "STORE"],
        ["csr", "new", "--key", "FILE", "--san", "a.example", "--out", "OUT"],
        ["ca", "hop", "--stack", "FILE", "--store", "STORE"],
        ["emit", "nginx", "--stack", "FILE", "--out", "OUT"], ["emit", "compose", "--stack", "FILE", "--out", "OUT"],
        ["emit", "ci", "--stack", "FILE", "--out", "OUT"], ["emit", "k8s", "--stack", "FILE", "--out", "OUT"],
        ["emit", "bundle", "--stack", "FILE", "--host", "10.0.2.15", "--out", "OUT"],
        ["deploy", "--stack", "FILE", "--store", "STORE"], ["doctor", "--stack", "FILE", "--store", "STORE"],
        // Read before any connection (the URL is loopback's discard port anyway).
        ["request", "a.example", "--acme", "https://127.0.0.1:9/dir", "--ca-bundle", "FILE", "--standalone", "--store", "STORE"],
        ["revoke", "shop", "--acme", "https://127.0.0.1:9/dir", "--ca-bundle", "FILE", "--store", "STORE"],
        ["account", "show", "--acme", "https://127.0.0.1:9/dir", "--ca-bundle", "FILE", "--store", "STORE"],
    ]

    /// The command's path in the tree: the words before the first option, file or operand.
    static func commandPath(_ line: [String]) -> [String] {
        Array(line.prefix { !$0.hasPrefix("-") && $0 != "FILE" && $0 != "shop" && $0 != "a.example" })
    }

    @Test func everyCommandLineIsALeafOfTheTree() {
        let leaves = Set(CommandTreeTests.leaves())
        for line in Self.fileReaders { #expect(leaves.contains(Self.commandPath(line)), "\(line)") }
    }

    @Test(arguments: fileReaders, ["missing", "malformed"])
    func anInputErrorIsOneJSONErrorDocument(line: [String], input: String) throws {
        let s = Scratch()
        let file = input == "missing" ? s.file("missing.pem") : s.write("bad.pem", "-----BEGIN CERTIFICATE-----\nnot base64 !!\n-----END CERTIFICATE-----\n")
        let args = line.map { ["FILE": file, "STORE": s.file("store"), "OUT": s.file("out")][$0] ?? $0 } + ["--json"]
        let r = try certs(args)
        let path = Self.commandPath(line)
        let code: Int32 = path == ["check"] ? 3 : 2
        #expect(r.status == code, "\(args): exit \(r.status): \(r.stderr)")
        #expect(r.stderrLines.count == 1 && r.stderr.hasPrefix("error: \(file)"), "\(args): \(r.stderr)")
        #expect(!s.exists("out") && !s.exists("store/live"), "\(args) wrote something")
        let check = {
            let doc = try parseJSONObject(r.stdout)
            #expect(doc["version"] as? Int == 1)
            let error = try #require(doc["error"] as? [String: Any], "\(r.stdout)")
            #expect(error["code"] as? Int == Int(code) && error["kind"] as? String == "input", "\(r.stdout)")
            let message = try #require(error["message"] as? String)
            #expect(r.stderr == "error: \(message)\n", "stderr and the document say the same: \(r.stderr) / \(message)")
        }
        try check()
    }
}

/// Old flag spellings (`Spelling.deprecated`) are rewritten before parsing: nothing a user reads
/// (help, the man page, completions) shows them, and they still work with a one-line note.
@Suite struct OldSpellingTests {
    /// Every (command path, old, new) the rewrite table knows, over the whole tree.
    static var renames: [(path: String, old: String, new: String)] {
        CommandTreeTests.leaves().flatMap { path in
            Spelling.deprecated(at: path.joined(separator: " ")).map { (path.joined(separator: " "), $0.old, $0.new) }
        }
    }

    /// `old` as an option word in `text` (not a prefix of a longer one: `--c` in `--country`).
    static func mentions(_ text: String, option old: String) -> Bool {
        let pattern = "(?<![A-Za-z0-9-])" + NSRegularExpression.escapedPattern(for: old) + "(?![A-Za-z0-9-])"
        return text.range(of: pattern, options: .regularExpression) != nil
    }

    @Test func theTableIsNotEmptyAndEveryNewSpellingIsARealOption() throws {
        #expect(Self.renames.count >= 10)
        for r in Self.renames {
            let help = try certs(r.path.split(separator: " ").map(String.init) + ["--help"]).stdout
            #expect(Self.mentions(help, option: r.new), "certs \(r.path) --help has no \(r.new)")
        }
    }

    @Test func helpShowsOnlyTheNewSpellings() throws {
        for r in Self.renames {
            let help = try certs(r.path.split(separator: " ").map(String.init) + ["--help"]).stdout
            #expect(!Self.mentions(help, option: r.old), "certs \(r.path) --help shows the old \(r.old)")
        }
    }

    @Test func theManPageAndTheCompletionsShowOnlyTheNewSpellings() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let man = try run("/usr/bin/env", ["python3", "\(root)/scripts/manpage", certsBinary])
        #expect(man.status == 0, "\(man.stderr)")
        let page = man.stdout.replacingOccurrences(of: "\\-", with: "-")
        #expect(page.contains("--key-type"))
        var documents = [("man page", page)]
        for shell in ["bash", "zsh", "fish"] {
            let script = try certs("--generate-completion-script", shell)
            #expect(script.status == 0 && script.stdout.contains("--key-type"), "\(shell): \(script.stderr)")
            documents.append(("\(shell) completion", script.stdout))
        }
        // Long old spellings are checked everywhere (no command has them); a short one (-t of key
        // new) only in its own help, since "nginx -t" is rightly in deploy's text.
        for r in Self.renames where r.old.hasPrefix("--") {
            for (what, text) in documents {
                #expect(!Self.mentions(text, option: r.old), "the \(what) shows the old \(r.old) (\(r.path))")
            }
        }
    }

    @Test func oldSpellingsStillWorkWithOneNoteLineThatQuietSilences() throws {
        let s = Scratch()
        #expect(try certs("ca", "init", "--store", s.file("store")).status == 0)
        #expect(try certs("ca", "issue", "--store", s.file("store"), "a.example").status == 0)
        let cert = s.file("store/live/a.example/cert.pem")
        let cases: [(args: [String], old: String, new: String, wrote: String?)] = [
            (["key", "new", "-t", "ec-p384", "--out", s.file("k.pem")], "-t", "--key-type", "k.pem"),
            (["request", "r.example", "--csr-only", "--out-dir", s.path], "--out-dir", "--out", "r.example.csr"),
            (["check", cert, "--trust", s.file("store/ca/root.pem"), "--output", s.file("check.txt")], "--output", "--out", "check.txt"),
            (["doctor", "--store", s.file("store"), "--nginx", s.path], "--nginx", "--out", nil),
        ]
        for c in cases {
            let r = try certs(c.args)
            #expect(r.status == 0, "\(c.args): \(r.stderr)")
            let notes = r.stderrLines.filter { $0.contains("deprecated") }
            #expect(notes == ["note: \(c.old) is deprecated; use \(c.new)"], "\(c.args): \(r.stderr)")
            if let wrote = c.wrote { #expect(s.exists(wrote), "\(c.args)") }
            // --quiet silences the note wherever it stands on the line (it is a note, not a warning).
            let words = c.args.prefix { !$0.hasPrefix("-") }
            for quiet in [c.args + ["--quiet"], words + ["-q"] + c.args.dropFirst(words.count)] {
                for f in [c.wrote, "r.example.key"].compactMap({ $0 }) { try? FileManager.default.removeItem(atPath: s.file(f)) }
                let q = try certs(quiet)
                #expect(q.status == 0, "\(quiet): \(q.stderr)")
                #expect(!q.stderr.contains("deprecated"), "\(quiet): \(q.stderr)")
            }
        }
        // key new -t gave the key type it names.
        #expect(try opensslOK("pkey", "-in", s.file("k.pem"), "-noout", "-text").contains("384"))
    }
}
