import ArgumentParser
import CertsCore

struct CACommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ca",
        abstract: "A local development CA (root → intermediate → server certificates), for offline stacks and tests.",
        subcommands: [CAInit.self, CAIssue.self, CAHop.self, CARevoke.self, CACRL.self]
    )
}

struct CAInit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create the local CA in <store>/ca (root and intermediate, keys mode 0600)."
    )

    @OptionGroup var store: StoreOptions

    @Option(help: ArgumentHelp("The CA's name, used in its certificates' subjects.", valueName: "text"))
    var name = "certs development CA"

    @Option(name: .customLong("key-type"), help: "Key type of the root and intermediate.")
    var keyType: KeyType = .default

    @Flag(help: "Replace an existing CA (certificates it issued stop verifying).")
    var force = false

    @Flag(help: "Print the result as JSON (version 1).")
    var json = false

    func run() throws {
        try FileSystem.makeDirectories(store.path, mode: 0o755)
        let ca = try LocalCA.create(store: store.path, name: name, keyType: keyType, now: currentUnixTime(), force: force)
        if json {
            Terminal.out(JSON.object([("version", .int(1)), ("directory", .string(ca.directory)), ("root", .string(ca.rootPath)),
                                      ("intermediate", .string("\(ca.directory)/intermediate.pem"))]).rendered())
            return
        }
        Terminal.out("created local CA in \(ca.directory)")
        Terminal.out("  root:         \(ca.rootPath)  (trust this one: certs verify --trust \(ca.rootPath))")
        Terminal.out("  intermediate: \(ca.directory)/intermediate.pem")
    }
}

struct CAIssue: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "issue",
        abstract: "Issue a server certificate for one or more names into <store>/live/NAME.",
        discussion: "Writes privkey.pem (0600), cert.pem, chain.pem and fullchain.pem; the previous version stays in <store>/archive/NAME."
    )

    @OptionGroup var store: StoreOptions

    @Argument(help: ArgumentHelp("DNS names and IP addresses (the first is the subject CN).", valueName: "name"))
    var names: [String]

    @Option(help: "Validity in days.")
    var days = 90

    @Option(name: .customLong("key-type"), help: "Key type of the new certificate key.")
    var keyType: KeyType = .default

    @Option(name: .customLong("cert-name"), help: ArgumentHelp("Store name (default: the first name, * as _wildcard).", valueName: "name"))
    var certName: String?

    @Option(name: .customLong("valid-from"), help: ArgumentHelp("Start of validity, Unix seconds or RFC 3339 (default: now). Back-date to make expired test certificates.", valueName: "time"))
    var validFrom: String?

    @Option(name: .customLong("crl-url"), help: ArgumentHelp("An http:// URL to name as the certificate's CRL distribution point (for testing `check --revocation`).", valueName: "url"))
    var crlURL: String?

    @Flag(help: "Print the result as JSON.")
    var json = false

    func validate() throws {
        if days < 1 || days > 3650 { throw ValidationError("--days must be between 1 and 3650") }
    }

    func run() throws {
        var issuance = LocalCAIssuance(names: names, days: days)
        (issuance.certName, issuance.keyType, issuance.crlURL) = (certName, keyType, crlURL)
        issuance.validFrom = try validFrom.map { try parseTime($0, option: "--valid-from") }
        let issued = try issuance.run(store: store.path)
        let (name, parsed, cert, paths) = (issued.name, issued.names, issued.certificate, issued.paths)
        if json {
            Terminal.out(JSON.object([
                ("version", .int(1)),
                ("name", .string(name)),
                ("names", .strings(parsed.map(\.description))),
                ("notBefore", .string(RFC3339.format(cert.notBefore))),
                ("notAfter", .string(RFC3339.format(cert.notAfter))),
                ("serial", .string(cert.serialHex)),
                ("key", .string(paths.key)),
                ("certificate", .string(paths.certificate)),
                ("chain", .string(paths.chain)),
                ("fullchain", .string(paths.fullchain)),
            ]).rendered())
        } else {
            Terminal.out("issued \(name) for \(parsed.map(\.description).joined(separator: ", ")), valid until \(RFC3339.format(cert.notAfter))")
            Terminal.out("  \(paths.fullchain)\n  \(paths.key)  (mode 0600)")
        }
    }
}

