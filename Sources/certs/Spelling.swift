import ArgumentParser
import CertsCore

/// The command line before ArgumentParser sees it: the one vocabulary of docs/cli.md.
///
/// - Old spellings still work for a while, rewritten to the new ones with a one-line note on stderr
///   (they are not in the help): stdout and --json stay as they were, so scripts keep working while
///   a person learns the new name; it is a note, so --quiet (anywhere on the line) silences it. Where the old spelling was itself the bug (`csr new --o` beside
///   `-o` = `--out`), it is refused with a message naming the new one.
/// - A single-value option given twice is an error (ArgumentParser would silently keep the last).
/// - `--verbose`/`-v` and `--quiet`/`-q` work on every command (`Verbosity`).
/// - A mistyped subcommand gets a did-you-mean, and every usage error names the help to read.
enum Spelling {
    /// The subcommand path the arguments name, e.g. ["emit", "nginx"] (for help pointers).
    nonisolated(unsafe) static var commandPath: [String] = []
    /// The command type those words name (for the options it offers: ErrorHints, did-you-mean).
    nonisolated(unsafe) static var commandType: ParsableCommand.Type = Certs.self

    struct Renamed { let old: String; let new: String }

    // The tables below are switches, not dictionaries: every launch reads one row of each, and
    // building the dictionaries cost ~0.4M instructions of start-up (callgrind).

    /// Old spelling → new, for the command at `path`.
    static func deprecated(at path: String) -> [Renamed] {
        switch path {
        case "key new": return [.init(old: "--type", new: "--key-type"), .init(old: "-t", new: "--key-type")]
        case "csr new": return [.init(old: "--new-key", new: "--key-type"), .init(old: "--ou", new: "--org-unit"), .init(old: "--c", new: "--country"),
                                .init(old: "--st", new: "--state"), .init(old: "--l", new: "--locality")]
        case "check": return [.init(old: "--output", new: "--out")]
        case "request": return [.init(old: "--out-dir", new: "--out")]
        case "emit compose": return [.init(old: "--store-path", new: "--store-mount"), .init(old: "--nginx-config", new: "--nginx-mount")]
        case "doctor": return [.init(old: "--nginx", new: "--out")]
        default: return []
        }
    }

    /// Old spellings that were the bug, for the command at `path`: refused, with what to use.
    static func removed(_ name: String, at path: String) -> String? {
        switch (path, name) {
        case ("csr new", "--o"): return "--o was Organization beside -o for --out, and is gone: use --org for the organization, -o/--out for the file"
        default: return nil
        }
    }

    /// Options that may be given more than once (they collect values) for the command at `path`.
    static func repeatable(_ name: String, at path: String) -> Bool {
        switch (path, name) {
        case (_, "--san"), (_, "--alert"), (_, "--endpoint"), (_, "--chain"), (_, "--compose"): return true
        case ("check", "--trust"), ("verify", "--trust"), ("request", "--acme"), ("request", "--eab"), ("account update", "--email"): return true
        default: return false
        }
    }

    static let verbosityFlags: Set<String> = ["--verbose", "-v", "--quiet", "-q"]

