/// ACME directory shortcuts: the only CA URLs `certs` knows by name. There is no default CA.
public enum ACMEShortcut {
    public static func resolve(_ value: String) throws -> String {
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

/// One `certs request`: the CA list (given, or the one a previous request of NAME recorded), the
/// External Account Bindings per CA, the order over ACME with fallback, installation in
/// `<store>/live/NAME` and the renewal record `certs renew` repeats. Returns an `IssuanceReport`
/// for the command to format; `clock` is the time the report is made at (days left), so tests pin it.
///
/// `writeKeyAndCSR` is `--csr-only`: a new key (0600) and CSR for a CA you buy from, no CA contacted.
public struct IssuanceRun {
    /// One `--eab URL,kid=…,hmac-key-…=…`: the binding for the CA at `directory` (as given).
    public struct Binding {
        public var directory: String
        public var keyID: String
        public var macKey: [UInt8]
        public init(directory: String, keyID: String, macKey: [UInt8]) {
            (self.directory, self.keyID, self.macKey) = (directory, keyID, macKey)
        }
    }

    public struct Options {
        /// The names as given (domain names or IP addresses); the first names the certificate.
        public var names: [String]
        /// `--acme` as given (URLs or shortcuts), in order of preference; empty: the CAs a previous
        /// request of the same name recorded.
        public var acme: [String] = []
        public var challenge: Challenge
        public var email: String?
        public var agreeToTerms = false
        /// `--eab-kid` with its MAC key: for every CA without its own `bindings` entry.
        public var externalAccountBinding: (keyID: String, macKey: [UInt8])?
        public var bindings: [Binding] = []
        public var keyType: KeyType = .default
        public var reuseKey = false
        /// Store name (nil: from the first name, * as _wildcard).
        public var certName: String?
        public var preferredChain: String?
        public var dnsPropagationWait: Double = 0
        public var dnsResolvers: [DNSServer] = []
        public var dnsTimeout: Double = 120
        public var checkCAA = true
        /// nil: the previous request's profile, if any.
        public var profile: String?
        /// Roots for the CA's HTTPS (nil: the previous request's, else the system store).
        public var caBundle: String?

        public init(names: [String], challenge: Challenge) {
            self.names = names
            self.challenge = challenge
        }
    }

    /// The challenge options as given: exactly one of a webroot, the standalone server, the
    /// TLS-ALPN responder or a DNS hook must be chosen.
    public struct Challenge {
        public var webroot: String?
        public var standalone = false
        public var httpAddress = "::"
        public var httpPort = 80
        public var tlsALPN = false
        public var tlsAddress = "::"
        public var tlsPort = 443
        public var dnsHook: String?

        public init() {}

        public var chosen: Int { [webroot != nil, standalone, dnsHook != nil, tlsALPN].filter { $0 }.count }

        /// The one method chosen, its directory or address and port checked.
        public func method() throws -> ChallengeMethod {
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
    }

    public let store: CertificateStore
    public var options: Options
    public var clock: Clock
    /// The HTTP client for the CA, given the CA bundle chosen (made once the request is valid).
    public var httpClient: (_ caBundle: String?) throws -> HTTPClient
    /// Progress (--verbose): the ACME exchange.
    public var log: ((String) -> Void)?

    public init(store: CertificateStore, options: Options, clock: Clock = .system,
                httpClient: @escaping (_ caBundle: String?) throws -> HTTPClient) {
        self.store = store
        self.options = options
        self.clock = clock
        self.httpClient = httpClient
    }

    /// The parsed identifiers and the store name they get.
    public static func identifiers(_ names: [String], certName: String?) throws -> (ids: [ACMEIdentifier], name: String) {
        guard !names.isEmpty else { throw ACMEError.invalidRequest("give at least one domain name") }
        let ids = try names.map { try ACMEIdentifier(parsing: $0) }
        let name = certName ?? CertificateStore.name(for: ids.map(\.generalName))
        try CertificateStore.validate(name: name)
        return (ids, name)
    }

    /// What a request is made of once every choice is taken: the CAs in order, the bindings by
    /// directory, the CA bundle and profile (each given, or the previous request's).
    public struct Plan {
        public let ids: [ACMEIdentifier]
        public let name: String
        public let method: ChallengeMethod
        public let directories: [String]
        public let bindings: [String: (keyID: String, macKey: [UInt8])]
        public let caBundle: String?
        public let profile: String?
    }

    /// The choices, validated, before any CA is contacted.
    public func plan() throws -> Plan {
        let (ids, name) = try Self.identifiers(options.names, certName: options.certName)
        if options.keyType == .ed25519 {
            throw InputError.invalidValue(option: "--key-type", value: options.keyType.rawValue, reason: "ACME CAs issue for EC and RSA keys only; use ec-p256 (default), ec-p384 or rsa-2048…")
        }
        if let email = options.email, !email.contains("@") || email.contains(where: { $0 == " " || $0 == "," || $0 == "\n" }) || email.hasPrefix("mailto:") {
            throw InputError.invalidValue(option: "--email", value: email, reason: "give one plain address (name@example.com)")
        }
        let method = try options.challenge.method()
        try IssuanceRequest.validate(identifiers: ids, method: method)
        let previous = try? RenewalConfig.load(store: store, name: name)
        let acmeValues = options.acme.isEmpty ? (previous?.directories ?? []) : options.acme
        guard !acmeValues.isEmpty else {
            throw InputError.invalidValue(option: "--acme", value: "", reason: "give the CA's ACME directory URL (or letsencrypt / letsencrypt-staging); certs has no default CA")
        }
        let directories = try acmeValues.map { try ACMEShortcut.resolve($0) }
        if let twice = directories.first(where: { d in directories.filter { $0 == d }.count > 1 }) {
            throw InputError.invalidValue(option: "--acme", value: twice, reason: "given twice")
        }
        var bindings: [String: (keyID: String, macKey: [UInt8])] = [:]
        for b in options.bindings {
            func bad(_ reason: String) -> InputError { .invalidValue(option: "--eab", value: b.directory, reason: reason) }
            let url = try ACMEShortcut.resolve(b.directory)
            guard directories.contains(url) else { throw bad("not one of the --acme CAs") }
            guard bindings[url] == nil else { throw bad("given twice") }
            bindings[url] = (b.keyID, b.macKey)
        }
        return Plan(ids: ids, name: name, method: method, directories: directories, bindings: bindings,
                    caBundle: options.caBundle ?? previous?.caBundle, profile: options.profile ?? previous?.profile)
    }

    public func run() throws -> IssuanceReport {
        let plan = try plan()
        var issuer = ACMEIssuer(store: store, http: try httpClient(plan.caBundle))
        if let log { issuer.log = log }
        var request = IssuanceRequest(directoryURL: plan.directories[0], identifiers: plan.ids, method: plan.method, email: options.email,
                                      agreeToTerms: options.agreeToTerms, externalAccountBinding: options.externalAccountBinding,
                                      keyType: options.keyType, reuseKey: options.reuseKey, name: plan.name, preferredChain: options.preferredChain,
                                      dnsPropagationWait: options.dnsPropagationWait, profile: plan.profile)
        (request.dnsResolvers, request.dnsTimeout, request.checkCAA) = (options.dnsResolvers, options.dnsTimeout, options.checkCAA)
        let result = try issuer.issue(request, directories: plan.directories, bindings: plan.bindings)
        // The record `certs renew` repeats: the CA that issued, and the whole list to fall back on.
        var config = RenewalConfig(name: plan.name, directoryURL: result.directoryURL, names: plan.ids.map(\.value), method: plan.method,
                                   keyType: options.keyType, reuseKey: options.reuseKey, email: options.email, account: result.accountURL,
                                   preferredChain: options.preferredChain, caBundle: plan.caBundle.map(FileSystem.absolutePath), profile: plan.profile)
        if plan.directories.count > 1 { config.acmeList = plan.directories }
        try config.save(store: store)
        return IssuanceReport(result: result, names: plan.ids.map(\.value), renewalConfig: RenewalConfig.path(store: store, name: plan.name),
                              daysLeft: daysBetween(clock.now(), result.certificate.notAfter))
    }

    /// `--csr-only`: a new key (0600) and a CSR for the names in `directory` as NAME.key and
    /// NAME.csr, both refused when either exists unless `force`; no CA is contacted.
    public static func writeKeyAndCSR(names: [String], certName: String?, keyType: KeyType, directory: String, force: Bool) throws -> CSROnlyReport {
        let (ids, name) = try identifiers(names, certName: certName)
        var seen = Set<ACMEIdentifier>()
        for id in ids where !seen.insert(id).inserted { throw InputError.invalidValue(option: "domain", value: id.value, reason: "given twice") }
        guard FileSystem.isDirectory(directory) else { throw OutputError.directoryMissing(path: directory) }
        let keyPath = "\(directory)/\(name).key", csrPath = "\(directory)/\(name).csr"
        for p in [keyPath, csrPath] where !force && FileSystem.exists(p) { throw OutputError.exists(path: p) }
        let key = try PrivateKey.generate(keyType)
        let firstDNS = ids.first { $0.type == "dns" }?.value
        let csr = try CertificateSigningRequest.create(key: key, subject: DistinguishedName(commonName: firstDNS.flatMap { $0.utf8.count <= 64 ? $0 : nil }),
                                                       subjectAlternativeNames: ids.map(\.generalName))
        let mode: FileSystem.Existing = force ? .replace : .refuse
        try FileSystem.writeAtomically(try key.pem(), to: keyPath, mode: 0o600, existing: mode)
        try FileSystem.writeAtomically(try csr.pem(), to: csrPath, mode: 0o644, existing: mode)
        return CSROnlyReport(name: name, names: ids.map(\.value), keyPath: keyPath, csrPath: csrPath, keyType: keyType)
    }
}

/// The result of `certs request`: what was issued and installed, and where the renewal record is.
public struct IssuanceReport {
    public let result: IssuanceResult
    /// The names as requested (the order of the command line).
    public let names: [String]
    public let renewalConfig: String
    /// Days from the run's clock to the new certificate's notAfter (`daysBetween`).
    public let daysLeft: Int
}

/// The result of `certs request --csr-only`.
public struct CSROnlyReport {
    public let name: String
    public let names: [String]
    public let keyPath: String
    public let csrPath: String
    public let keyType: KeyType
}
