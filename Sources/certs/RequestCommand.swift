import ArgumentParser
import CertsCore

/// ACME directory shortcuts: the only CA URLs `certs` knows by name. There is no default CA.
enum ACMEShortcut {
    static func resolve(_ value: String) throws -> String {
        switch value.lowercased() {
        case "letsencrypt", "le": return "https://acme-v02.api.letsencrypt.org/directory"
        case "letsencrypt-staging", "le-staging": return "https://acme-staging-v02.api.letsencrypt.org/directory"
        default:
            guard value.hasPrefix("https://") || value.hasPrefix("http://") else {
                throw InputError.invalidValue(option: "--acme", value: value, reason: "give the CA's directory URL (https://…/directory), or letsencrypt / letsencrypt-staging")
            }
            return value
        }
    }
}

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

    func identifiers() throws -> [ACMEIdentifier] {
        guard !domains.isEmpty else { throw ACMEError.invalidRequest("give at least one domain name") }
        return try domains.map { try ACMEIdentifier(parsing: $0) }
    }

    func method() throws -> ChallengeMethod {
        let chosen = [webroot != nil, standalone, dnsHook != nil, tlsALPN].filter { $0 }.count
        guard chosen == 1 else {
            throw InputError.invalidValue(option: "challenge", value: chosen == 0 ? "none" : "several",
                                          reason: "choose exactly one of --webroot DIR, --standalone, --tls-alpn or --dns-hook CMD")
        }
        if let webroot {
            guard FileSystem.isDirectory(webroot) else { throw OutputError.directoryMissing(path: webroot) }
            return .webroot(webroot)
        }
        if let dnsHook { return .dnsHook(dnsHook) }
        if tlsALPN {
            guard tlsPort > 0 && tlsPort < 65536 else { throw InputError.invalidValue(option: "--tls-port", value: String(tlsPort), reason: "not a port") }
            guard IPAddress.normalize(tlsAddress) != nil else { throw InputError.invalidValue(option: "--tls-address", value: tlsAddress, reason: "not an IP address") }
            return .tlsALPN(address: tlsAddress, port: UInt16(tlsPort))
        }
        guard httpPort > 0 && httpPort < 65536 else { throw InputError.invalidValue(option: "--http-port", value: String(httpPort), reason: "not a port") }
        guard IPAddress.normalize(httpAddress) != nil else { throw InputError.invalidValue(option: "--http-address", value: httpAddress, reason: "not an IP address") }
        return .standalone(address: httpAddress, port: UInt16(httpPort))
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

    /// `--eab URL,kid=KID,hmac-key-file=FILE|hmac-key-env=NAME`, by directory URL; each URL must be one of `directories`.
    func perCABindings(directories: [String]) throws -> [String: (keyID: String, macKey: [UInt8])] {
        var out: [String: (keyID: String, macKey: [UInt8])] = [:]
        for value in perCAEAB {
            let parts = value.split(separator: ",").map(String.init)
            func bad(_ reason: String) -> InputError { .invalidValue(option: "--eab", value: parts.first ?? value, reason: reason) }
            guard let first = parts.first else { throw bad("give URL,kid=KID,hmac-key-file=FILE (or hmac-key-env=NAME)") }
            let url = try ACMEShortcut.resolve(first)
            guard directories.contains(url) else { throw bad("not one of the --acme CAs") }
            guard out[url] == nil else { throw bad("given twice") }
            var fields: [String: String] = [:]
            for part in parts.dropFirst() {
                guard let eq = part.firstIndex(of: "="), ["kid", "hmac-key-file", "hmac-key-env"].contains(String(part[..<eq])) else {
                    throw bad("unknown field \(part.split(separator: "=").first.map(String.init) ?? part); use kid=, hmac-key-file= or hmac-key-env=")
                }
                fields[String(part[..<eq])] = String(part[part.index(after: eq)...])
            }
            guard let kid = fields["kid"], !kid.isEmpty else { throw bad("no kid=KID") }
            out[url] = (kid, try Self.macKey(file: fields["hmac-key-file"], environment: fields["hmac-key-env"]))
        }
        return out
    }

    func run() throws {
        let ids = try identifiers()
        let name = certName ?? CertificateStore.name(for: ids.map(\.generalName))
        try CertificateStore.validate(name: name)
        if csrOnly { try writeCSR(ids, name: name); return }

        let certStore = CertificateStore(root: store.path)
        if keyType == .ed25519 {
            throw InputError.invalidValue(option: "--key-type", value: keyType.rawValue, reason: "ACME CAs issue for EC and RSA keys only; use ec-p256 (default), ec-p384 or rsa-2048…")
        }
        if let email, !email.contains("@") || email.contains(where: { $0 == " " || $0 == "," || $0 == "\n" }) || email.hasPrefix("mailto:") {
            throw InputError.invalidValue(option: "--email", value: email, reason: "give one plain address (name@example.com)")
        }
        let method = try method()
        try IssuanceRequest.validate(identifiers: ids, method: method)
        let previous = try? RenewalConfig.load(store: certStore, name: name)
        let acmeValues = acme.isEmpty ? (previous?.directories ?? []) : acme
        guard !acmeValues.isEmpty else {
            throw InputError.invalidValue(option: "--acme", value: "", reason: "give the CA's ACME directory URL (or letsencrypt / letsencrypt-staging); certs has no default CA")
        }
        let directories = try acmeValues.map { try ACMEShortcut.resolve($0) }
        if let twice = directories.first(where: { d in directories.filter { $0 == d }.count > 1 }) {
            throw InputError.invalidValue(option: "--acme", value: twice, reason: "given twice")
        }
        let directoryURL = directories[0]
        let eab = try externalAccountBinding()
        let bindings = try perCABindings(directories: directories)
        let bundle = caBundle ?? previous?.caBundle
        var issuer = ACMEIssuer(store: certStore, http: try acmeHTTPClient(caBundle: bundle, timeout: timeout))
        if verbose { issuer.log = { Terminal.note("certs: \($0)") } }
        var request = IssuanceRequest(directoryURL: directoryURL, identifiers: ids, method: method, email: email, agreeToTerms: agreeTOS,
                                      externalAccountBinding: eab, keyType: keyType, reuseKey: reuseKey, name: name,
                                      preferredChain: preferredChain, dnsPropagationWait: dnsWait, profile: profile ?? previous?.profile)
        try dns.apply(to: &request)
        let result = try issuer.issue(request, directories: directories, bindings: bindings)
        var config = RenewalConfig(name: name, directoryURL: result.directoryURL, names: ids.map(\.value), method: method, keyType: keyType,
                                   reuseKey: reuseKey, email: email, account: result.accountURL, preferredChain: preferredChain,
                                   caBundle: bundle.map(absolutePath), profile: profile ?? previous?.profile)
        if directories.count > 1 { config.acmeList = directories }
        try config.save(store: certStore)
        report(result, ids: ids, directoryURL: result.directoryURL, configPath: RenewalConfig.path(store: certStore, name: name))
    }

    func report(_ r: IssuanceResult, ids: [ACMEIdentifier], directoryURL: String, configPath: String) {
        if json {
            Terminal.out(JSON.object([
                ("version", .int(1)),
                ("name", .string(r.name)),
                ("names", .strings(ids.map(\.value))),
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
        Terminal.out("issued \(r.name) for \(ids.map(\.value).joined(separator: ", ")), valid until \(RFC3339.format(r.certificate.notAfter))")
        Terminal.out("  issuer \(r.certificate.issuer)\(r.chainTop.isEmpty ? "" : ", chain up to \(r.chainTop)")")
        Terminal.out("  issued by the CA at \(directoryURL)")
        for p in r.passedOver { Terminal.out("  passed over \(p.directoryURL): \(Terminal.escapingControls(p.reason))") }
        Terminal.out("  \(r.paths.fullchain)\n  \(r.paths.key)  (mode 0600\(r.keyReused ? ", reused" : ", new key"))")
        Terminal.out("  renewal settings in \(configPath): `certs renew` repeats this request")
    }

    func writeCSR(_ ids: [ACMEIdentifier], name: String) throws {
        guard acme.isEmpty, perCAEAB.isEmpty, webroot == nil, !standalone, !tlsALPN, dnsHook == nil else {
            throw InputError.invalidValue(option: "--csr-only", value: "", reason: "contacts no CA: drop --acme and the challenge options")
        }
        var seen = Set<ACMEIdentifier>()
        for id in ids where !seen.insert(id).inserted { throw InputError.invalidValue(option: "domain", value: id.value, reason: "given twice") }
        guard FileSystem.isDirectory(outDir) else { throw OutputError.directoryMissing(path: outDir) }
        let keyPath = "\(outDir)/\(name).key", csrPath = "\(outDir)/\(name).csr"
        for p in [keyPath, csrPath] where !force && FileSystem.exists(p) { throw OutputError.exists(path: p) }
        let key = try PrivateKey.generate(keyType)
        let firstDNS = ids.first { $0.type == "dns" }?.value
        let csr = try CertificateSigningRequest.create(key: key, subject: DistinguishedName(commonName: firstDNS.flatMap { $0.utf8.count <= 64 ? $0 : nil }),
                                                       subjectAlternativeNames: ids.map(\.generalName))
        let mode: FileSystem.Existing = force ? .replace : .refuse
        try FileSystem.writeAtomically(try key.pem(), to: keyPath, mode: 0o600, existing: mode)
        try FileSystem.writeAtomically(try csr.pem(), to: csrPath, mode: 0o644, existing: mode)
        if json {
            Terminal.out(JSON.object([("version", .int(1)), ("name", .string(name)), ("names", .strings(ids.map(\.value))),
                                      ("key", .string(keyPath)), ("csr", .string(csrPath)), ("keyType", .string(keyType.rawValue))]).rendered())
            return
        }
        Terminal.out("wrote \(keyPath) (mode 0600) and \(csrPath) for \(ids.map(\.value).joined(separator: ", "))")
        Terminal.out("next: send \(csrPath) to your CA, then: certs install \(name) --cert CERT_FROM_CA --chain CA_BUNDLE --key \(keyPath)")
    }
}

func absolutePath(_ path: String) -> String {
    if path.hasPrefix("/") { return path }
    var buffer = [CChar](repeating: 0, count: 4096)
    guard getcwd(&buffer, buffer.count) != nil else { return path }
    return String(cString: buffer) + "/" + path
}

#if canImport(Glibc)
import Glibc
#endif

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
