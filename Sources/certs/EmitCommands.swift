import Glibc
import ArgumentParser
import CertsCore

struct EmitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emit",
        abstract: "Write deploy files from the stack file.",
        subcommands: [EmitNginx.self, EmitCron.self, EmitSystemd.self, EmitCompose.self, EmitCI.self, EmitK8s.self, EmitBundle.self,
                      EmitPrometheusRules.self, EmitGrafana.self]
    )
}

/// `--stack FILE`, default ./stack.yaml.
struct StackOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The stack file.", valueName: "file"))
    var stack = "stack.yaml"

    func load() throws -> Stack { try Stack.load(path: stack) }
}

struct EmitNginx: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nginx",
        abstract: "Write the nginx HTTPS reverse-proxy configuration for every domain of the stack.",
        discussion: """
        Writes conf.d/00-certs-common.conf and conf.d/NAME.conf per domain under --out (default ./nginx), \
        for an nginx that includes conf.d/*.conf in its http block (as the official image does). \
        Files certs wrote before are replaced; any other file is left alone unless --force.
        """
    )

    @OptionGroup var stackOptions: StackOptions
    @OptionGroup var store: StoreOptions

    @Option(name: [.customLong("out"), .customShort("o")], help: ArgumentHelp("Output directory.", valueName: "dir"))
    var out = "nginx"

    @OptionGroup var targetOptions: NginxTargetOptions

    @Flag(help: "Replace files at the paths certs writes that certs did not write (never the stack file).")
    var force = false

    @Flag(help: "Print the files written as JSON (version 1).")
    var json = false

    func run() throws {
        let stack = try stackOptions.load()
        let target = try targetOptions.target(stack: stack)
        let certStore = CertificateStore(root: store.path)
        var ocsp: Set<String> = []
        for domain in stack.domains {
            let path = certStore.paths(domain.certificate).certificate
            if let doc = try? CryptoDocument(bytes: try FileSystem.read(path), source: path),
               let leaf = doc.certificates.first, !leaf.authorityInfoAccess.ocsp.isEmpty {
                ocsp.insert(domain.certificate)
            }
        }
        let emitter = NginxEmitter(stack: stack, target: target, ocspCertificates: ocsp)
        EmitReport.start(json: json)
        let files = emitter.files().map { FileBatch.File(path: "\(out)/\($0.path)", text: $0.contents) }
        try EmitReport.write(FileBatch(files: files, header: NginxEmitter.header, force: force, inputs: [stackOptions.stack]))
        EmitReport.finish("emit nginx")
    }

}

/// `--nginx-version` / `--openssl-version`: the binary that will load the config. Each falls back
/// to the stack file's `nginx.version` / `nginx.openssl`, then to nginx 1.27 on OpenSSL 3.0.
struct NginxTargetOptions: ParsableArguments {
    @Option(name: .customLong("nginx-version"), help: ArgumentHelp("Version of the nginx that will load the config (1.25.1+ gets `http2 on`; default: nginx.version of the stack, else 1.27.0).", valueName: "x.y.z"))
    var nginxVersion: String?

    @Option(name: .customLong("openssl-version"), help: ArgumentHelp("OpenSSL that nginx runs with (3.5+ gets X25519MLKEM768 first; default: nginx.openssl of the stack, else 3.0).", valueName: "x.y.z"))
    var openSSLVersion: String?

    static func parse(_ text: String?, option: String) throws -> SoftwareVersion? {
        guard let text else { return nil }
        guard let v = SoftwareVersion(parsing: text) else {
            throw InputError.invalidValue(option: option, value: text, reason: "use x.y or x.y.z, e.g. 1.22.1")
        }
        return v
    }

    var explicitNginx: SoftwareVersion? { get throws { try Self.parse(nginxVersion, option: "--nginx-version") } }
    var explicitOpenSSL: SoftwareVersion? { get throws { try Self.parse(openSSLVersion, option: "--openssl-version") } }

