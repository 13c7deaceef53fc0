/// `certs ca issue`: a certificate from the local CA, installed in `<store>/live/NAME` with a new
/// key. The validity is decided at `clock`'s time: it starts 60 s back (clock skew) unless
/// `validFrom` is given, and `days` count from now (or from `validFrom`), so `--days 6` shows 6
/// days left.
public struct LocalCAIssuance {
    public var names: [String]
    public var certName: String?
    public var keyType: KeyType = .ecP256
    public var days: Int
    public var validFrom: Int64?
    /// An http:// URL the certificate names as its CRL distribution point.
    public var crlURL: String?

    public init(names: [String], days: Int) {
        self.names = names
        self.days = days
    }

    public struct Issued {
        public let name: String
        public let names: [GeneralName]
        public let certificate: Certificate
        public let paths: CertificateStore.Paths
    }

    public func run(store: String, clock: Clock = .system) throws -> Issued {
        let parsed = try names.map { try GeneralName(parsing: $0) }
        let ca = try LocalCA.open(store: store)
        let now = clock.now()
        let start = validFrom ?? now - 60
        let name = certName ?? CertificateStore.name(for: parsed)
        try CertificateStore.validate(name: name)
        let key = try PrivateKey.generate(keyType)
        let end = (validFrom == nil ? now : start) + Int64(days) * 86400
        if let crlURL {
            let url = try HTTPURL(crlURL)
            guard !crlURL.contains(",") else { throw InputError.invalidValue(option: "--crl-url", value: crlURL, reason: "percent-encode the comma") }
            guard !url.isHTTPS else { throw InputError.invalidValue(option: "--crl-url", value: crlURL, reason: "CRLs are fetched over http:// (RFC 5280 4.2.1.13)") }
        }
        let cert = try ca.issue(names: parsed, key: key, notBefore: start, notAfter: end, crlURL: crlURL)
        let paths = try CertificateStore(root: store).install(name: name, key: key, certificate: cert, chain: [ca.intermediate])
        return Issued(name: name, names: parsed, certificate: cert, paths: paths)
    }
}

/// `certs ca crl`: the local CA's CRL, signed at `clock`'s time, written atomically to `path`.
/// Each run replaces the CRL this CA signed before; any other file only with `force`.
public struct LocalCACRLPublishing {
    public var path: String
    public var days = 7
    public var pem = false
    public var force = false

    public init(path: String) { self.path = path }

    public struct Published {
        public let path: String
        public let revoked: Int
        public let thisUpdate: Int64
        public let nextUpdate: Int64
    }

    public func run(store: String, clock: Clock = .system) throws -> Published {
        let ca = try LocalCA.open(store: store)
        let now = clock.now()
        let bytes = try ca.crl(now: now, days: days, pem: pem)
        if FileSystem.exists(path), !force {
            let previous = try? RevocationList(bytes: try FileSystem.read(path, limit: RevocationChecker.maximumSize), source: path)
            guard previous?.isSigned(by: ca.intermediate) == true else { throw OutputError.exists(path: path) }
        }
        try FileSystem.writeAtomically(bytes, to: path, mode: 0o644, existing: .replace)
        return Published(path: path, revoked: try ca.revoked().count, thisUpdate: now, nextUpdate: now + Int64(days) * 86400)
    }
}
