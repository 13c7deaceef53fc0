/// The deployment, described once in `stack.yaml`; every emitter reads this validated value.
///
/// ```yaml
/// domains:
///   - name: example.com
///     aliases: [www.example.com]
///     routes:
///       - { path: /,    service: backend, port: 8080 }
///       - { path: /ai/, service: ai, port: 8000, websocket: true }
/// tls: { profile: intermediate, source: acme, email: ops@example.com }
/// services:
///   backend: { build: ./backend }
///   ai:      { build: ./ai, host: 10.0.2.15 }
///   db:      { image: mysql:8.4, init: ./db/init.sql }
/// ```
public struct Stack: Sendable, Equatable {
    public var domains: [Domain]
    public var tls: TLSSettings
    public var services: [Service]
    public var nginx: NginxSettings

    public struct Domain: Sendable, Equatable {
        public var name: String
        public var aliases: [String]
        public var routes: [Route]
        /// Store name of this domain's certificate (default: the domain name).
        public var certificate: String
        /// All names the certificate must cover: name + aliases.
        public var allNames: [String] { [name] + aliases }
    }

    public struct Route: Sendable, Equatable {
        public var path: String
        public var service: String
        public var port: Int
        public var websocket: Bool
        /// Proxy read/send timeout in seconds.
        public var timeout: Int
        /// nginx size syntax ("10m"), nil: the stack-wide default.
        public var maxBodySize: String?
    }

    public struct TLSSettings: Sendable, Equatable {
        /// Mozilla guideline 6.0's two profiles, and `legacy` (outside the guideline: TLS 1.0+).
        public enum Profile: String, Sendable, CaseIterable { case modern, intermediate, legacy }
        public enum Source: String, Sendable, CaseIterable { case acme, local, bought }
        public var profile: Profile
        public var source: Source
        public var email: String?
        /// ACME directory URL (default: Let's Encrypt's, chosen explicitly by the user at request time).
        public var acme: String?
        public var keyType: KeyType
        /// HSTS max-age in seconds; 0 disables the header.
        public var hstsMaxAge: Int
        public var hstsIncludeSubdomains: Bool
        public var hstsPreload: Bool
    }

    public struct Service: Sendable, Equatable {
        public var name: String
        public var build: String?
        public var image: String?
        /// Private address of the VM running it, when not on this one.
        public var host: String?
        /// The port the service listens on inside its container.
        public var port: Int?
        /// A database init script (mounted read-only into the container's init directory).
        public var initScript: String?
        public var environmentFile: String?
        /// Health check command run inside the container.
        public var healthcheck: String?
        /// How nginx reaches a service on another VM: `mutual` (default for `host:`), TLS 1.3 with
        /// client certificates from the internal hop CA; `plain`, HTTP (a doctor warning).
        public var tls: HopTLS = .mutual
        /// A DNS name for the service's hop certificate; default `SERVICE.internal`.
        public var tlsName: String? = nil

        /// Whether nginx reaches this service over the mutual-TLS hop.
        public var usesHop: Bool { host != nil && tls == .mutual }
        /// The name nginx verifies the hop certificate against (`proxy_ssl_name`). nginx checks
        /// names with X509_check_host, which never matches an IP SAN, so there is always a DNS name.
        public var hopName: String { tlsName ?? "\(name.replacing("_", with: "-")).internal" }
    }

    public enum HopTLS: String, Sendable, CaseIterable { case mutual, plain }

    public struct NginxSettings: Sendable, Equatable {
        /// Where the store is mounted as nginx sees it (inside its container).
        public var certificates: String
        /// The ACME HTTP-01 webroot as nginx sees it.
        public var webroot: String
        public var clientMaxBodySize: String
        /// DNS resolver for upstream names; Docker's embedded DNS by default.
        public var resolver: String
        public var httpPort: Int
        public var httpsPort: Int
        /// The nginx and OpenSSL versions that load the config (`version:`, `openssl:`); nil: not
        /// stated (flags, or `nginx -V` at deploy, decide).
        public var version: SoftwareVersion? = nil
        public var openSSLVersion: SoftwareVersion? = nil
    }

    public func service(named name: String) -> Service? { services.first { $0.name == name } }
}

extension Stack {
    /// Reads and validates a stack file. Every error names file:line:column and what is wrong.
    public static func load(path: String) throws -> Stack {
        try parse(try FileSystem.read(path, limit: 1024 * 1024), source: path)
    }

