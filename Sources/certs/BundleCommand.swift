import ArgumentParser
import CertsCore

struct BundleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bundle",
        abstract: "Build the fullchain (leaf → intermediates) from certificates in any order and format.",
        discussion: """
        Give everything the CA sent — several files of PEM, DER, PKCS#7 (.p7b) or PKCS#12 (.pfx), \
        in any order, with extras and duplicates. The leaf is the end-entity certificate (the one \
        for --key when there are several). Duplicates and certificates that are not part of the \
        leaf's chain are dropped and listed; the root is left out unless --include-root. \
        Exit 0: complete. Exit 1: a link is missing — the missing issuer is named, with the URL \
        its certificate can be downloaded from when the certificate says (AIA caIssuers), and \
        nothing is written unless --allow-incomplete. Exit 2: bad input.
        """
    )

    @Argument(help: ArgumentHelp("Certificate files (PEM, DER, .p7b, .pfx); '-' reads stdin.", valueName: "file"))
    var files: [String]

    @Option(help: ArgumentHelp("The private key: picks the leaf among several, and must match it.", valueName: "file"))
    var key: String?

    @Option(name: .shortAndLong, help: ArgumentHelp("Write the PEM here (mode 0644, atomically) instead of stdout.", valueName: "file"))
    var out: String?

    @Flag(help: "Replace an existing --out file.")
    var force = false

    @Flag(name: .customLong("include-root"), help: "Append the root when the input holds it (servers should not send it).")
    var includeRoot = false

    @Flag(name: .customLong("allow-incomplete"), help: "Write the chain even when an intermediate is missing (exit 0, with a warning).")
    var allowIncomplete = false

    @Flag(help: "Print a JSON report (version 1) on stdout; the PEM goes to --out, or into the report's \"pem\" field.")
    var json = false

    @OptionGroup var passphrase: PassphraseOptions

    func run() throws {
        let target = out.map { OutputTarget($0, force: force) }
        try target?.ensureWritable()
        let secret = try passphrase.load()
        let pile = try CertificatePile.read(files, passphrase: secret)
        var bundling = ChainBundling(certificates: pile.certificates)
        bundling.keysInInput = pile.keys
        if let key { bundling.key = (try readPrivateKey(key, passphrase: secret), key) }
        (bundling.includeRoot, bundling.allowIncomplete) = (includeRoot, allowIncomplete)
        let report: BundleReport
        do { report = try bundling.run(out: target) }
        catch let mismatch as ChainBundling.KeyMismatch { throw InstallRefusal.keyMatchesNoCertificate(keyPath: mismatch.keyPath) }
        show(report)
        if let missing = report.chain.missingIssuer, !report.wrote {
            Terminal.error("\(missing.description); nothing was written")
            throw ExitCode(Exit.negative)
        }
    }

    func show(_ report: BundleReport) {
        let (chain, count) = (report.chain, report.certificates.count)
        if json {
            var fields = AssemblyReport.json(chain, rootIncluded: report.rootIncluded)
            fields.append(("out", .optional(report.file)))
            if report.destination == .standardOutput { fields.append(("pem", .string(String(decoding: report.pem, as: UTF8.self)))) }
            Terminal.out(JSON.object(fields).rendered())
        } else if report.wrote {
            if report.destination == .standardOutput { Terminal.writeBytes(report.pem) }
            for line in AssemblyReport.lines(chain, rootIncluded: report.rootIncluded) { Terminal.note(line) }
            if let path = report.file { Terminal.note("wrote \(count) certificate\(count == 1 ? "" : "s") to \(path)") }
        }
        if let missing = chain.missingIssuer, report.wrote { Terminal.note("warning: \(missing.description)") }
    }
}

/// Everything read from the certificate files of `bundle` and `install`.
struct CertificatePile {
    var certificates: [Certificate] = []
    /// Keys found inside the inputs (a .pfx, or a PEM holding key and certificate).
    var keys: [PrivateKey] = []

