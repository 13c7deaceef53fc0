import ArgumentParser
import CertsCore

struct CSRCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "csr",
        abstract: "Create certificate signing requests for a commercial CA or ACME.",
        subcommands: [CSRNew.self]
    )
}

struct CSRNew: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "new",
        abstract: "Create a CSR from an existing key (--key) or a new one (--key-type).",
        discussion: """
        SANs are what clients check: give every name with --san (DNS:name, IP:address, or a bare \
        name or address). When no --san is given, the --cn is used as the one DNS SAN. \
        Signed with SHA-256 (SHA-384 for P-384 keys; Ed25519 has its own hash).
        """
    )

    @Option(help: ArgumentHelp("An existing private key to sign with.", valueName: "file"))
    var key: String?

    @Option(name: .customLong("key-type"), help: ArgumentHelp("Generate a new key of this type (instead of --key).", valueName: "type"))
    var newKey: KeyType?

    @Option(name: .customLong("key-out"), help: ArgumentHelp("Where to write the new key (default: the --out path with .key).", valueName: "file"))
    var keyOut: String?

    @Option(help: ArgumentHelp("Common name (usually the main domain).", valueName: "name"))
    var cn: String?

    @Option(help: ArgumentHelp("Subject alternative names, repeatable or comma-separated: DNS:a.example,IP:192.0.2.1.", valueName: "names"))
    var san: [String] = []

    @Option(name: .customLong("org"), help: ArgumentHelp("Organization (O).", valueName: "text"))
    var organization: String?

    @Option(name: .customLong("org-unit"), help: ArgumentHelp("Organizational unit (OU).", valueName: "text"))
    var organizationalUnit: String?

    @Option(name: .customLong("country"), help: ArgumentHelp("Country (C), two letters.", valueName: "code"))
    var country: String?

    @Option(name: .customLong("state"), help: ArgumentHelp("State or province (ST).", valueName: "text"))
    var state: String?

    @Option(name: .customLong("locality"), help: ArgumentHelp("Locality (L).", valueName: "text"))
    var locality: String?

    @Option(name: .shortAndLong, help: ArgumentHelp("Where to write the CSR; '-' for stdout.", valueName: "file"))
    var out: String

    @Flag(help: "Replace existing output files.")
    var force = false

    @Flag(help: "Print what was written as JSON (version 1).")
    var json = false

    @Option(help: "Encoding of the CSR (and a new key): pem or der.")
    var format: OutputFormat = .pem

    @OptionGroup var passphrase: PassphraseOptions

    func validate() throws {
        if (key == nil) == (newKey == nil) { throw ValidationError("give exactly one of --key FILE or --key-type TYPE") }
        if keyOut != nil && newKey == nil { throw ValidationError("--key-out goes with --key-type") }
        if cn == nil && san.isEmpty { throw ValidationError("name the certificate with --cn and/or --san") }
        if let country, country.count != 2 { throw ValidationError("--country takes a two-letter country code (e.g. DE)") }
        if json && out == "-" { throw ValidationError("--json and --out - would both write to stdout") }
    }

    func run() throws {
        let secret = try passphrase.load()
        var names: [GeneralName] = []
        for item in san.flatMap({ $0.split(separator: ",") }) {
            let name = try GeneralName(parsing: String(item))
            if !names.contains(name) { names.append(name) }
        }
        if names.isEmpty, let cn { names = [try GeneralName(parsing: cn)] }
        let subject = DistinguishedName(commonName: cn ?? names.first?.value, organization: organization, organizationalUnit: organizationalUnit,
                                        country: country?.uppercased(), state: state, locality: locality)

        let keySource: CSRWriting.Key
        if let key {
            keySource = .existing(try readPrivateKey(key, passphrase: secret))
        } else {
            keySource = .new(newKey!, target: OutputTarget(try keyOut ?? derivedKeyPath(), force: force))
        }
        var writing = CSRWriting(subject: subject, names: names, key: keySource)
        (writing.der, writing.passphrase) = (format == .der, secret)
        let written = try writing.write(to: OutputTarget(out, force: force), stdout: Terminal.writeBytes)
        let keyPath = written.keyPath
        if let keyPath, !json { Terminal.note("wrote \(written.algorithm) private key to \(keyPath) (mode 0600)") }
        if json {
            Terminal.out(JSON.object([("version", .int(1)), ("csr", .string(out)), ("key", .optional(keyPath)),
                                      ("keyType", .string(written.algorithm.description)), ("subject", .string(subject.description)),
                                      ("names", .strings(names.map(\.description)))]).rendered())
        } else if out != "-" {
            Terminal.note("wrote CSR for \(names.map(\.description).joined(separator: ", ")) to \(out)")
        }
    }

    func derivedKeyPath() throws -> String {
        guard out != "-" else { throw ValidationError("with --out - give the new key's path with --key-out") }
        let base = [".csr", ".pem", ".der"].contains { out.hasSuffix($0) } ? String(out.dropLast(4)) : out
        return base + ".key"
    }
}
