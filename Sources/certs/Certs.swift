import ArgumentParser
import CertsCore

/// Exit codes shared by every command (commands with a verdict, such as `verify` and `check`,
/// document their own 0/1/2/3 meanings on top of these).
enum Exit {
    static let success: Int32 = 0
    /// A negative answer: invalid certificate, a failed check.
    static let negative: Int32 = 1
    /// Usage error or bad input: a missing, unreadable or malformed file, a bad option value.
    static let input: Int32 = 2
    /// Output refused or failed: the file exists (no --force), the directory is missing or read-only.
    static let output: Int32 = 3
    /// A remote party failed: ACME server, TLS peer.
    static let remote: Int32 = 4
    /// An internal failure (OpenSSL or the tool itself).
    static let `internal`: Int32 = 5
}

@main
struct Certs: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certs",
        abstract: "Keys, CSRs, certificates and HTTPS for a small Docker deployment behind nginx.",
        discussion: """
        Exit codes: 0 success; 1 a negative answer (invalid certificate, failed check); \
        2 usage error or bad input; 3 output refused or not writable (e.g. exists without --force); \
        4 a remote server failed; 5 internal error.
        """,
        version: CertsVersion.string,
        subcommands: [KeyCommand.self, CSRCommand.self, InspectCommand.self, CACommand.self, EmitCommand.self,
                      BundleCommand.self, InstallCommand.self, RollbackCommand.self, ExportCommand.self, VerifyCommand.self,
                      DeployCommand.self, RequestCommand.self, RenewCommand.self, RevokeCommand.self, AccountCommand.self, CheckCommand.self, DoctorCommand.self]
    )

    static func main() {
        // `certs --version` needs none of the parser's reflection over every command.
        if CommandLine.argc == 2, CommandLine.arguments[1] == "--version" {
            Terminal.out(CertsVersion.string)
            Terminal.exit(Exit.success)
        }
        Signals.install()
        do {
            let arguments = try Spelling.rewrite(Array(CommandLine.arguments.dropFirst()))
            if Spelling.commandPath == ["key", "new"], let line = KeyNew.DirectLine(Array(arguments.dropFirst(2))) {
                try line.run()  // the usual `key new` line without the parser's reflection (start-up)
            } else {
                var command = try parse(arguments)
                try command.run()
            }
            Terminal.exit(Exit.success)
        } catch {
            exit(with: error)
        }
    }

    /// The command the (rewritten) arguments name, parsed.
    ///
    /// A correct command line for a leaf command (`key new …`) is parsed against that command
    /// alone: `parseAsRoot` on the root builds the whole command tree and probes every launch for
    /// `--generate-completion-script`, which a correct `key new` does not need. Anything that asks
    /// for help, completions, the help dump or the version, and every command line the leaf parse
    /// rejects, goes through the full parse, so help, completion scripts, `--experimental-dump-help`
    /// and every error message (with its command path) are exactly ArgumentParser's.
    static func parse(_ arguments: [String]) throws -> ParsableCommand {
        let leaf = Spelling.commandType
        let rest = Array(arguments.dropFirst(Spelling.commandPath.count))
        if leaf != Certs.self, leaf.configuration.subcommands.isEmpty, !rest.contains(where: asksParser),
           let command = try? leaf.parseAsRoot(rest) {
            return command
        }
        return try parseAsRoot(arguments)
    }

    /// Words only the full parse answers: help (`-h` also inside combined short flags such as
    /// `-fh`), `--version`, completion scripts and requests, `--experimental-dump-help`.
    static func asksParser(_ word: String) -> Bool {
        if word.hasPrefix("-"), !word.hasPrefix("--"), word.contains("h") { return true }
        return word.hasPrefix("--help") || word.hasPrefix("--version") || word.hasPrefix("--generate-completion-script")
            || word.hasPrefix("--experimental-dump-help") || word.hasPrefix("---")
    }

    /// Maps any error to one line on stderr and a documented exit code. Never a stack trace.
    static func exit(with error: Error) -> Never {
        if let usage = error as? UsageError {
            fail("\(usage.message) (\(Spelling.helpHint))", code: Exit.input, kind: "usage")
        }
        if let interrupted = error as? Interrupted {
            fail(interrupted.description, code: interrupted.exitCode, kind: "interrupted")
        }
        if let failure = error as? CertsFailure {
            fail(ErrorHints.message(for: failure), code: code(for: failure.kind), kind: "\(failure.kind)")
        }
        if let exit = error as? ExitCode { Terminal.exit(exit.rawValue) }
        let code = exitCode(for: error)
        if code == .success {
            Certs.exit(withError: error)  // --help and --version print to stdout and exit 0
        }
        let folded = oneLine(Certs.message(for: error))
        let message = folded.isEmpty ? "\(error)" : folded
        fail("\(message) (\(Spelling.helpHint))", code: Exit.input, kind: "usage")
    }

    /// The one error line on stderr and, when JSON was asked for, the same error as a JSON
    /// document on stdout: {"version": 1, "error": {"code", "kind", "message"}} (docs/json.md).
    static func fail(_ message: String, code: Int32, kind: String) -> Never {
        Terminal.error(message)
        if wantsJSON {
            Terminal.out(JSON.object([("version", .int(1)), ("error", .object([("code", .int(Int(code))), ("kind", .string(kind)),
                                                                               ("message", .string(message))]))]).rendered())
        }
        Terminal.exit(code)
    }

    /// --json (or --format json) among the arguments, before any "--".
    static var wantsJSON: Bool {
        let args = Array(CommandLine.arguments.dropFirst().prefix { $0 != "--" })
        if args.contains("--json") || args.contains("--format=json") { return true }
        if let i = args.firstIndex(of: "--format"), i + 1 < args.count { return args[i + 1] == "json" }
        return false
    }

    /// Folds a multi-line ArgumentParser message into one line: its "  - value" bullet lines
    /// (e.g. the valid key types after "Please provide one of the following:") become a comma list.
    static func oneLine(_ message: String) -> String {
        var parts: [String] = [], items: [String] = []
        for raw in message.split(separator: "\n") {
            var line = Substring(raw)
            while line.first == " " || line.first == "\t" { line = line.dropFirst() }
            while line.last == " " || line.last == "\t" { line = line.dropLast() }
            if line.isEmpty { continue }
            if line.hasPrefix("- ") { items.append(String(line.dropFirst(2))); continue }
            if !items.isEmpty { parts.append(items.joined(separator: ", ")); items = [] }
            parts.append(String(line))
        }
        if !items.isEmpty { parts.append(items.joined(separator: ", ")) }
        return parts.joined(separator: " ")
    }

    /// The exit code `exit(with:)` would use for a core failure; usage errors are 2.
    static func exitCode(of error: Error) -> Int32 {
        (error as? CertsFailure).map { code(for: $0.kind) } ?? Exit.input
    }

    static func code(for kind: FailureKind) -> Int32 {
        switch kind {
        case .input: return Exit.input
        case .output: return Exit.output
        case .remote: return Exit.remote
        case .internal: return Exit.internal
        }
    }
}

enum CertsVersion {
    static let string = "0.1.0"
}