    public static func parse(_ bytes: [UInt8], source: String) throws -> Stack {
        guard let root = try YAMLReader.parse(bytes, source: source) else {
            throw StackError(source: source, mark: nil, message: "the stack file is empty")
        }
        let r = NodeReader(source: source)
        let top = try r.mapping(root, "the stack file", keys: ["domains", "tls", "services", "nginx"])

        var services: [Service] = []
        if let node = top["services"] {
            for (keyNode, value) in try r.pairs(node, "services") {
                let name = try r.string(keyNode, "service name")
                guard name.utf8.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 || $0 == 95 }), !name.isEmpty else {
                    throw r.error(keyNode, "service name \"\(name)\": use lower-case letters, digits, '-' and '_' (it becomes a Docker service and DNS name)")
                }
                let m = try r.mapping(value, "service \(name)", keys: ["build", "image", "host", "port", "init", "env_file", "healthcheck", "tls", "tls_name"])
                var s = Service(name: name)
                s.build = try m["build"].map { try r.string($0, "build") }
                s.image = try m["image"].map { try r.string($0, "image") }
                if let h = m["host"] {
                    let text = try r.string(h, "host")
                    guard let ip = IPAddress.normalize(text) else { throw r.error(h, "host must be the VM's private IP address, not \"\(text)\"") }
                    s.host = ip
                }
                s.port = try m["port"].map { try r.port($0, "port") }
                s.initScript = try m["init"].map { try r.string($0, "init") }
                s.environmentFile = try m["env_file"].map { try r.string($0, "env_file") }
                s.healthcheck = try m["healthcheck"].map { try r.string($0, "healthcheck") }
                if let t = m["tls"] {
                    s.tls = try r.choice(t, "tls", HopTLS.self)
                    if s.host == nil { throw r.error(t, "tls: applies to a service on another VM (with host:)") }
                }
                if let n = m["tls_name"] {
                    s.tlsName = try r.hostName(n)
                    if s.host == nil { throw r.error(n, "tls_name: applies to a service on another VM (with host:)") }
                }
                if s.build == nil && s.image == nil { throw r.error(value, "service \(name) needs build: or image:") }
                if services.contains(where: { $0.name == name }) { throw r.error(keyNode, "service \(name) is defined twice") }
                services.append(s)
            }
        }

        guard let domainsNode = top["domains"] else { throw StackError(source: source, mark: root.mark, message: "missing domains: list") }
        var domains: [Domain] = []
        var seenNames: Set<String> = []
        for node in try r.sequence(domainsNode, "domains") {
            let m = try r.mapping(node, "a domain", keys: ["name", "aliases", "routes", "certificate"])
            guard let nameNode = m["name"] else { throw r.error(node, "a domain needs name:") }
            let name = try r.hostName(nameNode)
            let aliases = try m["aliases"].map { try r.sequence($0, "aliases").map { try r.hostName($0) } } ?? []
            for n in [name] + aliases {
                if seenNames.contains(n) { throw r.error(nameNode, "\(n) appears in more than one domain") }
                seenNames.insert(n)
            }
            guard let routesNode = m["routes"] else { throw r.error(node, "domain \(name) needs routes:") }
            var routes: [Route] = []
            for rn in try r.sequence(routesNode, "routes") {
                let rm = try r.mapping(rn, "a route", keys: ["path", "service", "port", "websocket", "timeout", "max_body"])
                let path = try rm["path"].map { try r.string($0, "path") } ?? "/"
                guard path.hasPrefix("/"), !path.contains(" "), !path.contains(";"), !path.contains("{"), !path.contains("}") else {
                    throw r.error(rm["path"] ?? rn, "path must start with / and contain no spaces, ';' or braces")
                }
                guard let svcNode = rm["service"] else { throw r.error(rn, "a route needs service:") }
                let serviceName = try r.string(svcNode, "service")
                guard let service = services.first(where: { $0.name == serviceName }) else {
                    let known = services.map(\.name)
                    throw r.error(svcNode, "unknown service \"\(serviceName)\"" + (known.isEmpty ? "; define it under services:" : " (services: \(known.joined(separator: ", ")))"))
                }
                guard let port = try rm["port"].map({ try r.port($0, "port") }) ?? service.port else {
                    throw r.error(rn, "route \(path) → \(serviceName) needs port: (or a port: on the service)")
                }
                if routes.contains(where: { $0.path == path }) { throw r.error(rn, "path \(path) is routed twice in \(name)") }
                let websocket = try rm["websocket"].map { try r.bool($0, "websocket") } ?? false
                // Idle WebSockets must survive nginx's read timeout: an hour unless told otherwise.
                routes.append(Route(path: path, service: serviceName, port: port, websocket: websocket,
                                    timeout: try rm["timeout"].map { try r.int($0, "timeout", 1...86400) } ?? (websocket ? 3600 : 60),
                                    maxBodySize: try rm["max_body"].map { try r.size($0, "max_body") }))
            }
            if routes.isEmpty { throw r.error(routesNode, "domain \(name) has no routes") }
            let certificate = try m["certificate"].map { try r.string($0, "certificate") } ?? name.replacing("*", with: "_wildcard")
            do { try CertificateStore.validate(name: certificate) } catch { throw r.error(m["certificate"] ?? nameNode, "\(error)") }
            domains.append(Domain(name: name, aliases: aliases, routes: routes, certificate: certificate))
        }
        if domains.isEmpty { throw r.error(domainsNode, "domains: is empty") }

        var tls = TLSSettings(profile: .intermediate, source: .acme, email: nil, acme: nil, keyType: .default,
                              hstsMaxAge: 63_072_000, hstsIncludeSubdomains: false, hstsPreload: false)
        if let node = top["tls"] {
            let m = try r.mapping(node, "tls", keys: ["profile", "source", "email", "acme", "key_type", "hsts"])
            if let p = m["profile"] {
                if case .scalar("old", _, _) = p {
                    throw r.error(p, "profile \"old\" is not in Mozilla guideline 6.0, which has only modern and intermediate; use intermediate, or legacy for the pre-6.0 old settings (outside the guideline)")
                }
                tls.profile = try r.choice(p, "profile", TLSSettings.Profile.self)
            }
            if let s = m["source"] { tls.source = try r.choice(s, "source", TLSSettings.Source.self) }
            if let e = m["email"] {
                let email = try r.string(e, "email")
                guard email.contains("@"), !email.contains(" ") else { throw r.error(e, "email \"\(email)\" is not an email address") }
                tls.email = email
            }
            if let a = m["acme"] {
                let url = try r.string(a, "acme")
                guard url.hasPrefix("https://") || url.hasPrefix("http://") else { throw r.error(a, "acme: must be an ACME directory URL") }
                tls.acme = url
            }
            if let k = m["key_type"] {
                do { tls.keyType = try KeyType(parsing: try r.string(k, "key_type")) } catch { throw r.error(k, "\(error)") }
            }
            if let h = m["hsts"] {
                switch h {
                case .scalar:
                    if !(try r.bool(h, "hsts")) { tls.hstsMaxAge = 0 }
                default:
                    let hm = try r.mapping(h, "hsts", keys: ["max_age", "include_subdomains", "preload"])
                    if let v = hm["max_age"] { tls.hstsMaxAge = try r.int(v, "max_age", 0...157_680_000) }
                    if let v = hm["include_subdomains"] { tls.hstsIncludeSubdomains = try r.bool(v, "include_subdomains") }
                    if let v = hm["preload"] { tls.hstsPreload = try r.bool(v, "preload") }
                    if tls.hstsPreload && (tls.hstsMaxAge < 31_536_000 || !tls.hstsIncludeSubdomains) {
                        throw r.error(h, "hsts preload needs include_subdomains: true and max_age of at least 31536000 (hstspreload.org's rules)")
                    }
                }
            }
        }

        var nginx = NginxSettings(certificates: "/etc/certs", webroot: "/var/www/acme", clientMaxBodySize: "10m",
                                  resolver: "127.0.0.11", httpPort: 80, httpsPort: 443)
        if let node = top["nginx"] {
            let m = try r.mapping(node, "nginx", keys: ["certificates", "webroot", "client_max_body_size", "resolver", "http_port", "https_port", "version", "openssl"])
            nginx.version = try m["version"].map { try r.version($0, "nginx version") }
            nginx.openSSLVersion = try m["openssl"].map { try r.version($0, "openssl version") }
            if let v = m["certificates"] { nginx.certificates = try r.absolutePath(v, "certificates") }
            if let v = m["webroot"] { nginx.webroot = try r.absolutePath(v, "webroot") }
            if let v = m["client_max_body_size"] { nginx.clientMaxBodySize = try r.size(v, "client_max_body_size") }
            if let v = m["resolver"] {
                let text = try r.string(v, "resolver")
                guard let resolver = Self.resolverAddress(text) else { throw r.error(v, "resolver must be an IP address, optionally with :port") }
                nginx.resolver = resolver
            }
            if let v = m["http_port"] { nginx.httpPort = try r.port(v, "http_port") }
            if let v = m["https_port"] { nginx.httpsPort = try r.port(v, "https_port") }
        }
        return Stack(domains: domains, tls: tls, services: services, nginx: nginx)
    }
}

