import ArgumentParser
import CertsCore

struct KeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key",
        abstract: "Create private keys.",
        subcommands: [KeyNew.self]
    )
}

struct KeyNew: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "new",
        abstract: "Generate a private key (PKCS#8 PEM, mode 0600, written atomically).",
        discussion: "Types: \(KeyType.allCases.map { $0.rawValue }.joined(separator: ", ")). An existing file is never replaced without --force."
    )

    @Option(name: .customLong("key-type"), help: "Key type.")
    var type: KeyType = .default

    @Option(name: .shortAndLong, help: ArgumentHelp("Where to write the key; '-' for stdout.", valueName: "file"))
    var out: String

    @Flag(help: "Replace an existing file.")
    var force = false

    @Flag(help: "Print what was written as JSON (version 1); never the key itself.")
    var json = false

    @Option(help: "Encoding: pem (PKCS#8 PEM) or der (PKCS#8 DER).")
    var format: OutputFormat = .pem

    @Flag(help: "Encrypt the key (AES-256, PKCS#8) with the passphrase from --passphrase-file or --passphrase-env.")
    var encrypt = false

    @OptionGroup var passphrase: PassphraseOptions

    func validate() throws {
        if encrypt && !passphrase.isSet { throw ValidationError("--encrypt needs --passphrase-file or --passphrase-env") }
        if !encrypt && passphrase.isSet { throw ValidationError("a passphrase was given without --encrypt") }
        if json && out == "-" { throw ValidationError("--json and --out - would both write to stdout") }
    }

    func run() throws {
        try Self.write(type: type, out: out, force: force, json: json, format: format, secret: try passphrase.load())
    }

    /// The command's work once its options are known (`run()`, and `DirectLine` without the parser).
    static func write(type: KeyType, out: String, force: Bool, json: Bool, format: OutputFormat, secret: Passphrase?) throws {
        var writing = KeyWriting(type: type)
        (writing.der, writing.passphrase) = (format == .der, secret)
        try writing.write(to: OutputTarget(out, force: force), stdout: Terminal.writeBytes)
        if json {
            Terminal.out(JSON.object([("version", .int(1)), ("key", .string(out)), ("type", .string(type.rawValue)),
                                      ("format", .string(format == .der ? "der" : "pem")), ("encrypted", .bool(secret != nil)),
                                      ("mode", .string("0600"))]).rendered())
        } else if out != "-" {
            Terminal.note("wrote \(type) private key to \(out) (mode 0600\(secret != nil ? ", encrypted" : ""))")
        }
    }
}

extension KeyNew {
    /// A `key new` command line read without ArgumentParser: the options scripts and benchmarks
    /// use (`--key-type`, `-o`/`--out`, `--force`, `--json`, `--format`, each as `--name value` or
    /// `--name=value`). ArgumentParser's reflection over the command (Mirror, property wrappers,
    /// ~180 failed protocol-conformance lookups) was 9.5M of `key new`'s 28.8M instructions,
    /// more than generating the key. Anything else (help, a passphrase, an unknown or malformed
    /// word, a missing `--out`, a value the parser would refuse) is nil here and goes to the
    /// parser, so every error message and every other spelling stays ArgumentParser's.
    struct DirectLine: Equatable {
        var type: KeyType = .default
        var out: String
        var force = false
        var json = false
        var format: OutputFormat = .pem

        /// `arguments` are the words after `key new`, as `Spelling.rewrite` left them.
        init?(_ arguments: [String]) {
            var type: KeyType?, out: String?, format: OutputFormat?, force = false, json = false
            var index = 0
            while index < arguments.count {
                let word = arguments[index]
                index += 1
                if word == "--force", !force { force = true; continue }
                if word == "--json", !json { json = true; continue }
                guard word.hasPrefix("-") else { return nil }
                var name = word, value: String
                if let equals = word.firstIndex(of: "="), word.hasPrefix("--") {
                    name = String(word[..<equals])
                    value = String(word[word.index(after: equals)...])
                } else {
                    guard index < arguments.count else { return nil }
                    value = arguments[index]
                    index += 1
                    // The parser reads a word starting with "-" as the next option, not a value.
                    if value.hasPrefix("-"), value != "-" { return nil }
                }
                guard !value.isEmpty else { return nil }
                switch name {
                case "--key-type" where type == nil:
                    guard let parsed = KeyType(argument: value) else { return nil }
                    type = parsed
                case "--out" where out == nil, "-o" where out == nil:
                    out = value
                case "--format" where format == nil:
                    guard let parsed = OutputFormat(argument: value) else { return nil }
                    format = parsed
                default:
                    return nil
                }
            }
            guard let out, !(json && out == "-") else { return nil }  // validate()'s refusal is the parser's to word
            self.out = out
            (self.type, self.format, self.force, self.json) = (type ?? .default, format ?? .pem, force, json)
        }

        func run() throws {
            try KeyNew.write(type: type, out: out, force: force, json: json, format: format, secret: nil)
        }
    }
}
