import ArgumentParser
import CertsCore

struct InstallCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install",
        abstract: "Install a bought certificate (and its key) into <store>/live/NAME, atomically.",
        discussion: """
        Accepts what CAs send: PEM, DER, a CA bundle in any order, PKCS#7 (.p7b) and PKCS#12 (.pfx, \
        with the key inside; its passphrase from --passphrase-file or --passphrase-env). --cert may \
        be a whole fullchain. Checks before anything is written: the key matches the certificate \
        (exit 2), the chain is complete (exit 1 naming the missing issuer, unless --allow-incomplete), \
        the certificate has not expired (exit 1, unless --force), with --trust the chain ends in \
        one of those roots (exit 1), and the chain passes `certs verify` (exit 1, unless --force; \
        without --trust, whether the root is trusted is not judged). Without --key, a key in the inputs or the key currently \
        installed under NAME is used. The previous version stays in <store>/archive/NAME: \
        `certs rollback NAME` goes back to it.
        """
    )

    @Argument(help: ArgumentHelp("Store name (a directory under live/).", valueName: "name"))
    var name: String

    @Option(help: ArgumentHelp("The certificate: PEM, DER, .p7b, .pfx, or a whole fullchain.", valueName: "file"))
    var cert: String

    @Option(help: ArgumentHelp("The CA's intermediate certificates / bundle, any order or format (repeatable).", valueName: "file"))
    var chain: [String] = []

    @Option(help: ArgumentHelp("The private key (PEM or DER, encrypted keys with a passphrase option).", valueName: "file"))
    var key: String?

    @OptionGroup var passphrase: PassphraseOptions

    @OptionGroup var store: StoreOptions

    @Option(help: ArgumentHelp("Trusted root certificates: the chain must end in one of them.", valueName: "file"))
    var trust: String?

    @Flag(name: .customLong("allow-incomplete"), help: "Install even when an intermediate is missing.")
    var allowIncomplete = false

    @Flag(help: "Install even an expired certificate, or one that does not verify.")
    var force = false

    @Flag(help: "Print the result as JSON (version 1).")
    var json = false

    func run() throws {
        try CertificateStore.validate(name: name)
        let secret = try passphrase.load()
        let certStore = CertificateStore(root: store.path)
        let pile = try CertificatePile.read([cert] + chain, passphrase: secret)
        var installation = CertificateInstallation(name: name, certificates: pile.certificates, certificateSource: cert)
        installation.keysInInput = pile.keys
        if let key { installation.key = (try readPrivateKey(key, passphrase: secret), key) }
        installation.anchors = try trust.map { try Certificate.parseAll(try FileSystem.read($0), source: $0) } ?? []
        (installation.trustSource, installation.allowIncomplete, installation.force) = (trust, allowIncomplete, force)
        if Verbosity.verbose { installation.log = { Terminal.note($0) } }
        let report: InstallReport
        do { report = try installation.run(store: certStore) }
        catch let refused as CertificateInstallation.Refusal { throw refusal(InstallRefusal(refused)) }
        catch let missing as CertificateInstallation.NoKey { throw InstallRefusal.noKey(name: missing.name) }
        show(report)
    }

    func show(_ report: InstallReport) {
        let (assembled, paths, previous, version) = (report.assembled, report.paths, report.previousVersion, report.installedVersion)
        let leaf = assembled.leaf
        let names = leaf.subjectAlternativeNames.map(\.description)
        if json {
            var fields = AssemblyReport.json(assembled, rootIncluded: false).filter { $0.0 != "rootIncluded" }
            fields.insert(contentsOf: [
                ("name", .string(name)),
                ("store", .string(store.path)),
                ("installedVersion", version.map { .int($0) } ?? .null),
                ("previousVersion", previous.map { .int($0) } ?? .null),
                ("names", .strings(names)),
                ("notBefore", .string(RFC3339.format(leaf.notBefore))),
                ("notAfter", .string(RFC3339.format(leaf.notAfter))),
                ("key", .string(paths.key)),
                ("certificate", .string(paths.certificate)),
                ("chain", .string(paths.chain)),
                ("fullchain", .string(paths.fullchain)),
            ], at: 1)
            Terminal.out(JSON.object(fields).rendered())
        } else {
            let what = names.isEmpty ? leaf.subject.description : names.joined(separator: ", ")
            let keySource: String
            switch report.keySource {
            case .file(let path), .insideInput(let path): keySource = path
            case .installed: keySource = "the key installed under \(name)"
            }
            Terminal.out("installed \(name) (version \(version.map { String($0) } ?? "?")) for \(what), valid until \(RFC3339.format(leaf.notAfter))")
            for line in AssemblyReport.lines(assembled, rootIncluded: false, rootHint: false) { Terminal.out("  " + line) }
            Terminal.out("  key from \(keySource)")
            Terminal.out("  \(paths.fullchain)\n  \(paths.chain)\n  \(paths.certificate)\n  \(paths.key)  (mode 0600)")
            if let previous { Terminal.out("  previous version \(previous) kept: certs rollback \(name) goes back to it") }
        }
        if let missing = assembled.missingIssuer {
            Terminal.note("warning: \(missing.description)")
        }
        if report.expired {
            Terminal.note("warning: the certificate expired at \(RFC3339.format(leaf.notAfter))")
        }
    }
}

