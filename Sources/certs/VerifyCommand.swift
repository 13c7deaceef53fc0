import ArgumentParser
import CertsCore

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify TLS server certificate chains from files, or the chain a server serves (--connect).",
        discussion: """
        Each LEAF file may be a full chain: its first certificate is the leaf, the rest are the chain \
        presented with it (plus --chain). Several files are verified independently, one report each. \
        Checks OpenSSL's path validation for a TLS server (trust, expiry, host name or IP in the SANs, \
        purpose) and what the Web PKI adds and OpenSSL does not check (--policy webpki, the default): SAN \
        present and the CN one of them, leaf not a CA, extendedKeyUsage serverAuth (present, not critical, \
        no anyExtendedKeyUsage), key usage, RSA/ECDSA key sizes, no DSA, SHA-1, serial numbers, key \
        identifiers, the root's profile, name constraints, authorityInfoAccess, no underscores, no \
        wildcard over a public suffix, lifetime by issuance date (an error under the system roots, a \
        warning under --trust), chain order and extra certificates. --policy rfc5280 keeps only RFC \
        5280's rules. docs/verification.md lists every rule and its source.

        With --connect HOST:PORT, makes a TLS handshake without verifying, then verifies the served \
        chain the same way, reports an omitted intermediate and, with --expect-cert, whether the server \
        serves that certificate.

        Exit codes: 0 every chain is valid (warnings allowed); 1 any is invalid; 2 usage error or \
        unreadable input; 4 the server could not be reached (--connect). \
        --json follows docs/json.md (version 1).
        """
    )

    @Argument(help: ArgumentHelp("Certificate files, leaf first ('-' reads stdin).", valueName: "leaf"))
    var leaves: [String] = []

    @Option(help: ArgumentHelp("More chain certificates (intermediates) presented with every leaf; with --connect, used only to explain an omitted intermediate. Repeatable.", valueName: "file"))
    var chain: [String] = []

    @Option(help: ArgumentHelp("Trust exactly the certificates in this PEM bundle. Repeatable.", valueName: "file"))
    var trust: [String] = []

    @Flag(help: "Trust the system's roots (the default when --trust is not given).")
    var system = false

    @Option(help: ArgumentHelp("The DNS name or IP address the leaf must cover (default with --connect: --sni, else the host).", valueName: "name|ip"))
    var host: String?

    @Option(help: ArgumentHelp("Validate at this time instead of now (Unix seconds or RFC 3339).", valueName: "time"))
    var at: String?

    @Option(help: ArgumentHelp("A private key that must belong to the leaf.", valueName: "file"))
    var key: String?

    @OptionGroup var passphrase: PassphraseOptions

    @Option(help: ArgumentHelp("Connect to a TLS server and verify the chain it serves (HOST:PORT, [IPv6]:PORT, or SCHEME://HOST[:PORT] for STARTTLS: smtp, submission, imap, pop3, ftp, ldap, xmpp, postgres, mysql).", valueName: "host:port"))
    var connect: String?

    @Option(help: ArgumentHelp("With --connect: the SNI name to send (default: the host, none for an IP address).", valueName: "name"))
    var sni: String?

    @Option(name: .customLong("expect-cert"), help: ArgumentHelp("With --connect: the certificate the server should serve (compared by SHA-256 fingerprint).", valueName: "file"))
    var expectCert: String?

    @Option(help: ArgumentHelp("Also check the leaf's revocation: crl, ocsp, auto (the CRL when one is named, else OCSP) or off; revoked makes the chain invalid, an answer that cannot be had is a warning.", valueName: "auto|crl|ocsp|off"))
    var revocation: RevocationMode?

    @Option(help: ArgumentHelp("With --connect: seconds to wait for the connection and handshake.", valueName: "seconds"))
    var timeout: Double = 10

    @Option(help: ArgumentHelp("The rule book: webpki (RFC 5280 and the CA/Browser Forum rules browsers apply) or rfc5280 (RFC 5280 only, for private PKIs). See docs/verification.md.", valueName: "webpki|rfc5280"))
    var policy: VerificationPolicy = .webpki

    @Flag(help: "Print JSON: {\"version\": 1, \"results\": [...]}.")
    var json = false

    func validate() throws {
        if connect == nil && leaves.isEmpty {
            throw ValidationError("name at least one certificate file to verify, or --connect HOST:PORT")
        }
        if connect != nil && !leaves.isEmpty {
            throw ValidationError("give certificate files or --connect, not both")
        }
        if system && !trust.isEmpty {
            throw ValidationError("--trust and --system exclude each other: choose one set of roots")
        }
        if connect == nil {
            if sni != nil { throw ValidationError("--sni needs --connect") }
            if expectCert != nil { throw ValidationError("--expect-cert needs --connect") }
        }
        if !(timeout > 0 && timeout <= 600) { throw ValidationError("--timeout must be between 0 and 600 seconds") }
        if let host, host.allSatisfy({ $0 == " " }) { throw ValidationError("--host is empty") }
    }

    func run() throws {
        let parser = CertificateParser()
        let time = try at.map { try parseTime($0, option: "--at") } ?? currentUnixTime()
        let secret = try passphrase.load()
        let privateKey = try key.map { try readPrivateKey($0, passphrase: secret) }
        let trustStore = try loadTrust(parser: parser)
        let chainCertificates = try chain.flatMap { try certificates(in: $0, parser: parser) }
        let chainOrigin = chain.isEmpty ? "--chain" : "--chain " + chain.joined(separator: ", ")

        var reports: [VerificationReport] = []
        if let connect {
            let endpoint = try Endpoint(parsing: connect)
            if let sni { _ = try HostName.validate(sni) }
            let expected = try expectCert.map { try certificates(in: $0, parser: parser)[0] }
            let served = try TLSClient().fetch(endpoint, sni: sni, timeout: timeout)
            let verifier = ChainVerifier(trust: trustStore, host: host ?? sni ?? endpoint.host, time: time, key: privateKey, policy: policy)
            reports.append(try verifier.verify(served: served, hints: chainCertificates, hintOrigin: chainOrigin,
                                               expected: expected, expectedOrigin: expectCert ?? "--expect-cert"))
        } else {
            // Read every input first: an unreadable file is a usage error (exit 2) before any verdict.
            let inputs = try leaves.map { path in (path == "-" ? "stdin" : path, try certificates(in: path, parser: parser)) }
            let verifier = ChainVerifier(trust: trustStore, host: host, time: time, key: privateKey, policy: policy)
            reports = try verifier.verifyAll(inputs.map { ChainVerifier.FileInput(source: $0.0, certificates: $0.1) },
                                             extraChain: chainCertificates, extraOrigin: chainOrigin)
        }

        if let mode = revocation, mode != .off {
            let checker = RevocationChecker(mode: mode, now: time, timeout: timeout, cacheDirectory: nil)
            reports = reports.map { $0.checkingRevocation(checker) }
        }
        if json {
            Terminal.out(VerificationReport.document(reports).rendered())
        } else {
            Terminal.out(reports.map(VerifyText.render).joined(separator: "\n"))
        }
        if reports.contains(where: { !$0.valid }) { throw ExitCode(Exit.negative) }
    }

    func loadTrust(parser: CertificateParser) throws -> TrustStore {
        guard !trust.isEmpty else { return try TrustStore.system() }
        let roots = try trust.flatMap { try certificates(in: $0, parser: parser) }
        return try TrustStore.certificates(roots, origin: "--trust " + trust.joined(separator: ", "))
    }

    /// One parser per run: each distinct certificate (the shared intermediate) is parsed once.
    func certificates(in path: String, parser: CertificateParser) throws -> [Certificate] {
        if path != "-" { return try parser.certificates(atPath: path) }
        let doc = try readDocument(path)
        guard !doc.certificates.isEmpty else {
            throw InputError.wrongContent(path: path == "-" ? "stdin" : path, expected: "a certificate", found: doc.contentDescription)
        }
        return doc.certificates
    }
}

