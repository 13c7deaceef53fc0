import Foundation
import Testing

/// `scripts/install PREFIX` (README "Install"): the binary, a man page generated from the command
/// definitions, and bash/zsh/fish completions, each where those tools look for them. Run for real
/// with the test build of certs, into a scratch prefix.
@Suite struct InstallScriptTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path
    static let install = repository + "/scripts/install"

    @Test func installPutsBinaryManPageAndCompletionsInPlace() throws {
        let scratch = Scratch()
        let prefix = scratch.path + "/usr"
        let r = try run("/bin/bash", [Self.install, prefix], environment: ["CERTS_BIN": certsBinary])
        #expect(r.status == 0, "\(r.stderr)")
        let files = ["bin/certs": 0o755, "share/man/man1/certs.1": 0o644,
                     "share/bash-completion/completions/certs": 0o644,
                     "share/zsh/site-functions/_certs": 0o644,
                     "share/fish/vendor_completions.d/certs.fish": 0o644]
        for (file, mode) in files {
            let attributes = try FileManager.default.attributesOfItem(atPath: "\(prefix)/\(file)")
            #expect((attributes[.posixPermissions] as? Int) == mode, "\(file)")
        }
        // No temporary file is left beside what was installed.
        let leftovers = try FileManager.default.subpathsOfDirectory(atPath: prefix).filter { $0.contains(".certs-install") }
        #expect(leftovers.isEmpty, "\(leftovers)")

        // The installed binary runs.
        let version = try run("\(prefix)/bin/certs", ["--version"])
        #expect(version.status == 0 && !version.stdout.isEmpty)

        // The man page is valid roff (groff warns about nothing) and documents every command that
        // `certs --help` lists, an option's default and the exit codes.
        let page = "\(prefix)/share/man/man1/certs.1"
        let lint = try run("/usr/bin/groff", ["-man", "-Tutf8", "-ww", "-z", page])
        #expect(lint.status == 0 && lint.stderr.isEmpty, "\(lint.stderr)")
        let rendered = try run("/usr/bin/groff", ["-man", "-Tascii", "-rLL=400n", "-rHY=0", "-P-c", "-P-b", "-P-u", page])
        let text = rendered.stdout
        let help = try certs("--help").stdout
        let commands = help.components(separatedBy: "SUBCOMMANDS:").last!.split(separator: "\n")
            .filter { $0.hasPrefix("  ") && !$0.hasPrefix("   ") }  // a command's own line, not a wrapped abstract
            .compactMap { $0.split(separator: " ").first.map(String.init) }
            .filter { $0 != "See" && $0 != "help" }
        #expect(commands.count >= 10, "\(help)")
        for command in commands { #expect(text.contains("certs \(command)"), "\(command) missing from the man page") }
        #expect(text.contains("--key-type"))
        #expect(text.contains("Default: ec-p256"))
        #expect(text.contains("EXIT STATUS"))
        for code in 0...5 { #expect(text.contains("\n       \(code)\n") || text.contains("\n       \(code) "), "exit code \(code)") }

        // bash completion completes subcommands and options.
        let completion = "\(prefix)/share/bash-completion/completions/certs"
        let script = """
        source '\(completion)'
        COMP_WORDS=(certs ke); COMP_CWORD=1; COMP_LINE='certs ke'; COMP_POINT=${#COMP_LINE}
        _certs certs ke certs; echo "words: ${COMPREPLY[*]}"
        COMP_WORDS=(certs key new --key-); COMP_CWORD=3; COMP_LINE='certs key new --key-'; COMP_POINT=${#COMP_LINE}
        _certs certs --key- new; echo "options: ${COMPREPLY[*]}"
        """
        let bash = try run("/bin/bash", ["-c", script])
        #expect(bash.stdout.contains("words: key"), "\(bash.stdout)\(bash.stderr)")
        #expect(bash.stdout.contains("--key-type"), "\(bash.stdout)\(bash.stderr)")
    }

    @Test func aRelativePrefixIsRefusedBeforeAnythingIsWritten() throws {
        let scratch = Scratch()
        let r = try run("/bin/bash", [Self.install, "relative/prefix"], cwd: scratch.path, environment: ["CERTS_BIN": certsBinary])
        #expect(r.status == 2)
        #expect(r.stderr.contains("absolute"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/relative"))
    }
}
