/// A small YAML writer for the emitted deploy files: ordered maps, lists, literal block scalars
/// and comments. Strings are written plain only when YAML 1.1 and 1.2 readers both read them back
/// as the same string (no booleans like `on`/`yes`, no numbers, no `:`/`#`/`*` surprises);
/// everything else is double-quoted with escapes. Output is deterministic.
public indirect enum EmitYAML: Sendable, Equatable {
    case string(String)
    case int(Int)
    case bool(Bool)
    /// A literal block scalar (`|`), for shell scripts.
    case block(String)
    case list([EmitYAML])
    case map([Entry])

    public struct Entry: Sendable, Equatable {
        public var key: String
        public var value: EmitYAML
        /// Written as `# …` lines above the key.
        public var comment: String?
        public init(_ key: String, _ value: EmitYAML, comment: String? = nil) {
            self.key = key
            self.value = value
            self.comment = comment
        }
    }

    public static func strings(_ items: [String]) -> EmitYAML { .list(items.map { .string($0) }) }

    /// The document as text (no header), ending with a newline.
    public func rendered() -> String {
        lines().joined(separator: "\n") + "\n"
    }

    func lines() -> [String] {
        switch self {
        case .map(let entries):
            if entries.isEmpty { return ["{}"] }
            var out: [String] = []
            for e in entries {
                if let c = e.comment { out += c.split(separator: "\n", omittingEmptySubsequences: false).map { "# \($0)" } }
                let key = Self.scalar(e.key)
                switch e.value {
                case .block(let text):
                    out.append("\(key): |")
                    out += Self.blockLines(text, indent: "  ")
                case .list(let items) where items.isEmpty: out.append("\(key): []")
                case .map(let m) where m.isEmpty: out.append("\(key): {}")
                case .list, .map:
                    out.append("\(key):")
                    out += e.value.lines().map { $0.isEmpty ? $0 : "  " + $0 }
                default:
                    out.append("\(key): \(e.value.inline)")
                }
            }
            return out
        case .list(let items):
            if items.isEmpty { return ["[]"] }
            var out: [String] = []
            for item in items {
                switch item {
                case .block(let text):
                    out.append("- |")
                    out += Self.blockLines(text, indent: "  ")
                case .list(let l) where !l.isEmpty:
                    let sub = item.lines()
                    out.append("- " + sub[0])
                    out += sub.dropFirst().map { $0.isEmpty ? $0 : "  " + $0 }
                case .map(let m) where !m.isEmpty:
                    let sub = item.lines()
                    out.append("- " + sub[0])
                    out += sub.dropFirst().map { $0.isEmpty ? $0 : "  " + $0 }
                default:
                    out.append("- " + item.inline)
                }
            }
            return out
        default:
            return [inline]
        }
    }

    var inline: String {
        switch self {
        case .string(let s): return Self.scalar(s)
        case .int(let i): return String(i)
        case .bool(let b): return b ? "true" : "false"
        case .block(let s): return Self.quoted(s)
        case .list(let l): return l.isEmpty ? "[]" : "[" + l.map(\.inline).joined(separator: ", ") + "]"
        case .map(let m): return m.isEmpty ? "{}" : "{" + m.map { "\(Self.scalar($0.key)): \($0.value.inline)" }.joined(separator: ", ") + "}"
        }
    }

    static func blockLines(_ text: String, indent: String) -> [String] {
        var body = text
        while body.hasSuffix("\n") { body.removeLast() }
        return body.split(separator: "\n", omittingEmptySubsequences: false).map { $0.isEmpty ? "" : indent + $0 }
    }

    static let reservedWords: Set<String> = ["true", "false", "yes", "no", "on", "off", "y", "n", "null", "~"]

    /// Plain when unambiguous, else double-quoted.
    public static func scalar(_ s: String) -> String {
        guard let first = s.unicodeScalars.first, !s.isEmpty else { return "\"\"" }
        let lettersOrPath = first.properties.isAlphabetic || first == "/" || first == "_"
        let safe = s.unicodeScalars.allSatisfy { c in
            (c.value < 128 && (c.properties.isAlphabetic || (c >= "0" && c <= "9"))) || "_./-@".unicodeScalars.contains(c)
        }
        if lettersOrPath && safe && !reservedWords.contains(s.lowercased()) && !looksNumeric(s) { return s }
        return quoted(s)
    }

    static func looksNumeric(_ s: String) -> Bool {
        s.allSatisfy { $0.isNumber || $0 == "." || $0 == "_" || $0 == "e" || $0 == "E" || $0 == "-" || $0 == "+" } && s.contains(where: \.isNumber)
    }

    static func quoted(_ s: String) -> String {
        var out = "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if c.value < 0x20 || c.value == 0x7f {
                    let hex = String(c.value, radix: 16)
                    out += "\\x" + String(repeating: "0", count: 2 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(c)
                }
            }
        }
        return out + "\""
    }
}