/// The human-readable form of a `VerificationReport`. May change between versions; the JSON may not.
enum VerifyText {
    static func render(_ r: VerificationReport) -> String {
        var headline = "\(r.source): \(r.valid ? "VALID" : "INVALID")"
        var context: [String] = []
        if let host = r.host { context.append("for \(host)") }
        context.append("at \(RFC3339.format(r.at))")
        headline += " (" + context.joined(separator: ", ") + ")"
        var lines = [headline]
        if let c = r.connection {
            lines.append("  connection: \(c.protocolVersion), \(c.cipher), address \(c.address), SNI \(c.sni ?? "none")")
        }
        lines.append("  chain:")
        let width = r.chain.map(\.role.rawValue.count).max() ?? 0
        for link in r.chain {
            let pad = String(repeating: " ", count: width - link.role.rawValue.count)
            let source = link.presented || link.role == .leaf ? "" : "  (from the trust store)"
            lines.append("    \(link.role.rawValue)\(pad)  \(link.subject) → \(link.issuer == link.subject ? "(self-signed)" : link.issuer), not after \(RFC3339.format(link.notAfter))\(source)")
        }
        if !r.errors.isEmpty {
            lines.append("  problems:")
            lines += r.errors.map { "    - \($0.code): \($0.message)" }
        }
        if !r.warnings.isEmpty {
            lines.append("  warnings:")
            lines += r.warnings.map { "    - \($0.code): \($0.message)" }
        }
        return lines.joined(separator: "\n")
    }
}

extension VerificationPolicy: ExpressibleByArgument {}