    func target(stack: Stack) throws -> NginxEmitter.Target {
        let d = NginxEmitter.Target()
        return .init(nginxVersion: try explicitNginx ?? stack.nginx.version ?? d.nginxVersion,
                     openSSLVersion: try explicitOpenSSL ?? stack.nginx.openSSLVersion ?? d.openSSLVersion)
    }
}

struct EmitBundle: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bundle",
        abstract: "Write exactly the files another VM needs for the encrypted hop: its terminator config, keys and the hop CA certificate.",
        discussion: """
        For the services on --host reached over the hop (host: without tls: plain), writes under --out \
        (default hop/ADDRESS next to the stack file, what `certs emit compose --host ADDRESS` mounts): \
        conf.d/certs-hop.conf (the TLS terminator: TLS 1.3, ssl_verify_client on against the hop CA only, \
        proxying to each service by name), tls/hop-ca.pem, and tls/hop-SERVICE/fullchain.pem and privkey.pem \
        (mode 0600). Never a CA key and never the front's client key. Run `certs ca hop` first; after \
        `certs renew` run it again (with --force) and copy the directory over, then reload the terminator.
        """
    )

    @OptionGroup var stackOptions: StackOptions
    @OptionGroup var store: StoreOptions

    @Option(help: ArgumentHelp("The other VM: a host: address from the stack.", valueName: "address"))
    var host: String

    @Option(name: [.customLong("out"), .customShort("o")], help: ArgumentHelp("Output directory (default: hop/ADDRESS next to the stack file).", valueName: "dir"))
    var out: String?

    @Option(help: ArgumentHelp("Where tls/ is mounted as the terminator sees it.", valueName: "path"))
    var mount = HopBundleEmitter.defaultMount

    @Option(name: .customLong("listen-address"), help: ArgumentHelp("Listen on this address only (a terminator on the VM's own nginx rather than in a container).", valueName: "ip"))
    var listenAddress: String?

    @Flag(help: "Replace files at the paths certs writes that certs did not write (never the stack file).")
    var force = false

    @Flag(help: "Print the files written as JSON (version 1).")
    var json = false

    func run() throws {
        EmitReport.start(json: json)
        let stack = try stackOptions.load()
        guard let ip = IPAddress.normalize(host) else {
            throw InputError.invalidValue(option: "--host", value: host, reason: "use the private IP address given as host: in the stack")
        }
        if let listenAddress, IPAddress.normalize(listenAddress) == nil {
            throw InputError.invalidValue(option: "--listen-address", value: listenAddress, reason: "use an IP address")
        }
        guard mount.hasPrefix("/"), !mount.contains(" "), !mount.contains(";") else {
            throw InputError.invalidValue(option: "--mount", value: mount, reason: "use an absolute path without spaces or ';'")
        }
        let emitter = HopBundleEmitter(stack: stack, host: ip, mount: mount, listenAddress: listenAddress.flatMap(IPAddress.normalize))
        let certStore = CertificateStore(root: store.path)
        // Read everything before writing anything.
        var servers: [String: (fullchain: [UInt8], key: [UInt8])] = [:]
        for s in try emitter.services() {
            let p = certStore.paths(HopPKI.serverName(s.name))
            guard FileSystem.exists(p.fullchain) else {
                throw InputError.invalidValue(option: "--host", value: ip, reason: "no hop certificate \(HopPKI.serverName(s.name)) in the store: run certs ca hop --stack \(stackOptions.stack) first")
            }
            servers[s.name] = (try FileSystem.read(p.fullchain), try FileSystem.read(p.key))
        }
        let root = try FileSystem.read("\(HopPKI.caDirectory(store: store.path))/root.pem")
        let dir = out ?? "\(stackDirectory(stackOptions.stack))/\(HopBundleEmitter.defaultDirectory(host: ip))"
        let files = try emitter.files(.init(caRoot: root, servers: servers)).map {
            FileBatch.File(path: "\(dir)/\($0.path)", contents: $0.contents, mode: mode_t($0.mode))
        }
        try EmitReport.write(FileBatch(files: files, header: HopBundleEmitter.header, force: force, inputs: [stackOptions.stack]))
        EmitReport.finish("emit bundle")
    }
}

