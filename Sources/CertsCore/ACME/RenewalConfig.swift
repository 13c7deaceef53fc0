/// How challenges are answered.
public enum ChallengeMethod: Sendable, Equatable {
    /// Write `.well-known/acme-challenge/TOKEN` under this directory (served by the user's web server).
    case webroot(String)
    /// Serve HTTP-01 from the built-in server on address:port.
    case standalone(address: String, port: UInt16)
    /// DNS-01 through a user command (CERTS_DNS_ACTION/NAME/VALUE in its environment).
    case dnsHook(String)
    /// Serve TLS-ALPN-01 (RFC 8737) from the built-in responder on address:port.
    case tlsALPN(address: String, port: UInt16)

    public var name: String {
        switch self {
        case .webroot: return "webroot"
        case .standalone: return "standalone"
        case .dnsHook: return "dns-hook"
        case .tlsALPN: return "tls-alpn"
        }
    }
    var challengeType: String {
        switch self {
        case .dnsHook: return "dns-01"
        case .tlsALPN: return "tls-alpn-01"
        case .webroot, .standalone: return "http-01"
        }
    }
}

/// `<store>/renewal/NAME.json`: what `certs request` did, so `certs renew` can do it again.
public struct RenewalConfig: Equatable {
    public var name: String
    public var directoryURL: String
    public var names: [String]
    public var method: ChallengeMethod
    public var keyType: KeyType
    public var reuseKey: Bool
    public var email: String?
    public var account: String?
    public var preferredChain: String?
    public var caBundle: String?
    public var profile: String?
    /// Every CA to try, in order of preference (`--acme` repeated); `directoryURL` is the one
    /// that issued the current certificate. Empty: only `directoryURL`.
    public var acmeList: [String] = []

    /// The CAs to try, in order.
    public var directories: [String] { acmeList.isEmpty ? [directoryURL] : acmeList }

    public init(name: String, directoryURL: String, names: [String], method: ChallengeMethod, keyType: KeyType, reuseKey: Bool,
                email: String?, account: String?, preferredChain: String?, caBundle: String?, profile: String? = nil) {
        self.profile = profile
        self.name = name
        self.directoryURL = directoryURL
        self.names = names
        self.method = method
        self.keyType = keyType
        self.reuseKey = reuseKey
        self.email = email
        self.account = account
        self.preferredChain = preferredChain
        self.caBundle = caBundle
    }

    public static func path(store: CertificateStore, name: String) -> String { "\(store.root)/renewal/\(name).json" }

    public var json: JSON {
        var challenge: [(String, JSON)] = [("method", .string(method.name))]
        switch method {
        case .webroot(let dir): challenge.append(("webroot", .string(dir)))
        case .standalone(let address, let port), .tlsALPN(let address, let port): challenge += [("address", .string(address)), ("port", .int(Int(port)))]
        case .dnsHook(let cmd): challenge.append(("hook", .string(cmd)))
        }
        return .object([
            ("version", .int(1)),
            ("name", .string(name)),
            ("acme", .string(directoryURL)),
            ("names", .strings(names)),
            ("challenge", .object(challenge)),
            ("keyType", .string(keyType.rawValue)),
            ("reuseKey", .bool(reuseKey)),
            ("email", .optional(email)),
            ("account", .optional(account)),
            ("preferredChain", .optional(preferredChain)),
            ("caBundle", .optional(caBundle)),
            ("profile", .optional(profile)),
            ("acmeList", .strings(directories)),
        ])
    }

    /// The record as `json` writes it (version 1). Fields are optional here so that a missing one
    /// gets its own message ("no names") rather than the decoder's.
    struct Stored: Decodable {
        struct Challenge: Decodable { let method: String?; let webroot: String?; let port: Int64?; let address: String?; let hook: String? }
        let name: String?
        let acme: String?
        let names: [String]?
        let challenge: Challenge?
        let keyType: String?
        let reuseKey: Bool?
        let email: String?
        let account: String?
        let preferredChain: String?
        let caBundle: String?
        let profile: String?
        let acmeList: [String]?
    }

    public init(json: JSON, source: String) throws {
        let stored: Stored
        do { stored = try JSONParser.decode(Stored.self, from: Array(json.rendered(pretty: false).utf8)) } catch let e as JSONParseError {
            throw InputError.malformed(path: source, what: "renewal configuration", detail: e.description)
        }
        try self.init(stored, source: source)
    }

    init(_ stored: Stored, source: String) throws {
        func bad(_ what: String) -> InputError { .malformed(path: source, what: "renewal configuration", detail: what) }
        guard let name = stored.name else { throw bad("no name") }
        guard let acme = stored.acme else { throw bad("no acme URL") }
        let names = stored.names ?? []
        guard !names.isEmpty else { throw bad("no names") }
        let c = stored.challenge
        let method: ChallengeMethod
        switch c?.method {
        case "webroot":
            guard let d = c?.webroot else { throw bad("webroot without a directory") }
            method = .webroot(d)
        case "standalone":
            let port = c?.port ?? 80
            guard port > 0 && port < 65536 else { throw bad("bad port") }
            method = .standalone(address: c?.address ?? "::", port: UInt16(port))
        case "dns-hook":
            guard let h = c?.hook else { throw bad("dns-hook without a command") }
            method = .dnsHook(h)
        case "tls-alpn":
            let port = c?.port ?? 443
            guard port > 0 && port < 65536 else { throw bad("bad port") }
            method = .tlsALPN(address: c?.address ?? "::", port: UInt16(port))
        default: throw bad("unknown challenge method")
        }
        guard let kt = stored.keyType, let keyType = KeyType(rawValue: kt) else { throw bad("bad key_type") }
        self.init(name: name, directoryURL: acme, names: names, method: method, keyType: keyType, reuseKey: stored.reuseKey ?? false,
                  email: stored.email, account: stored.account, preferredChain: stored.preferredChain,
                  caBundle: stored.caBundle, profile: stored.profile)
        acmeList = stored.acmeList ?? []
        if acmeList == [acme] { acmeList = [] }
    }