extension Stack {
    /// "127.0.0.11", "127.0.0.1:5353", "[::1]:53" in nginx's `resolver` syntax, or nil.
    static func resolverAddress(_ text: String) -> String? {
        if let ip = IPAddress.normalize(text) { return ip.contains(":") ? "[\(ip)]" : ip }
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else { return nil }
        let host = String(text[..<colon])
        guard let ip = IPAddress.normalize(host), host.hasPrefix("[") || !ip.contains(":") else { return nil }
        return (ip.contains(":") ? "[\(ip)]" : ip) + ":\(port)"
    }
}

extension Stack.Service {
    init(name: String) { self.name = name }
}

/// Typed reads from YAML nodes, each failing with a located, specific message.
struct NodeReader {
    let source: String

    func error(_ node: YAMLNode, _ message: String) -> StackError {
        StackError(source: source, mark: node.mark, message: message)
    }

    /// A mapping whose keys must all be in `keys` (unknown keys are errors, with a suggestion).
    func mapping(_ node: YAMLNode, _ what: String, keys: [String]) throws -> [String: YAMLNode] {
        var out: [String: YAMLNode] = [:]
        for (k, v) in try pairs(node, what) {
            let key = try string(k, "key")
            guard keys.contains(key) else {
                let hint = keys.min { editDistance($0, key) < editDistance($1, key) }.flatMap { editDistance($0, key) <= 2 ? " (did you mean \($0)?)" : nil }
                throw error(k, "unknown key \"\(key)\" in \(what)\(hint ?? "; allowed: \(keys.joined(separator: ", "))")")
            }
            if out[key] != nil { throw error(k, "\"\(key)\" appears twice in \(what)") }
            out[key] = v
        }
        return out
    }