struct CAHop: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hop",
        abstract: "Issue the internal certificates for the encrypted hop to services on another VM.",
        discussion: """
        For every service with host: (unless tls: plain), a server certificate hop-SERVICE for its terminator \
        (the private IP as an IP SAN and tls_name:, default SERVICE.internal) and one client certificate \
        hop-client for the front nginx, from the internal hop CA in <store>/hop-ca (created on first use: its own \
        root and intermediate, keys 0600, separate from the public certificates). Certificates that exist with \
        the same names are kept unless --force. Each is recorded in <store>/renewal, so `certs renew --all` \
        renews them like any other; `certs emit bundle --host ADDRESS` then writes what the other VM needs.
        """
    )

    @OptionGroup var stackOptions: StackOptions
    @OptionGroup var store: StoreOptions

    @Option(help: "Validity in days.")
    var days = HopPKI.defaultDays

    @Option(name: .customLong("key-type"), help: "Key type of the new certificate keys.")
    var keyType: KeyType = .default

    @Flag(help: "Issue again even when current certificates exist.")
    var force = false

    @Flag(help: "Print the result as JSON (version 1).")
    var json = false

    func validate() throws {
        if days < 1 || days > 825 { throw ValidationError("--days must be between 1 and 825") }
    }

    func run() throws {
        let stack = try stackOptions.load()
        try FileSystem.makeDirectories(store.path, mode: 0o755)
        let certStore = CertificateStore(root: store.path)
        let results = try HopPKI.issue(stack: stack, store: certStore, now: currentUnixTime(), days: days, keyType: keyType, force: force)
        let root = "\(HopPKI.caDirectory(store: store.path))/root.pem"
        if json {
            Terminal.out(JSON.object([("version", .int(1)), ("root", .string(root)), ("certificates", .array(results.map { r in
                .object([("name", .string(r.name)), ("status", .string(r.issued ? "issued" : "kept")), ("notAfter", .string(RFC3339.format(r.notAfter)))])
            }))]).rendered())
            return
        }
        for r in results {
            Terminal.out("\(r.name): \(r.issued ? "issued" : "kept"), valid until \(RFC3339.format(r.notAfter))")
        }
        Terminal.out("hop CA: \(root) (the terminators trust only this)")
    }
}

struct CARevoke: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Revoke a certificate the local CA issued (recorded in <store>/ca/revoked.txt; `certs ca crl` publishes it).",
        discussion: "CERT is a certificate file or a store name (its live cert.pem). Revoking twice keeps the first date."
    )

    @OptionGroup var store: StoreOptions

    @Argument(help: ArgumentHelp("A certificate file, or the store name of one.", valueName: "cert"))
    var certificate: String

    @Option(help: ArgumentHelp("RFC 5280 reason: unspecified, keyCompromise, cACompromise, affiliationChanged, superseded, cessationOfOperation, certificateHold, privilegeWithdrawn.", valueName: "reason"))
    var reason = "unspecified"

    @Flag(help: "Print the result as JSON.")
    var json = false

    func run() throws {
        let ca = try LocalCA.open(store: store.path)
        let certStore = CertificateStore(root: store.path)
        let path = FileSystem.exists(certificate) ? certificate : certStore.paths(certificate).certificate
        guard let cert = try readDocument(path).certificates.first else { throw InputError.notFound(path: path) }
        let entry = try ca.revoke(cert, reason: reason, now: currentUnixTime())
        if json {
            Terminal.out(JSON.object([("version", .int(1)), ("serial", .string(entry.serialHex)),
                                      ("revokedAt", .string(RFC3339.format(entry.revokedAt))), ("reason", .string(entry.reason))]).rendered())
        } else {
            Terminal.out("revoked \(cert.subject) (serial \(entry.serialHex)) on \(RFC3339.format(entry.revokedAt)), \(entry.reason); publish it with: certs ca crl --out FILE")
        }
    }
}

struct CACRL: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crl",
        abstract: "Sign the local CA's CRL (every certificate `certs ca revoke` recorded), to serve at the --crl-url its certificates name.",
        discussion: "Signed by the intermediate, v2 with CRL number and authority key identifier; replaced atomically."
    )

    @OptionGroup var store: StoreOptions

    @Option(name: [.customLong("out"), .customShort("o")], help: ArgumentHelp("Where to write the CRL.", valueName: "file"))
    var out: String

    @Option(help: "Days until nextUpdate.")
    var days = 7

    @Flag(help: "Replace an existing file that is not this CA's CRL.")
    var force = false

    @Option(help: "Encoding: der (what HTTP CRL distribution points serve) or pem.")
    var format = "der"

    @Flag(help: "Print the result as JSON (version 1).")
    var json = false

    func validate() throws {
        if days < 1 || days > 365 { throw ValidationError("--days must be between 1 and 365") }
        if format != "der" && format != "pem" { throw ValidationError("--format must be der or pem") }
    }

    func run() throws {
        var publishing = LocalCACRLPublishing(path: out)
        (publishing.days, publishing.pem, publishing.force) = (days, format == "pem", force)
        let crl = try publishing.run(store: store.path)
        if json {
            Terminal.out(JSON.object([("version", .int(1)), ("crl", .string(crl.path)), ("revoked", .int(crl.revoked)), ("format", .string(format)),
                                      ("thisUpdate", .string(RFC3339.format(crl.thisUpdate))), ("nextUpdate", .string(RFC3339.format(crl.nextUpdate)))]).rendered())
            return
        }
        Terminal.out("wrote \(crl.path): \(crl.revoked) revoked, next update in \(days) days")
    }
}