/// Writes Docker Compose files for a stack: the main VM's (nginx and every service without a
/// `host:`) and, with `host`, the file for the services on that other VM.
public struct ComposeEmitter: Sendable {
    public var stack: Stack
    /// nil: the main VM (nginx + local services); else a private address from `services.*.host`.
    public var host: String?
    /// Host-side paths as the compose file sees them (relative paths are relative to it).
    public var storePath: String
    public var nginxConfigPath: String
    public var webrootPath: String
    public var nginxImage: String
    /// Registry prefix for images built from `build:` (the CI workflow pushes there).
    public var registry: String

    public static let header = "# Generated by `certs emit compose` from the stack file. Do not edit: change the stack and emit again.\n"
    public static let network = "certs"

    public init(stack: Stack, host: String? = nil, storePath: String = "./certs", nginxConfigPath: String = "./nginx/conf.d",
                webrootPath: String = "./acme-webroot", nginxImage: String = "nginx:1.27",
                registry: String = "${CERTS_REGISTRY:-localhost}") {
        self.stack = stack
        self.host = host
        self.storePath = storePath
        self.nginxConfigPath = nginxConfigPath
        self.webrootPath = webrootPath
        self.nginxImage = nginxImage
        self.registry = registry
    }

    /// The private addresses that have services, in stack order.
    public var remoteHosts: [String] {
        var seen: [String] = []
        for s in stack.services { if let h = s.host, !seen.contains(h) { seen.append(h) } }
        return seen
    }

    /// The file name for this emitter's VM: `compose.yaml` or `compose.HOST.yaml`.
    public var fileName: String {
        guard let host else { return "compose.yaml" }
        return "compose.\(host.replacing(":", with: "_")).yaml"
    }

    /// Services that run on this VM.
    public var services: [Stack.Service] { stack.services.filter { $0.host == host } }

    /// The compose file's text.
    public func contents() throws -> String {
        if let host, !remoteHosts.contains(host) {
            throw InputError.invalidValue(option: "--host", value: host,
                                          reason: remoteHosts.isEmpty ? "no service in the stack has a host:" : "no service runs there (hosts: \(remoteHosts.joined(separator: ", ")))")
        }
        var entries: [EmitYAML.Entry] = []
        for service in services { entries.append(.init(service.name, serviceEntry(service))) }
        if let host, let terminator = terminatorEntry(host: host) {
            entries.append(.init(Self.terminatorService, terminator,
                                 comment: "The TLS terminator of the hop: only the front nginx's client certificate (internal hop CA) gets through;\nit publishes on the private address only and reaches the services by name on the shared network."))
        }
        if host == nil { entries.append(.init("nginx", nginxEntry(), comment: "The HTTPS front: certificates and ACME webroot read-only; upstreams by service name on the shared network.")) }
        let doc: EmitYAML = .map([
            .init("services", .map(entries)),
            .init("networks", .map([.init(Self.network, .map([.init("name", .string(Self.network)), .init("driver", .string("bridge"))]))]),
                  comment: "One user-defined network: containers reach each other by service name (addresses change on every deploy)."),
        ])
        var text = Self.header
        if let host { text += "# The services that run on the VM at \(host); nginx on the main VM reaches them by this address.\n" }
        return text + doc.rendered()
    }

    /// Every port the service is reached on (its routes and its own port), sorted.
    func ports(of service: Stack.Service) -> [Int] {
        var ports: Set<Int> = []
        if let p = service.port { ports.insert(p) }
        for d in stack.domains { for r in d.routes where r.service == service.name { ports.insert(r.port) } }
        return ports.sorted()
    }

    /// The health check: the stack's, else a known one for common database images.
    static func healthcheck(_ service: Stack.Service) -> [String]? {
        if let h = service.healthcheck { return ["CMD-SHELL", h] }
        let image = service.image?.split(separator: "/").last.map(String.init) ?? ""
        if image.hasPrefix("mysql") { return ["CMD-SHELL", "mysqladmin ping -h 127.0.0.1 --silent"] }
        if image.hasPrefix("mariadb") { return ["CMD-SHELL", "healthcheck.sh --connect --innodb_initialized"] }
        if image.hasPrefix("postgres") { return ["CMD-SHELL", "pg_isready -h 127.0.0.1"] }
        if image.hasPrefix("redis") || image.hasPrefix("valkey") { return ["CMD-SHELL", "redis-cli ping"] }
        return nil
    }

    static func relative(_ path: String) -> String {
        path.hasPrefix("/") || path.hasPrefix("./") || path.hasPrefix("../") || path.hasPrefix("$") ? path : "./" + path
    }

    func image(_ service: Stack.Service) -> String {
        service.image ?? "\(registry)/\(service.name):${CERTS_TAG:-latest}"
    }