    static func rewrite(_ arguments: [String]) throws -> [String] {
        var out: [String] = []
        var index = 0
        var command: ParsableCommand.Type = Certs.self
        // The subcommand path.
        while index < arguments.count {
            let word = arguments[index]
            let subcommands = command.configuration.subcommands
            guard !subcommands.isEmpty, !word.hasPrefix("-") else { break }
            guard let next = subcommands.first(where: { $0.configuration.commandName == word }) else {
                if word == "help" { break }
                let names = subcommands.compactMap { $0.configuration.commandName }
                let here = (["certs"] + commandPath).joined(separator: " ")
                var message = "unknown command '\(word)' for '\(here)'"
                if let guess = closest(word, in: names) { message += "; did you mean '\(guess)'?" }
                throw UsageError(message: message + " (commands: \(names.joined(separator: ", ")))")
            }
            commandPath.append(word)
            out.append(word)
            command = next
            commandType = next
            index += 1
        }
        let path = commandPath.joined(separator: " ")
        let renames = deprecated(at: path)
        var seen: [String: Int] = [:]
        // Printed once the whole line is read, so that --quiet anywhere silences them.
        var notes: [String] = []
        defer { for note in notes { Terminal.note(note) } }
        while index < arguments.count {
            var word = arguments[index]
            index += 1
            if word == "--" { out.append(word); out.append(contentsOf: Array(arguments[index...])); break }
            if verbosityFlags.contains(word) {
                if word == "--verbose" || word == "-v" { Verbosity.verbose = true } else { Verbosity.quiet = true }
                continue
            }
            guard word.hasPrefix("-"), word != "-" else {
                // `ca issue https://x/`: a URL where a name is expected.
                // (Not the value of --crl-url, which is a URL.)
                let isName = path == "ca issue" && word.contains("://") && out.last != "--crl-url"
                out.append(isName ? hostFromURL(word, option: "a name", keepPort: false) : word)
                continue
            }
            let name = word.split(separator: "=", maxSplits: 1).first.map(String.init) ?? word
            if let reason = removed(name, at: path) { throw UsageError(message: reason) }
            if let rename = renames.first(where: { $0.old == name }) {
                notes.append("note: \(rename.old) is deprecated; use \(rename.new)")
                word = rename.new + String(word.dropFirst(name.count))
            }
            let canonical = name == "-o" ? "--out" : renames.first(where: { $0.old == name })?.new ?? name
            if !repeatable(canonical, at: path), canonical.hasPrefix("--") {
                seen[canonical, default: 0] += 1
                if seen[canonical] == 2 {
                    throw UsageError(message: "\(canonical) was given more than once; it takes one value")
                }
            }
            out.append(word)
            // A URL where a host is expected: --host https://x/ means x, --endpoint https://x means x:443.
            if let keepPort = urlHostOptions[canonical], !word.contains("="), index < arguments.count, arguments[index].contains("://"),
               !(keepPort && startsInPlaintext(arguments[index])) {
                out.append(hostFromURL(arguments[index], option: canonical, keepPort: keepPort))
                index += 1
            }
        }
        return out
    }

    /// Options that take a host (false) or host:port (true).
    static let urlHostOptions: [String: Bool] = ["--host": false, "--endpoint": true, "--connect": true, "--sni": false]

    /// `smtp://`, `postgres://`…: the scheme is meaning (a STARTTLS dialogue), so core parses it.
    static func startsInPlaintext(_ url: String) -> Bool {
        EndpointScheme.named(url.prefix { $0 != ":" }.lowercased())?.startTLS != nil
    }

    /// The host (and with `keepPort` the port, the scheme's default when absent) of a URL, with a note.
    static func hostFromURL(_ url: String, option: String, keepPort: Bool) -> String {
        let scheme = url.prefix { $0 != ":" }.lowercased()
        var rest = Substring(url.dropFirst(scheme.count + 3))
        if let end = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) { rest = rest[..<end] }
        if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
        var host = String(rest), port: String?
        if host.hasPrefix("["), let close = host.firstIndex(of: "]") {
            let after = host[host.index(after: close)...]
            if after.hasPrefix(":") { port = String(after.dropFirst()) }
            host = String(host[...close])
        } else if let colon = host.lastIndex(of: ":") {
            port = String(host[host.index(after: colon)...])
            host = String(host[..<colon])
        }
        let value = keepPort ? "\(host):\(port ?? (scheme == "http" ? "80" : EndpointScheme.named(scheme).map { String($0.port) } ?? "443"))" : (host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host)
        Terminal.note("note: \(url) is a URL; \(option) takes a host: using \(value)")
        return value
    }

    /// The help command to point a user at after a usage error.
    static var helpHint: String { "see '\((["certs"] + commandPath).joined(separator: " ")) --help'" }

    /// The nearest name within two edits, if any.
    static func closest(_ word: String, in names: [String]) -> String? {
        let scored = names.map { ($0, distance(word, $0)) }.filter { $0.1 <= max(1, min(2, word.count / 2)) }
        return scored.min { $0.1 < $1.1 }?.0
    }

    /// Levenshtein distance, with a swap of two neighbours counting one (ngnix → nginx).
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
        var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1) }
            }
        }
        return d[a.count][b.count]
    }
}

/// A usage error found before ArgumentParser runs (exit 2, with a pointer to the help).
struct UsageError: Error { let message: String }

/// `--verbose` (progress on stderr) and `--quiet` (no notes, only warnings and errors), on every command.
enum Verbosity {
    nonisolated(unsafe) static var verbose = false
    nonisolated(unsafe) static var quiet = false
}