extension InstallRefusal {
    /// The core's refusal, with the flag that overrides it.
    init(_ refusal: CertificateInstallation.Refusal) {
        switch refusal {
        case .incomplete(let missing): self = .incomplete(missing)
        case .untrusted(let top, let issuer, let trust): self = .untrusted(top: top, issuer: issuer, trust: trust)
        case .expired(let subject, let notAfter): self = .expired(subject: subject, notAfter: notAfter)
        case .invalid(let first, let more):
            self = .invalid(first + (more.isEmpty ? "" : " (and \(more.count) more: \(more.joined(separator: ", ")))"))
        }
    }
}

/// A refusal that is a negative answer (exit 1): printed here, in the one-line error format.
func refusal(_ failure: InstallRefusal) -> ExitCode {
    Terminal.error(failure.description)
    return ExitCode(Exit.negative)
}

struct RollbackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback",
        abstract: "Point live/NAME back at the previous archived version.",
        discussion: "Every install keeps the earlier versions in <store>/archive/NAME; this swaps the live link back one version, atomically."
    )

    @Argument(help: ArgumentHelp("Store name.", valueName: "name"))
    var name: String

    @OptionGroup var store: StoreOptions

    @Flag(help: "Print the result as JSON (version 1).")
    var json = false

    func run() throws {
        try CertificateStore.validate(name: name)
        let certStore = CertificateStore(root: store.path)
        guard let from = certStore.currentVersion(name) else { throw StoreError.notFound(name: name, store: store.path) }
        let now = try certStore.rollback(name: name)
        let cert = try? Certificate.parseAll(try FileSystem.read(certStore.paths(name).certificate), source: certStore.paths(name).certificate).first
        if json {
            Terminal.out(JSON.object([
                ("version", .int(1)),
                ("name", .string(name)),
                ("liveVersion", .int(now)),
                ("previousVersion", .int(from)),
                ("notAfter", .optional(cert.map { RFC3339.format($0.notAfter) })),
                ("sha256Fingerprint", .optional(cert.map { $0.fingerprint().hexString })),
                ("fullchain", .string(certStore.paths(name).fullchain)),
            ]).rendered())
        } else {
            var line = "\(name): live is now version \(now) (was \(from))"
            if let c = cert { line += ", \(c.subject), valid until \(RFC3339.format(c.notAfter))" }
            Terminal.out(line)
        }
    }
}

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export an installed certificate, its key and chain as PKCS#12 (.pfx) for servers that want one.",
        discussion: """
        Encrypted with AES-256-CBC (PBKDF2) and a SHA-256 MAC, OpenSSL 3's defaults; the passphrase \
        comes from --passphrase-file or --passphrase-env (never the command line). The file is \
        written with mode 0600, atomically, and not over an existing one without --force.
        """
    )

    @Argument(help: ArgumentHelp("Store name.", valueName: "name"))
    var name: String

    @Flag(help: "Write PKCS#12 (the only export format).")
    var p12 = false

    @Option(name: .shortAndLong, help: ArgumentHelp("Where to write the archive.", valueName: "file"))
    var out: String

    @OptionGroup var passphrase: PassphraseOptions

    @OptionGroup var store: StoreOptions

    @Flag(help: "Print what was written as JSON (version 1); never the archive.")
    var json = false

    @Flag(help: "Replace an existing file.")
    var force = false

    func validate() throws {
        if !p12 { throw ValidationError("choose the export format: --p12") }
        if json && out == "-" { throw ValidationError("--json and --out - would both write to stdout") }
        if !passphrase.isSet { throw ValidationError("a PKCS#12 export needs a passphrase: --passphrase-file FILE or --passphrase-env VAR") }
    }

    func run() throws {
        try CertificateStore.validate(name: name)
        try Output.ensureWritable(out, force: force)
        guard let secret = try passphrase.load() else { throw PassphraseError.source("a PKCS#12 export needs a passphrase: --passphrase-file FILE or --passphrase-env VAR") }
        let stored = try CertificateStore(root: store.path).load(name: name)
        let archive = try PKCS12Writer.archive(key: stored.key, certificate: stored.certificate, chain: stored.chain,
                                               passphrase: secret, friendlyName: name)
        try Output.write(archive, to: out, mode: 0o600, force: force)
        if json {
            Terminal.out(JSON.object([("version", .int(1)), ("name", .string(name)), ("p12", .string(out)),
                                      ("chainCertificates", .int(stored.chain.count)), ("mode", .string("0600"))]).rendered())
        } else if out != "-" {
            let n = stored.chain.count
            Terminal.note("wrote \(name) (key, certificate and \(n) chain certificate\(n == 1 ? "" : "s")) to \(out) (PKCS#12, AES-256-CBC, mode 0600)")
        }
    }
}
