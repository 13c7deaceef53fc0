import Glibc

/// One problem `certs doctor` found: a stable code, where, what, and how to fix it.
public struct DoctorFinding: Sendable, Equatable {
    public enum Severity: String, Sendable { case error, warning }
    public var code: String
    public var severity: Severity
    public var location: String
    public var message: String
    public var fix: String

    public init(_ code: String, _ severity: Severity, _ location: String, _ message: String, fix: String) {
        self.code = code
        self.severity = severity
        self.location = location
        self.message = message
        self.fix = fix
    }

    public var json: JSON {
        .object([("code", .string(code)), ("severity", .string(severity.rawValue)), ("location", .string(location)),
                 ("message", .string(message)), ("fix", .string(fix))])
    }
}

/// Finds the deployment pitfalls the field learned the hard way, before they bite: files the
/// container user cannot read, keys others can read, cert/key mismatch, a chain missing its
/// intermediate, services off the shared network, upstreams by container IP, clashing ports, and
/// certificates close to expiry. Reads files only; changes nothing.
public struct Doctor: Sendable {
    public var stack: Stack?
    /// Directory the stack's relative paths (init scripts, compose files) are relative to.
    public var baseDirectory: String
    public var store: CertificateStore
    /// Compose files to check (missing ones are skipped by the caller's choice of defaults).
    public var composeFiles: [String]
    /// A directory of nginx `*.conf` files to check for upstreams by IP (nil: skip).
    public var nginxDirectory: String?
    /// The uid:gid nginx reads the keys as, when not root (e.g. 101:101 for nginx-unprivileged).
    public var nginxUser: (uid: UInt32, gid: UInt32)?
    public var now: Int64
    /// The expiry thresholds of certs check (one parser, one default).
    public var thresholds: CheckThresholds

    public init(stack: Stack?, baseDirectory: String, store: CertificateStore, composeFiles: [String] = [], nginxDirectory: String? = nil,
                nginxUser: (uid: UInt32, gid: UInt32)? = nil, now: Int64, thresholds: CheckThresholds = CheckThresholds()) {
        self.stack = stack
        self.baseDirectory = baseDirectory
        self.store = store
        self.composeFiles = composeFiles
        self.nginxDirectory = nginxDirectory
        self.nginxUser = nginxUser
        self.now = now
        self.thresholds = thresholds
    }

    public func run() -> [DoctorFinding] {
        var findings: [DoctorFinding] = []
        findings += checkCertificates()
        findings += checkInitScripts()
        findings += checkStackPorts()
        findings += checkHop()
        for file in composeFiles { findings += checkCompose(file) }
        if let dir = nginxDirectory { findings += checkNginx(dir) }
        return findings
    }

    func resolve(_ path: String) -> String {
        path.hasPrefix("/") ? path : "\(baseDirectory)/\(path.hasPrefix("./") ? String(path.dropFirst(2)) : path)"
    }

    static func octal(_ mode: mode_t) -> String {
        let s = String(mode & 0o7777, radix: 8)
        return String(repeating: "0", count: max(0, 4 - s.count)) + s
    }

    struct FileInfo { let mode: mode_t; let uid: UInt32; let gid: UInt32; let isDirectory: Bool }

