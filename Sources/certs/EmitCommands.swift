import ArgumentParser
import CertsCore

struct EmitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emit",
        abstract: "Write deploy files from the stack file.",
        subcommands: [EmitNginx.self, EmitCron.self, EmitSystemd.self, EmitCompose.self, EmitCI.self, EmitK8s.self,
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

    @Option(name: .customLong("nginx-version"), help: ArgumentHelp("Version of the nginx that will load the config (1.25.1+ gets `http2 on`).", valueName: "x.y.z"))
    var nginxVersion = "1.27.0"

    @Flag(name: .customLong("post-quantum"), help: "Offer X25519MLKEM768 first (needs nginx built with OpenSSL 3.5 or later).")
    var postQuantum = false

    @Flag(help: "Replace files at the paths certs writes that certs did not write (never the stack file).")
    var force = false

    @Flag(help: "Print the files written as JSON (version 1).")
    var json = false

    func run() throws {
        let stack = try stackOptions.load()
        let version = try Self.parseVersion(nginxVersion)
        let certStore = CertificateStore(root: store.path)
        var ocsp: Set<String> = []
        for domain in stack.domains {
            let path = certStore.paths(domain.certificate).certificate
            if let doc = try? CryptoDocument(bytes: try FileSystem.read(path), source: path),
               let leaf = doc.certificates.first, !leaf.authorityInfoAccess.ocsp.isEmpty {
                ocsp.insert(domain.certificate)
            }
        }
        let emitter = NginxEmitter(stack: stack, target: .init(nginxVersion: version, postQuantumKeyExchange: postQuantum), ocspCertificates: ocsp)
        EmitReport.start(json: json)
        let files = emitter.files().map { FileBatch.File(path: "\(out)/\($0.path)", text: $0.contents) }
        try EmitReport.write(FileBatch(files: files, header: NginxEmitter.header, force: force, inputs: [stackOptions.stack]))
        EmitReport.finish("emit nginx")
    }

    static func parseVersion(_ text: String) throws -> (Int, Int, Int) {
        let parts = text.split(separator: ".").map { Int($0) }
        guard (2...3).contains(parts.count), parts.allSatisfy({ $0 != nil }) else {
            throw InputError.invalidValue(option: "--nginx-version", value: text, reason: "use x.y or x.y.z, e.g. 1.22.1")
        }
        return (parts[0]!, parts[1]!, parts.count > 2 ? parts[2]! : 0)
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

    @Option(name: .customLong("renewal-max-age"), help: ArgumentHelp("Alert when no certs renew run succeeded within this many hours (default 48).", valueName: "hours"))
    var renewalMaxAge = 48

    @Option(name: .customLong("check-max-age"), help: ArgumentHelp("Alert when certs check has not run for this many hours (default 48).", valueName: "hours"))
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
