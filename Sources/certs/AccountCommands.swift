import ArgumentParser
import CertsCore

/// `certs account show | rollover | deactivate | update`: the ACME account's life (RFC 8555 §7.3).
struct AccountCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "account",
        abstract: "Show, update, roll over or deactivate the ACME account kept for a CA.",
        discussion: """
        The account for --acme lives in <store>/accounts/<ca-host>/ (account.key 0600, account.json). \
        rollover binds a new key at the CA (RFC 8555 §7.3.5) and keeps the old one as \
        account.key.STAMP.bak (0600, never overwritten); renewals use the new key. deactivate cannot \
        be undone and needs --yes. No key material is ever printed: keys are named by their RFC 7638 \
        thumbprint.
        """,
        subcommands: [AccountShow.self, AccountRollover.self, AccountDeactivate.self, AccountUpdate.self]
    )
}

/// What every account subcommand needs: the CA, its trust, the store.
struct AccountOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The CA's ACME directory URL, or letsencrypt / letsencrypt-staging.", valueName: "url"))
    var acme: String

    @Option(name: .customLong("ca-bundle"), help: ArgumentHelp("Trust these roots for the ACME server's HTTPS (default: the system store).", valueName: "file"))
    var caBundle: String?

    @Option(help: ArgumentHelp("Seconds one HTTP exchange with the CA may take.", valueName: "seconds"))
    var timeout: Double = 30

    @OptionGroup var store: StoreOptions

    @Flag(help: "Print the result as JSON (version 1).")
    var json = false

    var certStore: CertificateStore { CertificateStore(root: store.path) }

    /// The stored account, registered at the CA (never created here).
    func client() throws -> (ACMEClient, String) {
        let url = try ACMEShortcut.resolve(acme)
        var issuer = ACMEIssuer(store: certStore, http: try acmeHTTPClient(caBundle: caBundle, timeout: timeout))
        if Verbosity.verbose { issuer.log = { Terminal.note("certs: \($0)") } }
        return (try issuer.client(directoryURL: url, email: nil, agreeToTerms: false, eab: nil, create: false), url)
    }

    /// The account facts that are safe to show.
    func describe(_ client: ACMEClient, directoryURL: String, object: JSON?) throws -> JSON {
        let accounts = ACMEAccountStore(store: certStore)
        return .object([
            ("version", .int(1)),
            ("acme", .string(directoryURL)),
            ("url", .optional(client.accountURL)),
            ("status", .optional(object?["status"]?.stringValue)),
            ("contact", .strings(object?["contact"]?.stringArray ?? accounts.record(for: directoryURL)?["contact"]?.stringArray ?? [])),
            ("keyType", .string(client.accountKey.algorithm.description)),
            ("keyThumbprint", .string(try JWS.thumbprint(for: client.accountKey))),
            ("termsOfServiceAgreed", .optional(accounts.termsAgreed(for: directoryURL))),
            ("keyDirectory", .string(try accounts.directory(for: directoryURL))),
        ])
    }

    func print(_ info: JSON, extra: [String] = []) {
        if json { Terminal.out(info.rendered()); return }
        for key in ["url", "status", "contact", "keyType", "keyThumbprint", "termsOfServiceAgreed", "keyDirectory"] {
            let value: String
            switch info[key] {
            case .string(let s)?: value = s
            case .array(let a)?: value = a.compactMap(\.stringValue).joined(separator: ", ")
            default: value = "-"
            }
            Terminal.out("\(key): \(Terminal.escapingControls(value))")
        }
        for line in extra { Terminal.out(line) }
    }
}

struct AccountShow: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show the account as the CA knows it (URL, status, contacts, key thumbprint).")
    @OptionGroup var options: AccountOptions

    func run() throws {
        let (client, url) = try options.client()
        let object = try client.account()
        options.print(try options.describe(client, directoryURL: url, object: object))
    }
}

struct AccountUpdate: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "update", abstract: "Replace the account's contact addresses (RFC 8555 §7.3.2).")
    @OptionGroup var options: AccountOptions

    @Option(help: ArgumentHelp("Contact email (repeatable).", valueName: "address"))
    var email: [String] = []

    func run() throws {
        guard !email.isEmpty else { throw InputError.invalidValue(option: "--email", value: "", reason: "give at least one contact address") }
        for e in email where !e.contains("@") || e.contains(where: { $0 == " " || $0 == "," || $0.asciiValue.map { $0 < 32 } ?? false }) {
            throw InputError.invalidValue(option: "--email", value: Terminal.escapingControls(e), reason: "not an email address")
        }
        let (client, url) = try options.client()
        let contact = email.map { "mailto:\($0)" }
        let object = try client.updateAccount(contact: contact)
        try ACMEAccountStore(store: options.certStore).save(accountURL: client.accountURL ?? "", directoryURL: url,
                                                            contact: object["contact"]?.stringArray ?? contact)
        options.print(try options.describe(client, directoryURL: url, object: object))
    }
}

struct AccountRollover: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rollover", abstract: "Bind a new account key at the CA (RFC 8555 §7.3.5); the old key is kept as a backup.")
    @OptionGroup var options: AccountOptions

    func run() throws {
        let (client, url) = try options.client()
        let newKey = try PrivateKey.generate(.ecP256)
        let backup = try ACMEAccountStore(store: options.certStore).rollover(directoryURL: url, newKey: newKey, now: currentUnixTime()) {
            try client.changeKey(to: newKey)
        }
        var info = try options.describe(client, directoryURL: url, object: nil)
        if case .object(var fields) = info { fields.append(("previousKeyBackup", .string(backup))); info = .object(fields) }
        options.print(info, extra: ["the old key is kept at \(backup)"])
    }
}

struct AccountDeactivate: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "deactivate", abstract: "Deactivate the account at the CA for good (RFC 8555 §7.3.6).")
    @OptionGroup var options: AccountOptions

    @Flag(help: "Confirm: a deactivated account can never be used again.")
    var yes = false

    func run() throws {
        guard yes else { throw InputError.invalidValue(option: "deactivate", value: options.acme, reason: "a deactivated account can never be used again: add --yes") }
        let (client, url) = try options.client()
        let object = try client.deactivateAccount()
        options.print(try options.describe(client, directoryURL: url, object: object))
    }
}