    public static func load(store: CertificateStore, name: String) throws -> RenewalConfig {
        let p = path(store: store, name: name)
        guard FileSystem.exists(p) else { throw InputError.notFound(path: p) }
        let bytes = try FileSystem.read(p, limit: 1 << 20)
        let stored: Stored
        do { stored = try JSONParser.decode(Stored.self, from: bytes) } catch let e as JSONParseError {
            throw InputError.malformed(path: p, what: "renewal configuration", detail: e.description)
        }
        return try RenewalConfig(stored, source: p)
    }

    public func save(store: CertificateStore) throws {
        try FileSystem.makeDirectories("\(store.root)/renewal", mode: 0o755)
        FileSystem.removeStaleTemporaries(in: "\(store.root)/renewal")
        try FileSystem.writeAtomically(Array((json.rendered() + "\n").utf8), to: Self.path(store: store, name: name), mode: 0o644, existing: .replace)
    }
}

/// When a certificate is due for renewal.
public enum RenewalPolicy {
    /// Due in the last third of its lifetime, or within `days` of expiry when given.
    public static func isDue(notBefore: Int64, notAfter: Int64, now: Int64, days: Int? = nil) -> Bool {
        if let days { return notAfter - now <= Int64(days) * 86400 }
        let lifetime = notAfter - notBefore
        return now >= notAfter - lifetime / 3
    }

    /// The ARI certificate identifier (RFC 9773 §4.1): base64url(AKI keyIdentifier) "." base64url(serial DER bytes).
    public static func ariCertificateID(_ certificate: Certificate) -> String? {
        guard let aki = certificate.authorityKeyIdentifier else { return nil }
        var serial: [UInt8] = []
        var hex = Array(certificate.serialHex.replacing(":", with: "").utf8)
        if hex.count % 2 == 1 { hex.insert(48, at: 0) }
        var i = 0
        while i + 1 < hex.count {
            guard let b = UInt8(String(decoding: hex[i...i + 1], as: UTF8.self), radix: 16) else { return nil }
            serial.append(b)
            i += 2
        }
        if let first = serial.first, first & 0x80 != 0 { serial.insert(0, at: 0) }  // DER INTEGER content is signed
        return Base64.urlEncode(aki) + "." + Base64.urlEncode(serial)
    }

    /// Whatever the CA's window says, renew when less than this fraction of the lifetime is left:
    /// a window that never opens (a CA bug, a stale answer) must not let a certificate expire.
    public static let lastResortFraction: Int64 = 20

    /// The whole decision for one certificate at `now`: `days` when given; else renew when less
    /// than 1/20 of the lifetime is left; else the CA's window (`ari`, when it has one); else
    /// the last third of the lifetime.
    public static func decide(notBefore: Int64, notAfter: Int64, now: Int64, days: Int?, ari: RenewalInfoRecord?) -> RenewalDecision {
        let leftDays = (notAfter - now) / 86400
        let lifetime = notAfter - notBefore
        if let days {
            return RenewalDecision(due: isDue(notBefore: notBefore, notAfter: notAfter, now: now, days: days),
                                   reason: "\(leftDays) days left, --days \(days)", explanationURL: nil)
        }
        let explanation = ari?.explanationURL
        if notAfter - now < lifetime / lastResortFraction {
            return RenewalDecision(due: true, reason: "less than 1/\(lastResortFraction) of the lifetime left (\(leftDays) days of \(lifetime / 86400))",
                                   explanationURL: explanation)
        }
        if let ari, let chosen = ari.chosen {
            let due = now >= chosen
            return RenewalDecision(due: due, reason: due ? "the CA's renewal window (ARI) has started"
                                                         : "before the CA's renewal window (ARI; renewing from \(RFC3339.format(chosen)))",
                                   explanationURL: explanation)
        }
        var reason = "\(leftDays) days left of \(lifetime / 86400)"
        if let problem = ari?.problem { reason += "; the CA's renewal information was not used: \(problem)" }
        return RenewalDecision(due: isDue(notBefore: notBefore, notAfter: notAfter, now: now), reason: reason, explanationURL: explanation)
    }

    /// RFC 9773 §4.2 decision: renew now when the suggested window has started (a time in
    /// [start, end] chosen by `fraction` ∈ [0,1] has passed); nil when the JSON has no window.
    public static func ariDue(_ json: JSON, now: Int64, fraction: Double = 0.5) -> Bool? {
        guard let start = json["suggestedWindow"]?["start"]?.stringValue.flatMap(RFC3339.parse),
              let end = json["suggestedWindow"]?["end"]?.stringValue.flatMap(RFC3339.parse), end > start else { return nil }
        let f = min(max(fraction, 0), 1)
        let chosen = start + Int64(Double(end - start) * f)
        return now >= chosen
    }
}

/// Due or not, and why in words (and the CA's explanation page when its window decided).
public struct RenewalDecision: Equatable, Sendable {
    public var due: Bool
    public var reason: String
    public var explanationURL: String?

    public init(due: Bool, reason: String, explanationURL: String?) {
        self.due = due
        self.reason = reason
        self.explanationURL = explanationURL
    }
}
