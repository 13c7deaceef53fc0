import ArgumentParser
import CertsCore

/// `--ca-bundle`: roots trusted for the ACME server's own HTTPS (nil: the system store).
func acmeHTTPClient(caBundle: String?, timeout: Double = 30) throws -> HTTPClient {
    guard timeout > 0, timeout <= 600 else {
        throw InputError.invalidValue(option: "--timeout", value: String(timeout), reason: "give seconds between 0 and 600")
    }
    guard let caBundle else { return try HTTPClient(timeout: timeout) }
    let roots = try Certificate.parseAll(try FileSystem.read(caBundle), source: caBundle)
    guard !roots.isEmpty else { throw InputError.wrongContent(path: caBundle, expected: "CA certificates", found: "no certificate") }
    return try HTTPClient(trust: try TrustStore.certificates(roots, origin: "--ca-bundle \(caBundle)"), timeout: timeout)
}

struct RequestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "request",
        abstract: "Get a certificate over ACME (RFC 8555) and install it in <store>/live/NAME.",
        discussion: """
        One of --webroot DIR (your web server serves DIR/.well-known/acme-challenge/), --standalone \
        (a built-in server answers HTTP-01 on --http-port, default 80), --tls-alpn (a built-in TLS responder \
        answers TLS-ALPN-01 on --tls-port, default 443) or --dns-hook CMD (DNS-01, needed for \
        wildcards: CMD runs with CERTS_DNS_ACTION=add|remove, CERTS_DNS_NAME, CERTS_DNS_VALUE). --acme is \
        required (no silent default CA); letsencrypt and letsencrypt-staging are shortcuts. A new key is made \
        for every certificate unless --reuse-key. Nothing reaches live/ until the whole chain is in hand and \
        matches the key. The account key is kept in <store>/accounts/<ca-host>/account.key (0600) and reused; \
        <store>/renewal/NAME.json records the request for `certs renew`. \
        With --csr-only, no CA is contacted: a key (0600) and CSR are written for a CA you buy from.
        """
    )

    @Argument(help: ArgumentHelp("Domain names (the first names the certificate) or IP addresses.", valueName: "domain"))
    var domains: [String]

    @Option(help: ArgumentHelp("The CA's ACME directory URL, or letsencrypt / letsencrypt-staging. Repeatable: CAs in order of preference, the next tried when one fails with an outage, a rate limit or a policy refusal.", valueName: "url"))
    var acme: [String] = []

    @Option(help: ArgumentHelp("Contact email for the ACME account.", valueName: "address"))
    var email: String?

    @Flag(name: .customLong("agree-tos"), help: "Accept the CA's terms of service (needed to create an account where the CA has terms).")
    var agreeTOS = false

    @Option(help: ArgumentHelp("HTTP-01: write challenge files under DIR/.well-known/acme-challenge/.", valueName: "dir"))
    var webroot: String?

    @Flag(help: "HTTP-01: answer challenges from a built-in server (only /.well-known/acme-challenge/TOKEN).")
    var standalone = false

    @Option(name: .customLong("http-port"), help: ArgumentHelp("Port of the standalone server.", valueName: "port"))
    var httpPort: Int = 80

    @Option(name: .customLong("http-address"), help: ArgumentHelp("Address of the standalone server (:: = all).", valueName: "ip"))
    var httpAddress: String = "::"

    @Flag(name: .customLong("tls-alpn"), help: "TLS-ALPN-01: answer challenges from a built-in TLS responder (only ALPN acme-tls/1), for hosts whose port 80 is closed.")
    var tlsALPN = false

    @Option(name: .customLong("tls-port"), help: ArgumentHelp("Port of the TLS-ALPN-01 responder.", valueName: "port"))
    var tlsPort: Int = 443

    @Option(name: .customLong("tls-address"), help: ArgumentHelp("Address of the TLS-ALPN-01 responder (:: = all).", valueName: "ip"))
    var tlsAddress: String = "::"

    @Option(name: .customLong("dns-hook"), help: ArgumentHelp("DNS-01: a shell command that adds/removes the TXT record.", valueName: "command"))
    var dnsHook: String?

    @Option(name: .customLong("dns-wait"), help: ArgumentHelp("DNS-01: extra seconds to wait after the TXT records are visible on the authoritative servers.", valueName: "seconds"))
    var dnsWait: Double = 0

    @OptionGroup var dns: DNSOptions

    @Option(name: .customLong("ca-bundle"), help: ArgumentHelp("Trust these roots for the ACME server's HTTPS (default: the system store).", valueName: "file"))
    var caBundle: String?

    @Option(help: ArgumentHelp("A certificate profile the CA lists in its directory (e.g. shortlived, tlsserver).", valueName: "name"))
    var profile: String?

    @Option(help: ArgumentHelp("Seconds one HTTP exchange with the CA may take, connect to last byte.", valueName: "seconds"))
    var timeout: Double = 30

    @Option(name: .customLong("key-type"), help: ArgumentHelp("Certificate key type, one ACME CAs issue for.", valueName: "type"))
    var acmeKeyType: ACMEKeyType = ACMEKeyType(.default)
    var keyType: KeyType { acmeKeyType.keyType }

    @Flag(name: .customLong("reuse-key"), help: "Keep the live key of NAME instead of making a new one.")
    var reuseKey = false

    @Option(name: .customLong("cert-name"), help: ArgumentHelp("Store name (default: the first domain, * as _wildcard).", valueName: "name"))
    var certName: String?

    @Option(name: .customLong("preferred-chain"), help: ArgumentHelp("Prefer the alternate chain whose top issuer has this common name.", valueName: "cn"))
    var preferredChain: String?

    @Option(name: .customLong("eab-kid"), help: ArgumentHelp("External Account Binding key id (from the CA).", valueName: "kid"))
    var eabKID: String?

    @Option(name: .customLong("eab-hmac-key-file"), help: ArgumentHelp("File holding the EAB MAC key (base64url).", valueName: "file"))
    var eabKeyFile: String?

    @Option(name: .customLong("eab-hmac-key-env"), help: ArgumentHelp("Environment variable holding the EAB MAC key.", valueName: "name"))
    var eabKeyEnv: String?

    @Option(name: .customLong("eab"), help: ArgumentHelp("External Account Binding for one CA of --acme: URL,kid=KID,hmac-key-file=FILE or URL,kid=KID,hmac-key-env=NAME. Repeatable, one per CA.", valueName: "binding"))
    var perCAEAB: [String] = []

    @Flag(name: .customLong("csr-only"), help: "Only write a new key and CSR (for a CA you buy from); contact no CA.")
    var csrOnly = false

    @Option(name: [.customLong("out"), .customShort("o")], help: ArgumentHelp("With --csr-only: where NAME.key and NAME.csr go.", valueName: "dir"))
    var outDir: String = "."

    @Flag(help: "With --csr-only: replace existing files.")
    var force = false

    @OptionGroup var store: StoreOptions

    /// --verbose (every command has it, see `Spelling`): progress on stderr.
    var verbose: Bool { Verbosity.verbose }

    @Flag(help: "Print the result as JSON (version 1).")
    var json = false

    var challenge: IssuanceRun.Challenge {
        var c = IssuanceRun.Challenge()
        (c.webroot, c.standalone, c.httpAddress, c.httpPort) = (webroot, standalone, httpAddress, httpPort)
        (c.tlsALPN, c.tlsAddress, c.tlsPort, c.dnsHook) = (tlsALPN, tlsAddress, tlsPort, dnsHook)
        return c
    }

    func externalAccountBinding() throws -> (keyID: String, macKey: [UInt8])? {
        guard let eabKID else {
            if eabKeyFile != nil || eabKeyEnv != nil { throw InputError.invalidValue(option: "--eab-kid", value: "", reason: "an EAB MAC key needs its --eab-kid") }
            return nil
        }
        return (eabKID, try Self.macKey(file: eabKeyFile, environment: eabKeyEnv))
    }

    /// The EAB MAC key from exactly one of a file or an environment variable (never the command line).
    static func macKey(file: String?, environment: String?) throws -> [UInt8] {
        var text: String
        if let file, environment == nil {
            text = String(decoding: try FileSystem.read(file, limit: 64 * 1024), as: UTF8.self)
        } else if let environment, file == nil {
            guard let v = Terminal.environment(environment), !v.isEmpty else {
                throw PassphraseError.source("environment variable \(environment) is not set or empty (--eab-hmac-key-env names the variable, not the key)")
            }
            text = v
        } else {
            throw PassphraseError.source("give the EAB MAC key with exactly one of --eab-hmac-key-file or --eab-hmac-key-env (never on the command line)")
        }
        text = text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).first.map(String.init) ?? ""
        guard let key = Base64.decode(text), !key.isEmpty else {
            throw PassphraseError.source("the EAB MAC key is not base64url")
        }
        return key
    }

    /// `--eab URL,kid=KID,hmac-key-file=FILE|hmac-key-env=NAME`, parsed; the core checks each URL is one of the CAs.
    func perCABindings() throws -> [IssuanceRun.Binding] {
        try perCAEAB.map { value in
            let parts = value.split(separator: ",").map(String.init)
            func bad(_ reason: String) -> InputError { .invalidValue(option: "--eab", value: parts.first ?? value, reason: reason) }
            guard let first = parts.first else { throw bad("give URL,kid=KID,hmac-key-file=FILE (or hmac-key-env=NAME)") }
            var fields: [String: String] = [:]
            for part in parts.dropFirst() {
                guard let eq = part.firstIndex(of: "="), ["kid", "hmac-key-file", "hmac-key-env"].contains(String(part[..<eq])) else {
                    throw bad("unknown field \(part.split(separator: "=").first.map(String.init) ?? part); use kid=, hmac-key-file= or hmac-key-env=")
                }
                fields[String(part[..<eq])] = String(part[part.index(after: eq)...])
            }
            guard let kid = fields["kid"], !kid.isEmpty else { throw bad("no kid=KID") }
            return IssuanceRun.Binding(directory: first, keyID: kid, macKey: try Self.macKey(file: fields["hmac-key-file"], environment: fields["hmac-key-env"]))
        }
    }

    func run() throws {
        _ = try IssuanceRun.identifiers(domains, certName: certName)
        if csrOnly {
            guard acme.isEmpty, perCAEAB.isEmpty, challenge.chosen == 0 else {
                throw InputError.invalidValue(option: "--csr-only", value: "", reason: "contacts no CA: drop --acme and the challenge options")
            }
            return report(try IssuanceRun.writeKeyAndCSR(names: domains, certName: certName, keyType: keyType, directory: outDir, force: force))
        }
        var options = IssuanceRun.Options(names: domains, challenge: challenge)
        (options.acme, options.email, options.agreeToTerms, options.keyType, options.reuseKey) = (acme, email, agreeTOS, keyType, reuseKey)
        (options.certName, options.preferredChain, options.profile, options.caBundle) = (certName, preferredChain, profile, caBundle)
        (options.externalAccountBinding, options.bindings) = (try externalAccountBinding(), try perCABindings())
        (options.dnsPropagationWait, options.dnsResolvers, options.dnsTimeout, options.checkCAA) = (dnsWait, try dns.resolvers(), dns.timeout, !dns.noCAACheck)
        var issuance = IssuanceRun(store: CertificateStore(root: store.path), options: options) { [timeout] in try acmeHTTPClient(caBundle: $0, timeout: timeout) }
        if verbose { issuance.log = { Terminal.note("certs: \($0)") } }
        report(try issuance.run())
    }

    func report(_ report: IssuanceReport) {
        let r = report.result, ids = report.names, directoryURL = r.directoryURL, configPath = report.renewalConfig
        if json {
            Terminal.out(JSON.object([
                ("version", .int(1)),
                ("name", .string(r.name)),
                ("names", .strings(ids)),
                ("acme", .string(directoryURL)),
                ("account", .string(r.accountURL)),
                ("order", .string(r.orderURL)),
                ("serial", .string(r.certificate.serialHex)),
                ("notBefore", .string(RFC3339.format(r.certificate.notBefore))),
                ("notAfter", .string(RFC3339.format(r.certificate.notAfter))),
                ("issuer", .string(r.certificate.issuer.description)),
                ("chainTop", .string(r.chainTop)),
                ("alternateChains", .int(r.alternateChains)),
                ("keyType", .string(r.certificate.publicKey.algorithm.description)),
                ("keyReused", .bool(r.keyReused)),
                ("storeVersion", .int(r.version)),
                ("paths", .object([("fullchain", .string(r.paths.fullchain)), ("chain", .string(r.paths.chain)),
                                   ("cert", .string(r.paths.certificate)), ("key", .string(r.paths.key))])),
                ("renewalConfig", .string(configPath)),
                ("passedOver", .array(r.passedOver.map { .object([("acme", .string($0.directoryURL)), ("reason", .string($0.reason))]) })),
            ]).rendered())
            return
        }
        Terminal.out("issued \(r.name) for \(ids.joined(separator: ", ")), valid until \(RFC3339.format(r.certificate.notAfter))")
        Terminal.out("  issuer \(r.certificate.issuer)\(r.chainTop.isEmpty ? "" : ", chain up to \(r.chainTop)")")
        Terminal.out("  issued by the CA at \(directoryURL)")
        for p in r.passedOver { Terminal.out("  passed over \(p.directoryURL): \(Terminal.escapingControls(p.reason))") }
        Terminal.out("  \(r.paths.fullchain)\n  \(r.paths.key)  (mode 0600\(r.keyReused ? ", reused" : ", new key"))")
        Terminal.out("  renewal settings in \(configPath): `certs renew` repeats this request")
    }

    func report(_ r: CSROnlyReport) {
        if json {
            Terminal.out(JSON.object([("version", .int(1)), ("name", .string(r.name)), ("names", .strings(r.names)),
                                      ("key", .string(r.keyPath)), ("csr", .string(r.csrPath)), ("keyType", .string(r.keyType.rawValue))]).rendered())
            return
        }
        Terminal.out("wrote \(r.keyPath) (mode 0600) and \(r.csrPath) for \(r.names.joined(separator: ", "))")
        Terminal.out("next: send \(r.csrPath) to your CA, then: certs install \(r.name) --cert CERT_FROM_CA --chain CA_BUNDLE --key \(r.keyPath)")
    }
}

/// `--key-type` of `certs request`: any key type parses (so ed25519 gets its own clear refusal,
/// and `--csr-only` may use it), but help lists only those ACME CAs issue for (EC and RSA).
struct ACMEKeyType: ExpressibleByArgument {
    let keyType: KeyType
    init(_ keyType: KeyType) { self.keyType = keyType }
    init?(argument: String) {
        guard let k = KeyType(argument: argument) else { return nil }
        keyType = k
    }
    static var allValueStrings: [String] { KeyType.allCases.filter { $0 != .ed25519 }.map(\.rawValue) }
    var defaultValueDescription: String { keyType.rawValue }
}
