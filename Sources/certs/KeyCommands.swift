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
        discussion: "Types: \(KeyType.allCases.map(\.rawValue).joined(separator: ", ")). An existing file is never replaced without --force."
    )

    @Option(name: .shortAndLong, help: "Key type.")
    var type: KeyType = .default

    @Option(name: .shortAndLong, help: ArgumentHelp("Where to write the key; '-' for stdout.", valueName: "file"))
    var out: String

    @Flag(help: "Replace an existing file.")
    var force = false

    @Option(help: "Encoding: pem (PKCS#8 PEM) or der (PKCS#8 DER).")
    var format: OutputFormat = .pem

    @Flag(help: "Encrypt the key (AES-256, PKCS#8) with the passphrase from --passphrase-file or --passphrase-env.")
    var encrypt = false

    @OptionGroup var passphrase: PassphraseOptions

    func validate() throws {
        if encrypt && !passphrase.isSet { throw ValidationError("--encrypt needs --passphrase-file or --passphrase-env") }
        if !encrypt && passphrase.isSet { throw ValidationError("a passphrase was given without --encrypt") }
    }

    func run() throws {
        let secret = try passphrase.load()
        try Output.ensureWritable(out, force: force)
        let key = try PrivateKey.generate(type)
        let encoded = format == .der ? try key.der(passphrase: secret) : try key.pem(passphrase: secret)
        try Output.write(encoded, to: out, mode: 0o600, force: force)
        if out != "-" { Terminal.note("wrote \(type) private key to \(out) (mode 0600\(secret != nil ? ", encrypted" : ""))") }
    }
}
