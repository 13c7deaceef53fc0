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
        let secret = try passphrase.load()
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
