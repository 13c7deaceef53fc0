/// The first-run bootstrap of `certs deploy`: certificates for the domains that have none yet,
/// by the stack's tls.source (the local CA; ACME over HTTP-01 through the webroot the bootstrap
/// config serves, recorded for `certs renew`; bought ones cannot be obtained). The `Deployer`
/// calls `obtain` between the HTTP-only config and the HTTPS one.
public struct DeployBootstrap {
    public let stack: Stack
    public let store: CertificateStore
    public var clock: Clock = .system
    /// The ACME directory URL (asked only when a certificate must come from ACME; it may throw
    /// when none is configured).
    public var directoryURL: () throws -> String
    /// Where challenge files go on this machine, absolute.
    public var challengeDirectory: String
    public var agreeToTerms = false
    /// Resolvers for the CAA check before ordering (empty: resolv.conf).
    public var dnsResolvers: [DNSServer] = []
    /// Roots for the ACME server's HTTPS (absolute; recorded for renew), nil: the system store.
    public var caBundle: String?
    public var httpClient: (_ caBundle: String?) throws -> HTTPClient

    public init(stack: Stack, store: CertificateStore, directoryURL: @escaping () throws -> String, challengeDirectory: String,
                httpClient: @escaping (_ caBundle: String?) throws -> HTTPClient) {
        self.stack = stack
        self.store = store
        self.directoryURL = directoryURL
        self.challengeDirectory = challengeDirectory
        self.httpClient = httpClient
    }

    /// Obtains and installs a certificate for each domain; returns one line per domain saying how.
    public func obtain(_ domains: [Stack.Domain]) throws -> [String] {
        let now = clock.now()
        let certStore = store
        switch stack.tls.source {
        case .local:
            let ca = try LocalCA.open(store: certStore.root)
            return try domains.map { domain in
                let key = try PrivateKey.generate(stack.tls.keyType)
                let names = try domain.allNames.map { try GeneralName(parsing: $0) }
                let cert = try ca.issue(names: names, key: key, notBefore: now - 60, notAfter: now + 90 * 86400)
                _ = try certStore.install(name: domain.certificate, key: key, certificate: cert, chain: [ca.intermediate])
                return "issued by the local CA until \(RFC3339.format(cert.notAfter))"
            }
        case .acme:
            let directoryURL = try directoryURL()
            try FileSystem.makeDirectories(challengeDirectory)
            let issuer = ACMEIssuer(store: certStore, http: try httpClient(caBundle))
            return try domains.map { domain in
                let ids = try domain.allNames.map { try ACMEIdentifier(parsing: $0) }
                var request = IssuanceRequest(directoryURL: directoryURL, identifiers: ids, method: .webroot(challengeDirectory), email: stack.tls.email,
                                              agreeToTerms: agreeToTerms, keyType: stack.tls.keyType, name: domain.certificate)
                request.dnsResolvers = dnsResolvers
                let result = try issuer.issue(request)
                try RenewalConfig(name: domain.certificate, directoryURL: directoryURL, names: ids.map(\.value), method: .webroot(challengeDirectory),
                                  keyType: stack.tls.keyType, reuseKey: false, email: stack.tls.email, account: result.accountURL,
                                  preferredChain: nil, caBundle: caBundle).save(store: certStore)
                return "issued over ACME until \(RFC3339.format(result.certificate.notAfter)); `certs renew` keeps it current"
            }
        case .bought:
            throw InputError.invalidValue(option: "tls.source", value: "bought",
                                          reason: "no certificate for \(domains.map(\.certificate).joined(separator: ", ")) yet: install the one your CA issued with certs install")
        }
    }
}