    static func info(_ path: String) -> FileInfo? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return FileInfo(mode: st.st_mode & 0o7777, uid: st.st_uid, gid: st.st_gid, isDirectory: (st.st_mode & S_IFMT) == S_IFDIR)
    }

    /// Whether uid:gid may read (and, for directories, enter) the file by its mode bits.
    static func readable(_ f: FileInfo, uid: UInt32, gid: UInt32) -> Bool {
        if uid == 0 { return true }
        let need: mode_t = f.isDirectory ? 0o5 : 0o4
        if uid == f.uid { return (f.mode >> 6) & need == need }
        if gid == f.gid { return (f.mode >> 3) & need == need }
        return f.mode & need == need
    }

    // MARK: certificates

    func certificateNames() -> [(name: String, domain: Stack.Domain?)] {
        if let stack {
            var seen: Set<String> = []
            return stack.domains.compactMap { seen.insert($0.certificate).inserted ? ($0.certificate, $0) : nil }
        }
        return store.names().sorted().map { ($0, nil) }
    }

    /// The command that obtains certificate `name` again, ready to paste: the local CA for
    /// tls.source local, the bought-certificate install for bought, else ACME with the stack's
    /// directory (Let's Encrypt when it names none) through nginx's webroot.
    func obtainCommand(_ name: String, _ domain: Stack.Domain?) -> String {
        let names = domain?.allNames ?? [name]
        let quoted = names.map { $0.hasPrefix("*") ? "'\($0)'" : $0 }.joined(separator: " ")
        let storeFlag = store.root == "certs" ? "" : " --store \(store.root)"
        let nameFlag = CertificateStore.name(for: (try? names.map { try GeneralName(parsing: $0) }) ?? []) == name ? "" : " --cert-name \(name)"
        switch stack?.tls.source {
        case .local?:
            return "certs ca issue \(quoted)\(nameFlag)\(storeFlag)"
        case .bought?:
            return "certs install \(name) --cert FILE --chain FILE --key FILE\(storeFlag)"
        default:
            let acme = stack?.tls.acme ?? "letsencrypt"
            let email = stack?.tls.email.map { " --email \($0)" } ?? ""
            let webroot = stack?.nginx.webroot ?? "/var/www/acme"
            return "certs request \(quoted) --acme \(acme) --agree-tos\(email) --webroot \(webroot)\(nameFlag)\(storeFlag)"
        }
    }

    /// How to renew `name` now: the local CA issues again; ACME renews (forced: it is due by our thresholds).
    func renewCommand(_ name: String, _ domain: Stack.Domain?) -> String {
        if stack?.tls.source == .local { return obtainCommand(name, domain) }
        return "certs renew \(name) --force\(store.root == "certs" ? "" : " --store \(store.root)")"
    }

    func checkCertificates() -> [DoctorFinding] {
        var out: [DoctorFinding] = []
        for (name, domain) in certificateNames() {
            let p = store.paths(name)
            guard FileSystem.exists(p.fullchain), FileSystem.exists(p.key) else {
                out.append(.init("certificate-missing", .error, p.directory, "no certificate \(name) in the store (\(FileSystem.exists(p.fullchain) ? "privkey.pem" : "fullchain.pem") is missing)",
                                 fix: obtainCommand(name, domain)))
                continue
            }
            // Key file permissions.
            var keyReadable = true
            if let k = Self.info(p.key) {
                if k.mode & 0o007 != 0 || k.mode & 0o020 != 0 {
                    out.append(.init("key-permissions", .error, p.key, "the private key is mode \(Self.octal(k.mode)): \(k.mode & 0o004 != 0 ? "readable by every user on the machine" : "open to users other than its owner and group")",
                                     fix: "chmod 0600 \(p.key) (or 0640 with the group nginx reads it as)"))
                }
                if k.mode & 0o400 == 0 {
                    keyReadable = false
                    out.append(.init("key-unreadable", .error, p.key, "the private key is mode \(Self.octal(k.mode)): not even its owner can read it, so nginx fails at start",
                                     fix: "chmod 0600 \(p.key)"))
                } else if let u = nginxUser, !Self.readable(k, uid: u.uid, gid: u.gid) {
                    out.append(.init("key-unreadable", .error, p.key, "nginx runs as \(u.uid):\(u.gid) but the private key is owned by \(k.uid):\(k.gid) with mode \(Self.octal(k.mode)): nginx cannot read it",
                                     fix: "chown \(k.uid):\(u.gid) \(p.key) && chmod 0640 \(p.key)"))
                }
            }
            guard let chainBytes = try? FileSystem.read(p.fullchain), let chain = try? Certificate.parseAll(chainBytes, source: p.fullchain), let first = chain.first else {
                out.append(.init("certificate-unreadable", .error, p.fullchain, "fullchain.pem cannot be read as PEM certificates",
                                 fix: "install the certificate again: certs install \(name) --cert … --chain … --key …"))
                continue
            }
            // The leaf: the first certificate, unless a CA certificate was put in front of it.
            let leaf = first.isCA ? (chain.first { !$0.isCA } ?? first) : first
            let leafFirst = leaf == first
            if !leafFirst {
                out.append(.init("chain-order", .error, p.fullchain, "fullchain.pem starts with the CA certificate \(first.subject); the server's own certificate (\(leaf.subject)) must come first or nginx pairs the key with the wrong certificate",
                                 fix: "rebuild fullchain.pem leaf first, then each issuer: certs install \(name) --cert CERT --chain CHAIN --key KEY"))
            }
            if keyReadable, getuid() == 0 || (Self.info(p.key).map { Self.readable($0, uid: getuid(), gid: getgid()) } ?? false),
               let keyBytes = try? FileSystem.read(p.key) {
                if let key = try? PrivateKey(bytes: keyBytes, source: p.key) {
                    if !key.matches(leaf.publicKey) {
                        out.append(.init("key-mismatch", .error, p.key, "privkey.pem is not the key of the certificate in fullchain.pem (\(leaf.subject)); nginx refuses to start",
                                         fix: "install the matching pair: certs install \(name) --cert CERT --chain CHAIN --key THE-KEY-THE-CSR-WAS-MADE-WITH"))
                    }
                }
            }
            // Chain: each certificate issued by the next; a leaf from an intermediate needs it.
            if !leafFirst {
                // Already reported: the order is wrong.
            } else if chain.count == 1 && !leaf.isSelfIssued {
                out.append(.init("chain-incomplete", .error, p.fullchain, "fullchain.pem holds only the leaf; its issuer (\(leaf.issuer)) is missing, so clients without it cached fail to verify",
                                 fix: "add the CA's intermediate bundle: certs install \(name) --cert CERT --chain INTERMEDIATES --key KEY"))
            } else {
                for i in 0..<(chain.count - 1) where !chain[i].isIssued(by: chain[i + 1]) {
                    let issuerPresent = chain.contains { chain[i].isIssued(by: $0) }
                    // Intermediates out of order: clients tolerate it (RFC 8446 4.4.2), as certs verify does.
                    out.append(.init(issuerPresent ? "chain-order" : "chain-incomplete", issuerPresent ? .warning : .error, p.fullchain,
                                     issuerPresent ? "certificate \(i + 1) (\(chain[i].subject)) is not followed by its issuer: the chain is out of order"
                                                   : "certificate \(i + 1) (\(chain[i].subject)) is not followed by its issuer (\(chain[i].issuer)): an intermediate is missing",
                                     fix: "rebuild fullchain.pem leaf first, then each issuer: certs install \(name) --cert CERT --chain CHAIN --key KEY"))
                    break
                }
            }
            // The rest of the verdict is `certs verify`'s (one engine for every command): whatever
            // it rejects beyond what is reported above. Roots are not judged here.
            if leafFirst, let trust = try? verificationTrust() {
                let reported: Set<String> = ["expired", "key-mismatch", "hostname-mismatch"]
                if let report = try? ChainVerifier(trust: trust, time: now).verify(fileCertificates: chain, source: p.fullchain) {
                    for e in report.errors where !reported.contains(e.code) && !ChainVerifier.trustAnchorCodes.contains(e.code) {
                        out.append(.init("certificate-invalid", .error, p.fullchain, "certs verify rejects it: \(e.code): \(e.message)",
                                         fix: "certs verify \(p.fullchain) shows every problem; install a corrected certificate: certs install \(name) --cert … --chain … --key …"))
                    }
                }
            }
            // Names.
            if let domain {
                let covered = leaf.subjectAlternativeNames.compactMap { n -> String? in if case .dns(let d) = n { return d.lowercased() } else { return nil } }
                let missing = domain.allNames.filter { name in
                    !covered.contains { c in c == name || (c.hasPrefix("*.") && name.split(separator: ".", maxSplits: 1).count == 2 && name.split(separator: ".", maxSplits: 1)[1] == c.dropFirst(2)) }
                }
                if !missing.isEmpty {
                    out.append(.init("certificate-names", .error, p.fullchain, "the certificate does not cover \(missing.joined(separator: ", "))",
                                     fix: obtainCommand(name, domain)))
                }
            }
            // Expiry.
            let days = Int64(daysBetween(now, leaf.notAfter))
            if leaf.notAfter <= now {
                out.append(.init("certificate-expired", .error, p.fullchain, "the certificate expired \(RFC3339.format(leaf.notAfter))",
                                 fix: renewCommand(name, domain)))
            } else if case let status = thresholds.status(notBefore: leaf.notBefore, notAfter: leaf.notAfter, now: now), status != .ok {
                out.append(.init("certificate-expiring", status == .critical ? .error : .warning, p.fullchain,
                                 "the certificate expires in \(days) day\(days == 1 ? "" : "s") (\(RFC3339.format(leaf.notAfter)))",
                                 fix: renewCommand(name, domain)))
            }
        }
        return out
    }

    /// The system roots and the local CA's, as `certs check` uses.
    func verificationTrust() throws -> TrustStore {
        let localRoot = "\(LocalCA.directory(inStore: store.root))/root.pem"
        let extra = FileSystem.exists(localRoot) ? ((try? CertificateParser().certificates(atPath: localRoot)) ?? []) : []
        return try TrustStore.system(adding: extra, origin: "the system trust store and \(localRoot)")
    }

    // MARK: init scripts

    func checkInitScripts() -> [DoctorFinding] {
        guard let stack else { return [] }
        var out: [DoctorFinding] = []
        for s in stack.services {
            guard let script = s.initScript else { continue }
            let path = resolve(script.hasSuffix("/") ? String(script.dropLast()) : script)
            guard let f = Self.info(path) else {
                out.append(.init("init-missing", .error, path, "the init script of \(s.name) does not exist: the bind mount creates an empty directory instead",
                                 fix: "create \(script) or fix init: in the stack file"))
                continue
            }
            var files: [(String, FileInfo)] = [(path, f)]
            if f.isDirectory {
                for n in FileSystem.list(path).sorted() where !n.hasPrefix(".") {
                    if let i = Self.info("\(path)/\(n)") { files.append(("\(path)/\(n)", i)) }
                }
            }
            for (p, i) in files {
                // The entrypoint runs as the image's user (mysql, postgres: uid 999), not as the file's owner.
                let needed: mode_t = i.isDirectory ? 0o005 : 0o004
                if i.mode & needed != needed {
                    out.append(.init("init-unreadable", .error, p,
                                     "mode \(Self.octal(i.mode)): the \(s.name) container runs it as the image's user, not as \(i.uid):\(i.gid), and gets \"Permission denied\" at start",
                                     fix: "chmod \(i.isDirectory ? "0755" : "0644") \(p)"))
                }
            }
        }
        return out
    }

    // MARK: ports

    func checkStackPorts() -> [DoctorFinding] {
        guard let stack else { return [] }
        var out: [DoctorFinding] = []
        if stack.nginx.httpPort == stack.nginx.httpsPort {
            out.append(.init("port-clash", .error, "stack nginx", "http_port and https_port are both \(stack.nginx.httpPort)", fix: "give nginx different http_port and https_port"))
        }
        // Services on the same other VM publish their ports on its address: two on one port clash.
        var byHostPort: [String: String] = [:]
        for s in stack.services {
            guard let h = s.host else { continue }
            var ports: Set<Int> = []
            if let p = s.port { ports.insert(p) }
            for d in stack.domains { for r in d.routes where r.service == s.name { ports.insert(r.port) } }
            for p in ports.sorted() {
                let key = "\(h):\(p)"
                if let other = byHostPort[key], other != s.name {
                    out.append(.init("port-clash", .error, "stack services \(other), \(s.name)", "\(other) and \(s.name) both publish port \(p) on \(h)",
                                     fix: "give one of them another port in the stack file (service port: and its routes)"))
                } else {
                    byHostPort[key] = s.name
                }
            }
        }
        return out
    }

    // MARK: the hop to other VMs

    /// Services on another VM reached in plain HTTP, and the hop's certificates: present, keys 0600,
    /// issued by the hop CA's intermediate, naming the private address, not expiring.
    func checkHop() -> [DoctorFinding] {
        guard let stack else { return [] }
        var out: [DoctorFinding] = []
        let storeFlag = store.root == "certs" ? "" : " --store \(store.root)"
        for s in stack.services where s.host != nil && s.tls == .plain {
            out.append(.init("hop-plain", .warning, "stack service \(s.name)",
                             "nginx reaches \(s.name) on \(s.host!) over plain HTTP (tls: plain): any host on the private subnet can read the traffic or call \(s.name) directly",
                             fix: "remove tls: plain (mutual TLS is the default for host: services), then certs ca hop --stack STACK\(storeFlag) and certs emit bundle --host \(s.host!)"))
        }
        let entries = HopPKI.entries(for: stack)
        guard !entries.isEmpty else { return out }
        let caDir = HopPKI.caDirectory(store: store.root)
        let issue = "certs ca hop --stack STACK\(storeFlag)"
        for keyFile in ["root-key.pem", "intermediate-key.pem"] {
            let path = "\(caDir)/\(keyFile)"
            if let k = Self.info(path), k.mode & 0o077 != 0 {
                out.append(.init("key-permissions", .error, path, "the hop CA's private key is mode \(Self.octal(k.mode)): whoever reads it can mint client certificates the terminators accept",
                                 fix: "chmod 0600 \(path)"))
            }
        }
        let intermediate = (try? FileSystem.read("\(caDir)/intermediate.pem")).flatMap { try? Certificate.parseAll($0, source: "\(caDir)/intermediate.pem").first }
        for entry in entries {
            let p = store.paths(entry.name)
            guard FileSystem.exists(p.fullchain), FileSystem.exists(p.key),
                  let leaf = (try? FileSystem.read(p.fullchain)).flatMap({ try? Certificate.parseAll($0, source: p.fullchain).first }) else {
                out.append(.init("hop-certificate-missing", .error, p.directory, "no hop certificate \(entry.name) in the store: nginx -t fails on the proxy_ssl files, and the hop cannot be encrypted",
                                 fix: issue))
                continue
            }
            if let k = Self.info(p.key), k.mode & 0o007 != 0 || k.mode & 0o020 != 0 {
                out.append(.init("key-permissions", .error, p.key, "the hop key is mode \(Self.octal(k.mode)): readable by other users",
                                 fix: "chmod 0600 \(p.key)"))
            }
            if intermediate.map({ !leaf.isIssued(by: $0) }) ?? true {
                out.append(.init("hop-certificate-issuer", .error, p.fullchain, "\(entry.name) is not issued by the hop CA in \(caDir): the other side refuses it",
                                 fix: issue + " --force, then certs emit bundle and copy it to the other VM"))
            }
            let values = leaf.subjectAlternativeNames.map(\.value).map { $0.lowercased() }
            let missing = entry.names.filter { !values.contains($0.lowercased()) }
            if !missing.isEmpty {
                out.append(.init("hop-certificate-names", .error, p.fullchain, "\(entry.name) does not name \(missing.joined(separator: ", ")) (the stack changed since it was issued)",
                                 fix: issue))
            }
            let days = Int64(daysBetween(now, leaf.notAfter))
            if leaf.notAfter <= now {
                out.append(.init("certificate-expired", .error, p.fullchain, "the hop certificate expired \(RFC3339.format(leaf.notAfter))",
                                 fix: "certs renew \(entry.name) --force\(storeFlag)"))
            } else if case let status = thresholds.status(notBefore: leaf.notBefore, notAfter: leaf.notAfter, now: now), status != .ok {
                out.append(.init("certificate-expiring", status == .critical ? .error : .warning, p.fullchain,
                                 "the hop certificate expires in \(days) day\(days == 1 ? "" : "s") (\(RFC3339.format(leaf.notAfter))): is certs renew running?",
                                 fix: "certs renew \(entry.name) --force\(storeFlag)"))
            }
        }
        return out
    }

    // MARK: compose files

    static func strings(_ node: YAMLNode?) -> [String] {
        switch node {
        case .scalar(let s, _, _)?: return [s]
        case .sequence(let items, _)?: return items.compactMap { if case .scalar(let s, _, _) = $0 { return s } else { return nil } }
        case .mapping(let pairs, _)?: return pairs.compactMap { if case .scalar(let s, _, _) = $0.key { return s } else { return nil } }
        default: return []
        }
    }

    static func value(_ node: YAMLNode?, _ key: String) -> YAMLNode? {
        guard case .mapping(let pairs, _)? = node else { return nil }
        return pairs.first { if case .scalar(key, _, _) = $0.key { return true } else { return false } }?.value
    }

    /// Host port of a compose `ports:` entry ("443:443", "127.0.0.1:80:80", "8080:80/tcp", {published: 80}).
    static func hostPort(_ node: YAMLNode) -> (String, String)? {
        if case .mapping = node {
            guard let p = strings(value(node, "published")).first else { return nil }
            return (strings(value(node, "host_ip")).first ?? "0.0.0.0", p)
        }
        guard case .scalar(var s, _, _) = node else { return nil }
        if let slash = s.firstIndex(of: "/") { s = String(s[..<slash]) }
        var ip = "0.0.0.0"
        if s.hasPrefix("["), let close = s.firstIndex(of: "]") {
            ip = String(s[s.index(after: s.startIndex)..<close])
            s = String(s[s.index(after: close)...].dropFirst())
        }
        let parts = s.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        switch parts.count {
        case 1: return nil  // container port only: nothing published on a fixed host port
        case 2: return (ip, parts[0])
        default: return (parts[0], parts[1])
        }
    }

    func checkCompose(_ file: String) -> [DoctorFinding] {
        guard let bytes = try? FileSystem.read(file) else { return [] }
        guard let root = try? YAMLReader.parse(bytes, source: file) else {
            return [.init("compose-unreadable", .error, file, "not a YAML document", fix: "emit it again: certs emit compose")]
        }
        guard case .mapping(let servicePairs, _)? = Self.value(root, "services") else { return [] }
        var out: [DoctorFinding] = []
        var networksOf: [(String, Set<String>, YAMLNode)] = []
        var published: [String: String] = [:]
        let certificateTarget = stack?.nginx.certificates ?? "/etc/certs"
        for (k, svc) in servicePairs {
            guard case .scalar(let name, _, _) = k else { continue }
            if let mode = Self.strings(Self.value(svc, "network_mode")).first {
                out.append(.init("not-on-shared-network", .error, "\(file):\(svc.mark.line) services.\(name)", "network_mode: \(mode) takes \(name) off the shared network: others cannot reach it by name",
                                 fix: "remove network_mode: and attach \(name) to the shared network (networks: [\(ComposeEmitter.network)])"))
                continue
            }
            let nets = Self.strings(Self.value(svc, "networks"))
            networksOf.append((name, Set(nets.isEmpty ? ["default"] : nets), svc))
            if case .sequence(let ports, _)? = Self.value(svc, "ports") {
                for p in ports {
                    guard let (ip, port) = Self.hostPort(p) else { continue }
                    let wildcard = ip == "0.0.0.0" || ip == "::" || ip.isEmpty
                    let keys = wildcard ? ["*:\(port)"] + published.keys.filter { $0.hasSuffix(":\(port)") } : ["\(ip):\(port)", "*:\(port)"]
                    if let clash = keys.compactMap({ published[$0] }).first(where: { $0 != name }) ?? keys.compactMap({ published[$0] }).first {
                        out.append(.init("port-clash", .error, "\(file):\(p.mark.line) services.\(name).ports", "\(name) publishes host port \(port), which \(clash) publishes too: the second container fails to start",
                                         fix: "publish one of them on another host port"))
                    } else {
                        published[wildcard ? "*:\(port)" : "\(ip):\(port)"] = name
                    }
                }
            }
            if case .sequence(let volumes, _)? = Self.value(svc, "volumes") {
                for v in volumes {
                    guard case .scalar(let spec, _, _) = v else { continue }
                    let parts = spec.split(separator: ":").map(String.init)
                    guard parts.count >= 2, parts[1] == certificateTarget || parts[1].hasPrefix(certificateTarget + "/") else { continue }
                    let options = parts.count > 2 ? parts[2].split(separator: ",").map(String.init) : []
                    if !options.contains("ro") {
                        out.append(.init("store-writable", .error, "\(file):\(v.mark.line) services.\(name).volumes", "the certificate store is mounted read-write into \(name): a compromised container can replace keys",
                                         fix: "mount it read-only: \(parts[0]):\(parts[1]):ro"))
                    }
                }
            }
            out += environmentIPs(Self.value(svc, "environment"), file: file, service: name)
            out += envFileIPs(Self.value(svc, "env_file"), composeFile: file, service: name)
        }
        // Every service must share a network with nginx (or, without nginx, with the first service).
        let anchor = networksOf.first { $0.0 == "nginx" } ?? networksOf.first
        if let anchor {
            for (name, nets, svc) in networksOf where name != anchor.0 && nets.isDisjoint(with: anchor.1) {
                out.append(.init("not-on-shared-network", .error, "\(file):\(svc.mark.line) services.\(name)",
                                 "\(name) is on \(nets.sorted().joined(separator: ", ")) but \(anchor.0) is on \(anchor.1.sorted().joined(separator: ", ")): \(anchor.0) cannot reach it by name",
                                 fix: "attach \(name) to the shared network: networks: [\(anchor.1.sorted().first ?? ComposeEmitter.network)]"))
            }
        }
        return out
    }

    var stackHosts: Set<String> { Set(stack?.services.compactMap(\.host) ?? []) }

    /// A private IPv4 literal in `text` that is not a declared VM address: a container IP.
    func containerIP(in text: String) -> String? {
        var current = ""
        var candidates: [String] = []
        for c in text + " " {
            if c.isNumber || c == "." { current.append(c) } else { if !current.isEmpty { candidates.append(current) }; current = "" }
        }
        for c in candidates {
            let trimmed = c.hasSuffix(".") ? String(c.dropLast()) : c
            let octets = trimmed.split(separator: ".", omittingEmptySubsequences: false).compactMap { Int($0) }
            guard octets.count == 4, octets.allSatisfy({ (0...255).contains($0) }), trimmed.split(separator: ".").count == 4 else { continue }
            let isPrivate = octets[0] == 10 || (octets[0] == 172 && (16...31).contains(octets[1])) || (octets[0] == 192 && octets[1] == 168)
            if isPrivate && !stackHosts.contains(trimmed) { return trimmed }
        }
        return nil
    }

    func environmentIPs(_ node: YAMLNode?, file: String, service: String) -> [DoctorFinding] {
        var values: [(String, YAMLNode)] = []
        switch node {
        case .sequence(let items, _)?: for i in items { if case .scalar(let s, _, _) = i { values.append((s, i)) } }
        case .mapping(let pairs, _)?: for (k, v) in pairs { if case .scalar(let key, _, _) = k, case .scalar(let s, _, _) = v { values.append(("\(key)=\(s)", v)) } }
        default: break
        }
        return values.compactMap { text, n in
            containerIP(in: text).map { Self.upstreamByIP(text, ip: $0, at: "\(file):\(n.mark.line) services.\(service).environment") }
        }
    }

    static func upstreamByIP(_ what: String, ip: String, at location: String) -> DoctorFinding {
        .init("upstream-by-ip", .error, location, "\(what) names the container address \(ip), which changes on every deploy",
              fix: "use the service name on the shared network (e.g. db instead of \(ip)); a service on another VM gets host: in the stack file")
    }

    /// The files of a service's `env_file:` (a path, a list of paths, or of {path:, required:}),
    /// relative to the compose file, checked like `environment:`. Only the variable's name is
    /// shown: env files hold passwords (DATABASE_URL=postgres://user:secret@…).
    func envFileIPs(_ node: YAMLNode?, composeFile: String, service: String) -> [DoctorFinding] {
        var paths: [String] = []
        switch node {
        case .scalar(let s, _, _)?: paths = [s]
        case .sequence(let items, _)?:
            for item in items {
                if case .scalar(let s, _, _) = item { paths.append(s) } else if let p = Self.strings(Self.value(item, "path")).first { paths.append(p) }
            }
        default: break
        }
        let directory = composeFile.lastIndex(of: "/").map { String(composeFile[..<$0]) } ?? "."
        var out: [DoctorFinding] = []
        for p in paths {
            let path = p.hasPrefix("/") ? p : "\(directory)/\(p.hasPrefix("./") ? String(p.dropFirst(2)) : p)"
            guard let bytes = try? FileSystem.read(path, limit: 1 << 20) else { continue }
            for (i, raw) in String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let line = raw.trimmingPrefix(while: { $0 == " " || $0 == "\t" })
                guard !line.hasPrefix("#"), let eq = line.firstIndex(of: "=") else { continue }
                var name = line[..<eq]
                if name.hasPrefix("export ") { name = name.dropFirst(7) }
                guard let ip = containerIP(in: String(line[line.index(after: eq)...])) else { continue }
                out.append(Self.upstreamByIP("\(name.trimmingSpaces)", ip: ip, at: "\(path):\(i + 1) (env_file of services.\(service))"))
            }
        }
        return out
    }

    // MARK: nginx

    func checkNginx(_ dir: String) -> [DoctorFinding] {
        var out: [DoctorFinding] = []
        for name in FileSystem.list(dir).sorted() where name.hasSuffix(".conf") {
            let path = "\(dir)/\(name)"
            guard let bytes = try? FileSystem.read(path) else { continue }
            for (i, line) in String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                // One statement at a time: `server { listen 443 ssl; …; proxy_pass http://…; }` may be one line.
                let code = line.prefix { $0 != "#" }
                for statement in code.split(whereSeparator: { $0 == ";" || $0 == "{" || $0 == "}" }) {
                    let t = statement.trimmingPrefix(while: { $0 == " " || $0 == "\t" })
                    guard t.hasPrefix("proxy_pass ") || t.hasPrefix("server ") || (t.hasPrefix("set ") && t.contains("://")) else { continue }
                    if t.hasPrefix("server ") && !t.contains(":") && !t.contains(".") { continue }
                    if let ip = containerIP(in: String(t)) {
                        out.append(.init("upstream-by-ip", .error, "\(path):\(i + 1)", "nginx proxies to \(ip): a container address that changes on every deploy",
                                         fix: "proxy to the service name on the shared network (certs emit nginx does), or declare host: \(ip) for a service on another VM"))
                    }
                }
            }
        }
        return out
    }
}