/// `certs emit prometheus-rules` and `certs emit grafana`: monitoring files over check's metrics.
struct EmitPrometheusRules: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prometheus-rules",
        abstract: "Write Prometheus alerting rules over certs check's metrics (expiring, expired, revoked, unreadable, endpoint down, stale renew, served ≠ store).",
        discussion: """
        --warn and --crit are check's thresholds (default 30,33% and 7,10%), evaluated in PromQL from \
        x509_cert_not_before and x509_cert_not_after, so the alerts fire when certs check would warn. \
        For prometheus.yml's rule_files; check it with promtool check rules FILE. The metrics come \
        from certs check --format prometheus (the node_exporter textfile collector) or certs check \
        --listen (docs/prometheus.md). A file certs wrote before is replaced; any other file is left \
        alone unless --force.
        """
    )

    @Option(name: [.customLong("out"), .customShort("o")], help: ArgumentHelp("The rule file to write.", valueName: "file"))
    var out = "prometheus/certs-rules.yml"

    @OptionGroup var thresholdOptions: ThresholdOptions

    @Option(name: .customLong("renewal-max-age"), help: ArgumentHelp("Alert when no certs renew run succeeded within this many hours.", valueName: "hours"))
    var renewalMaxAge = 48

    @Option(name: .customLong("check-max-age"), help: ArgumentHelp("Alert when certs check has not run for this many hours.", valueName: "hours"))
    var checkMaxAge = 48

    @Flag(help: "Replace a file at --out that certs did not write.")
    var force = false

    @Flag(help: "Print the files written as JSON (version 1).")
    var json = false

    func validate() throws {
        guard (1...87_600).contains(renewalMaxAge) else { throw ValidationError("--renewal-max-age must be between 1 and 87600 hours") }
        guard (1...87_600).contains(checkMaxAge) else { throw ValidationError("--check-max-age must be between 1 and 87600 hours") }
    }

    func run() throws {
        let emitter = PrometheusRulesEmitter(thresholds: try thresholdOptions.thresholds(), renewalMaxAgeHours: renewalMaxAge, checkMaxAgeHours: checkMaxAge)
        EmitReport.start(json: json)
        try EmitReport.write(FileBatch(files: [FileBatch.File(path: out, text: emitter.file())], header: PrometheusRulesEmitter.header, force: force))
        EmitReport.finish("emit prometheus-rules")
    }
}

struct EmitGrafana: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grafana",
        abstract: "Write a Grafana dashboard (JSON) over certs check's metrics.",
        discussion: """
        Import it in Grafana (Dashboards > New > Import) and pick the Prometheus data source. A file \
        certs wrote before is replaced; any other file is left alone unless --force.
        """
    )

    @Option(name: [.customLong("out"), .customShort("o")], help: ArgumentHelp("The dashboard file to write.", valueName: "file"))
    var out = "grafana/certs-dashboard.json"

    @Option(help: ArgumentHelp("The dashboard's title.", valueName: "text"))
    var title = "Certificates (certs)"

    @Flag(help: "Replace a file at --out that certs did not write.")
    var force = false

    @Flag(help: "Print the files written as JSON (version 1).")
    var json = false

    func run() throws {
        EmitReport.start(json: json)
        let text = GrafanaDashboardEmitter(title: title).file()
        try EmitReport.write(FileBatch(files: [FileBatch.File(path: out, text: text)], header: GrafanaDashboardEmitter.header, force: force))
        EmitReport.finish("emit grafana")
    }
}
