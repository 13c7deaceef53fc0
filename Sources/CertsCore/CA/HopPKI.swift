/// The internal PKI for the hop from the front VM's nginx to services on another VM: its own CA
/// (root → intermediate in `<store>/hop-ca`, keys 0600), separate from the public certificates, so
/// the terminator on the second VM trusts exactly the front's client certificate and nothing a
/// public CA issues. Public CAs no longer issue client-authentication certificates (Let's Encrypt
/// stopped in 2026), and a private hop needs none of them.
///
/// Store entries: `hop-SERVICE` (the terminator's server certificate: the private IP as an IP SAN and
/// a DNS name, see `Stack.Service.hopName`) and `hop-client` (the front nginx's client certificate).
/// Each is recorded in `<store>/renewal/NAME.json` with `"issuer": "hop-ca"` so `certs renew` renews
/// it like any other, from this CA instead of ACME.
public enum HopPKI {
    public static let clientName = "hop-client"
    /// The client certificate's name (its CN and DNS SAN): what the terminator's logs show.
    public static let clientIdentity = "front-nginx.internal"
    public static let defaultDays = 30
    static let caName = "certs internal hop CA"

    public static func caDirectory(store: String) -> String { "\(store)/hop-ca" }
    public static func serverName(_ service: String) -> String { "hop-\(service)" }

    /// One certificate of the hop.
    public struct Entry: Sendable, Equatable {
        public var name: String
        public var clientAuth: Bool
        /// SAN values: DNS names and IP addresses, DNS first (it becomes the CN).
        public var names: [String]
    }

    /// The certificates a stack's hop needs: one server certificate per service reached over the
    /// hop and, when there is any, the front's client certificate.
    public static func entries(for stack: Stack) -> [Entry] {
        let services = stack.services.filter(\.usesHop)
        guard !services.isEmpty else { return [] }
        return services.map { Entry(name: serverName($0.name), clientAuth: false, names: [$0.hopName, $0.host!]) }
            + [Entry(name: clientName, clientAuth: true, names: [clientIdentity])]
    }

    /// What `issue` did for one entry.
    public struct Issued: Sendable {
        public let name: String
        public let notAfter: Int64
        /// false: a current certificate was kept.
        public let issued: Bool
    }

    /// Creates the hop CA when missing, then issues every entry that has no certificate yet or whose
    /// names changed (all of them with `force`), `days` long, and records each for `certs renew`.
    public static func issue(stack: Stack, store: CertificateStore, now: Int64, days: Int = defaultDays, keyType: KeyType = .ecP256,
                             force: Bool = false) throws -> [Issued] {
        let entries = entries(for: stack)
        guard !entries.isEmpty else { throw HopError.noHop }
        let ca = try openOrCreate(store: store, now: now)
        return try entries.map { entry in
            let record = Record(name: entry.name, names: entry.names, clientAuth: entry.clientAuth, days: days, keyType: keyType)
            if !force, let current = try? currentCertificate(entry.name, store: store), (try? Record.load(store: store, name: entry.name)) == record,
               current.notAfter > now {
                return Issued(name: entry.name, notAfter: current.notAfter, issued: false)
            }
            let cert = try issue(record, ca: ca, store: store, now: now)
            try record.save(store: store)
            return Issued(name: entry.name, notAfter: cert.notAfter, issued: true)
        }
    }

    /// Renews one recorded hop certificate (what `certs renew` calls for a `hop-ca` record).
    public static func renew(_ record: Record, store: CertificateStore, now: Int64) throws -> Certificate {
        try issue(record, ca: try LocalCA.open(directory: caDirectory(store: store.root)), store: store, now: now)
    }

    static func issue(_ record: Record, ca: LocalCA, store: CertificateStore, now: Int64) throws -> Certificate {
        let key = try PrivateKey.generate(record.keyType)
        let names = try record.names.map { try GeneralName(parsing: $0) }
        let cert = try ca.issue(names: names, key: key, notBefore: now - 60, notAfter: now + Int64(record.days) * 86400, clientAuth: record.clientAuth)
        _ = try store.install(name: record.name, key: key, certificate: cert, chain: [ca.intermediate])
        return cert
    }

    public static func openOrCreate(store: CertificateStore, now: Int64) throws -> LocalCA {
        let dir = caDirectory(store: store.root)
        if FileSystem.exists("\(dir)/root.pem") { return try LocalCA.open(directory: dir) }
        return try LocalCA.create(directory: dir, name: caName, now: now)
    }

    static func currentCertificate(_ name: String, store: CertificateStore) throws -> Certificate {
        let path = store.paths(name).certificate
        return try Certificate.parseAll(try FileSystem.read(path), source: path)[0]
    }

    /// `<store>/renewal/NAME.json` for a hop certificate: what to issue again.
    public struct Record: Sendable, Equatable {
        public var name: String
        public var names: [String]
        public var clientAuth: Bool
        public var days: Int
        public var keyType: KeyType

        public static let issuer = "hop-ca"

        public var json: JSON {
            .object([
                ("version", .int(1)),
                ("name", .string(name)),
                ("issuer", .string(Self.issuer)),
                ("names", .strings(names)),
                ("usage", .string(clientAuth ? "client" : "server")),
                ("days", .int(days)),
                ("keyType", .string(keyType.rawValue)),
            ])
        }

        /// The record as `json` writes it; optional fields, so a missing one gets its own message.
        struct Stored: Decodable {
            let issuer: String?
            let name: String?
            let names: [String]?
            let usage: String?
            let days: Int64?
            let keyType: String?
        }

        /// The record for `name`, nil when `name`'s renewal configuration is not a hop one.
        public static func loadIfHop(store: CertificateStore, name: String) throws -> Record? {
            let p = RenewalConfig.path(store: store, name: name)
            guard FileSystem.exists(p) else { return nil }
            // Unreadable, not JSON or not this shape: not decided here; RenewalConfig.load reports it.
            guard let bytes = try? FileSystem.read(p, limit: 1 << 20), let stored = try? JSONParser.decode(Stored.self, from: bytes),
                  stored.issuer == issuer else { return nil }
            func bad(_ what: String) -> InputError { .malformed(path: p, what: "hop renewal record", detail: what) }
            guard let n = stored.name, n == name else { throw bad("name does not match the file") }
            let names = stored.names ?? []
            guard !names.isEmpty else { throw bad("no names") }
            guard let days = stored.days, (1...825).contains(days) else { throw bad("days must be 1…825") }
            guard let kt = stored.keyType, let keyType = KeyType(rawValue: kt) else { throw bad("bad keyType") }
            return Record(name: n, names: names, clientAuth: stored.usage == "client", days: Int(days), keyType: keyType)
        }

        static func load(store: CertificateStore, name: String) throws -> Record? { try loadIfHop(store: store, name: name) }

        func save(store: CertificateStore) throws {
            try FileSystem.makeDirectories("\(store.root)/renewal", mode: 0o755)
            try FileSystem.writeAtomically(Array((json.rendered() + "\n").utf8), to: RenewalConfig.path(store: store, name: name), mode: 0o644, existing: .replace)
        }
    }
}

public enum HopError: CertsFailure, Equatable {
    case noHop

    public var kind: FailureKind { .input }
    public var description: String {
        switch self {
        case .noHop: return "no service in the stack is reached over the hop (a service with host: and without tls: plain)"
        }
    }
}