    func serviceEntry(_ service: Stack.Service) -> EmitYAML {
        var e: [EmitYAML.Entry] = []
        e.append(.init("image", .string(image(service))))
        if let build = service.build { e.append(.init("build", .string(Self.relative(build)))) }
        e.append(.init("restart", .string("unless-stopped")))
        e.append(.init("networks", .strings([Self.network])))
        if let env = service.environmentFile { e.append(.init("env_file", .strings([Self.relative(env)]))) }
        if let host, !service.usesHop {
            let published = ports(of: service).map { "\(host.contains(":") ? "[\(host)]" : host):\($0):\($0)" }
            if !published.isEmpty {
                e.append(.init("ports", .strings(published), comment: "Published on the private address only: nginx on the main VM connects here."))
            }
        }
        if let script = service.initScript {
            let directory = script.hasSuffix("/")
            let source = Self.relative(directory ? String(script.dropLast()) : script)
            let target = directory ? "/docker-entrypoint-initdb.d" : "/docker-entrypoint-initdb.d/\(FileSystem.baseName(of: script))"
            e.append(.init("volumes", .strings(["\(source):\(target):ro"]),
                           comment: "The entrypoint runs the init script as the image's user, not as the file's owner:\nkeep it mode 0644 (chmod 0644 \(script)); `certs doctor` checks this."))
        }
        if let test = Self.healthcheck(service) {
            e.append(.init("healthcheck", .map([
                .init("test", .strings(test)),
                .init("interval", .string("10s")),
                .init("timeout", .string("5s")),
                .init("retries", .int(5)),
                .init("start_period", .string("30s")),
            ])))
        }
        return .map(e)
    }

    public static let terminatorService = "certs-hop"

    /// The terminator for the services on `host` reached over the hop; nil when none is.
    func terminatorEntry(host: String) -> EmitYAML? {
        let hopServices = services.filter(\.usesHop)
        guard !hopServices.isEmpty else { return nil }
        let address = host.contains(":") ? "[\(host)]" : host
        let bundle = HopBundleEmitter.defaultDirectory(host: host)
        var e: [EmitYAML.Entry] = []
        e.append(.init("image", .string(nginxImage)))
        e.append(.init("restart", .string("unless-stopped")))
        e.append(.init("networks", .strings([Self.network])))
        e.append(.init("ports", .strings(hopServices.flatMap { ports(of: $0) }.map { "\(address):\($0):\($0)" }),
                       comment: "Only on the private address: the front nginx connects here; the services publish nothing."))
        e.append(.init("volumes", .strings([
            "./\(bundle)/conf.d:/etc/nginx/conf.d:ro",
            "./\(bundle)/tls:\(HopBundleEmitter.defaultMount):ro",
        ]), comment: "Written by `certs emit bundle --host \(host)`: this VM's keys and certificates and the hop CA certificate (never its key)."))
        e.append(.init("depends_on", .map(hopServices.map { s in
            .init(s.name, .map([.init("condition", .string(Self.healthcheck(s) == nil ? "service_started" : "service_healthy"))]))
        })))
        e.append(.init("healthcheck", .map([
            .init("test", .strings(["CMD", "nginx", "-t", "-q"])),
            .init("interval", .string("30s")),
            .init("timeout", .string("5s")),
            .init("retries", .int(3)),
        ])))
        return .map(e)
    }

    func nginxEntry() -> EmitYAML {
        let n = stack.nginx
        var e: [EmitYAML.Entry] = []
        e.append(.init("image", .string(nginxImage)))
        e.append(.init("restart", .string("unless-stopped")))
        e.append(.init("networks", .strings([Self.network])))
        e.append(.init("ports", .strings(["\(n.httpPort):\(n.httpPort)", "\(n.httpsPort):\(n.httpsPort)"])))
        e.append(.init("volumes", .strings([
            "\(Self.relative(storePath)):\(n.certificates):ro",
            "\(Self.relative(nginxConfigPath)):/etc/nginx/conf.d:ro",
            "\(Self.relative(webrootPath)):\(n.webroot):ro",
        ]), comment: "The store (private keys 0600/0640) and the ACME webroot, which `certs request --webroot` fills on the host."))
        var depends: [EmitYAML.Entry] = []
        var routed: [String] = []
        for d in stack.domains { for r in d.routes where !routed.contains(r.service) { routed.append(r.service) } }
        for name in routed {
            guard let s = stack.service(named: name), s.host == nil else { continue }
            depends.append(.init(name, .map([.init("condition", .string(Self.healthcheck(s) == nil ? "service_started" : "service_healthy"))])))
        }
        if !depends.isEmpty { e.append(.init("depends_on", .map(depends))) }
        e.append(.init("healthcheck", .map([
            .init("test", .strings(["CMD", "nginx", "-t", "-q"])),
            .init("interval", .string("30s")),
            .init("timeout", .string("5s")),
            .init("retries", .int(3)),
        ])))
        return .map(e)
    }
}