    static func read(_ files: [String], passphrase: Passphrase?) throws -> CertificatePile {
        var input = CertificatePile()
        for file in files {
            let doc = try readDocument(file, passphrase: passphrase)
            if doc.certificates.isEmpty && doc.privateKeys.isEmpty {
                throw InputError.wrongContent(path: file == "-" ? "stdin" : file, expected: "a certificate", found: doc.contentDescription)
            }
            input.certificates += doc.certificates
            input.keys += doc.privateKeys
        }
        if input.certificates.isEmpty {
            throw InputError.wrongContent(path: files.count == 1 ? files[0] : files.joined(separator: ", "),
                                          expected: "a certificate", found: "only private keys")
        }
        return input
    }
}

enum InstallRefusal: CertsFailure {
    case keyMatchesNoCertificate(keyPath: String)
    case noKey(name: String)
    case expired(subject: String, notAfter: Int64)
    case untrusted(top: String, issuer: String, trust: String)
    case incomplete(MissingIssuer)
    /// `certs verify` rejects the chain: its first error (code: message).
    case invalid(String)

    var kind: FailureKind {
        switch self {
        case .keyMatchesNoCertificate, .noKey: return .input
        // Reported with exit 1 by the commands themselves; .input is the fallback.
        case .expired, .untrusted, .incomplete, .invalid: return .input
        }
    }

    var description: String {
        switch self {
        case .keyMatchesNoCertificate(let k): return "\(k): the private key does not match any certificate in the input"
        case .noKey(let n): return "\(n): no private key: give --key FILE (or a .pfx that holds the key)"
        case .expired(let s, let t): return "\"\(s)\" expired at \(RFC3339.format(t)); nothing was installed (--force installs it anyway)"
        case .untrusted(let top, let issuer, let trust):
            return "the chain does not end in a root from \(trust): \"\(top)\" is issued by \"\(issuer)\"; nothing was installed"
        case .incomplete(let m): return "\(m.description); nothing was installed (--allow-incomplete installs it anyway)"
        case .invalid(let why): return "the certificate does not verify: \(why); nothing was installed (--force installs it anyway)"
        }
    }
}

/// Text and JSON descriptions of an assembled chain, shared by `bundle` and `install`.
enum AssemblyReport {
    /// `rootHint`: mention --include-root for a root that was left out (bundle has that flag).
    static func lines(_ chain: AssembledChain, rootIncluded: Bool, rootHint: Bool = true) -> [String] {
        var lines = ["leaf:         \(chain.leaf.subject)  (valid until \(RFC3339.format(chain.leaf.notAfter)))"]
        for c in chain.intermediates { lines.append("intermediate: \(c.subject)") }
        if let root = chain.root {
            let note: String
            switch (rootIncluded, chain.rootSource) {
            case (true, _): note = "included"
            case (false, .anchor?): note = "trusted root, not sent"
            default: note = rootHint ? "not sent; --include-root adds it" : "not sent"
            }
            lines.append("root:         \(root.subject)  (\(note))")
        }
        for d in chain.dropped { lines.append("dropped:      \(d.certificate.subject)  (\(d.reason.text))") }
        return lines
    }

    static func certificate(_ c: Certificate) -> JSON {
        .object([
            ("subject", .string(c.subject.description)),
            ("issuer", .string(c.issuer.description)),
            ("serial", .string(c.serialHex)),
            ("notAfter", .string(RFC3339.format(c.notAfter))),
            ("sha256Fingerprint", .string(c.fingerprint().hexString)),
        ])
    }

    /// Report fields after "version"; callers append their own.
    static func json(_ chain: AssembledChain, rootIncluded: Bool) -> [(String, JSON)] {
        var missing: JSON = .null
        if let m = chain.missingIssuer {
            missing = .object([
                ("issuer", .string(m.issuer.description)),
                ("caIssuersURL", .optional(m.caIssuersURL)),
                ("below", .string(m.below.subject.description)),
            ])
        }
        return [
            ("version", .int(1)),
            ("complete", .bool(chain.isComplete)),
            ("leaf", certificate(chain.leaf)),
            ("intermediates", .array(chain.intermediates.map(certificate))),
            ("root", chain.root.map(certificate) ?? .null),
            ("rootIncluded", .bool(rootIncluded)),
            ("dropped", .array(chain.dropped.map { d in
                .object([
                    ("subject", .string(d.certificate.subject.description)),
                    ("reason", .string(d.reason.rawValue)),
                    ("sha256Fingerprint", .string(d.certificate.fingerprint().hexString)),
                ])
            })),
            ("missingIssuer", missing),
        ]
    }
}