    func pairs(_ node: YAMLNode, _ what: String) throws -> [(key: YAMLNode, value: YAMLNode)] {
        guard case .mapping(let p, _) = node else { throw error(node, "\(what) must be a mapping (key: value), not \(node.kindDescription)") }
        return p
    }

    func sequence(_ node: YAMLNode, _ what: String) throws -> [YAMLNode] {
        guard case .sequence(let items, _) = node else { throw error(node, "\(what) must be a list, not \(node.kindDescription)") }
        return items
    }

    func string(_ node: YAMLNode, _ what: String) throws -> String {
        guard case .scalar(let s, _, _) = node else { throw error(node, "\(what) must be a single value, not \(node.kindDescription)") }
        guard !s.isEmpty else { throw error(node, "\(what) is empty") }
        return s
    }

    func int(_ node: YAMLNode, _ what: String, _ range: ClosedRange<Int>) throws -> Int {
        let s = try string(node, what)
        guard case .scalar(_, true, _) = node, let v = Int(s) else { throw error(node, "\(what) must be a whole number, not \"\(s)\"") }
        guard range.contains(v) else { throw error(node, "\(what) must be between \(range.lowerBound) and \(range.upperBound)") }
        return v
    }

    func port(_ node: YAMLNode, _ what: String) throws -> Int { try int(node, what, 1...65535) }

    func version(_ node: YAMLNode, _ what: String) throws -> SoftwareVersion {
        let s = try string(node, what)
        guard let v = SoftwareVersion(parsing: s) else { throw error(node, "\(what) must look like 1.22.1 or 3.5, not \"\(s)\"") }
        return v
    }

    func bool(_ node: YAMLNode, _ what: String) throws -> Bool {
        let s = try string(node, what)
        guard case .scalar(_, true, _) = node else { throw error(node, "\(what) must be true or false, not a quoted string") }
        switch s {
        case "true", "True", "TRUE": return true
        case "false", "False", "FALSE": return false
        default: throw error(node, "\(what) must be true or false, not \"\(s)\"")
        }
    }

    func choice<E: RawRepresentable & CaseIterable>(_ node: YAMLNode, _ what: String, _ type: E.Type) throws -> E where E.RawValue == String {
        let s = try string(node, what)
        guard let v = E(rawValue: s) else { throw error(node, "\(what) must be one of \(E.allCases.map(\.rawValue).joined(separator: ", ")), not \"\(s)\"") }
        return v
    }

    func hostName(_ node: YAMLNode) throws -> String {
        let s = try string(node, "domain name")
        do { return try HostName.validate(s) } catch { throw self.error(node, "\(error)") }
    }

    func size(_ node: YAMLNode, _ what: String) throws -> String {
        let s = try string(node, what).lowercased()
        let digits = s.last.map { "kmg".contains($0) } == true ? String(s.dropLast()) : s
        guard !digits.isEmpty, digits.allSatisfy(\.isNumber) else { throw error(node, "\(what) must be a size like 512k, 10m or 1g") }
        return s
    }

    func absolutePath(_ node: YAMLNode, _ what: String) throws -> String {
        let s = try string(node, what)
        guard s.hasPrefix("/"), !s.contains(" "), !s.contains(";"), !s.split(separator: "/").contains("..") else {
            throw error(node, "\(what) must be an absolute path without spaces, ';' or '..'")
        }
        return s.count > 1 && s.hasSuffix("/") ? String(s.dropLast()) : s
    }
}

/// Levenshtein distance, for "did you mean" hints.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    for i in 1...a.count {
        var current = [i] + Array(repeating: 0, count: b.count)
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return previous[b.count]
}
