import ArgumentParser
import CertsCore

struct DeployCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deploy",
        abstract: "Check the certificates, emit the nginx config, test, swap in, reload, and probe; roll back on any failure.",
        discussion: """
        Steps: every certificate the config references must be in the store with a matching key, a \
        valid chain for every name and not past --crit (days and/or percentage of the lifetime left, as certs check); the emitted files replace the \
        previous ones in --out; --test-command (default `nginx -t`) must pass; --reload-command \
        (default `nginx -s reload`) must succeed; each domain is then probed over TLS with SNI and \
        must serve the store's certificate. A failure after the swap restores the previous files \
        (and reloads them again if nginx had taken the new ones).
        For nginx in a container: --test-command 'docker compose exec -T nginx nginx -t' \
        --reload-command 'docker compose exec -T nginx nginx -s reload' --version-command 'docker compose exec -T nginx nginx -V'.
        The config is written for the nginx that loads it: unless --nginx-version and --openssl-version \
        are both given, deploy reads them from `nginx -V` of the live binary (http2 syntax, X25519MLKEM768 \
        only on OpenSSL 3.5+); the stack's nginx.version/openssl are used only when that command fails.
        First run: when a domain has no certificate in the store yet (a fresh VM), deploy bootstraps \
        it: an HTTP-only config that answers ACME challenges goes live first, the certificate is \
        obtained (tls.source acme: over HTTP-01 through --webroot, recorded for `certs renew`; \
        tls.source local: from the local CA), then the HTTPS config replaces it. --no-bootstrap \
        turns this off. With tls.source local, a successful deploy ends with the local CA root's path \
        and the commands that make a machine or a browser trust it.
        Exit codes: 0 deployed; 1 refused or failed, previous config in place; 2 bad input; \
        3 output not writable; 5 the rollback itself failed (check the nginx config now).
        """
    )

    @OptionGroup var stackOptions: StackOptions
    @OptionGroup var store: StoreOptions

    @Option(name: [.customLong("out"), .customShort("o")], help: ArgumentHelp("Directory holding conf.d/ for nginx.", valueName: "dir"))
    var out = "nginx"

    @Flag(name: .customLong("dry-run"), help: "Check certificates and print the diff; change nothing.")
    var dryRun = false

    @Option(name: .customLong("test-command"), help: ArgumentHelp("Command that tests the nginx config.", valueName: "cmd"))
    var testCommand = "nginx -t"

    @Option(name: .customLong("reload-command"), help: ArgumentHelp("Command that reloads nginx.", valueName: "cmd"))
    var reloadCommand = "nginx -s reload"

    @Option(name: .customLong("probe-address"), help: ArgumentHelp("Address of nginx's HTTPS listener for the post-reload probe.", valueName: "ip"))
    var probeAddress = "127.0.0.1"

    @Flag(name: .customLong("no-probe"), help: "Skip the TLS probe after reloading.")
    var noProbe = false

    @Option(help: ArgumentHelp("Trusted roots (PEM) for the certificate checks; default: the local CA's root for tls.source local, else the system store.", valueName: "file"))
    var trust: String?

    /// --crit refuses a certificate (--warn only has to be above it).
    @OptionGroup var thresholdOptions: ThresholdOptions

    /// Without both versions, deploy asks the live nginx (`--version-command`).
    @OptionGroup var targetOptions: NginxTargetOptions

    @Option(name: .customLong("version-command"), help: ArgumentHelp("Command printing the live nginx's `nginx -V` (in a container: 'docker compose exec -T nginx nginx -V').", valueName: "cmd"))
    var versionCommand = "nginx -V"

    @Flag(name: .customLong("no-bootstrap"), help: "Never obtain missing certificates; refuse instead.")
    var noBootstrap = false

    @Option(help: ArgumentHelp("Bootstrap: the ACME directory URL (default: tls.acme of the stack).", valueName: "url"))
    var acme: String?

    @Flag(name: .customLong("agree-tos"), help: "Bootstrap: accept the ACME CA's terms of service.")
    var agreeTOS = false

    @Option(name: .customLong("ca-bundle"), help: ArgumentHelp("Bootstrap: roots trusted for the ACME server's HTTPS.", valueName: "file"))
    var caBundle: String?

    @Option(help: ArgumentHelp("Bootstrap: where challenge files go on this machine (default: nginx.webroot of the stack).", valueName: "dir"))
    var webroot: String?

    @Flag(help: "Print the report as JSON.")
    var json = false

    @Option(help: ArgumentHelp("When the deploy fails: alert webhook=URL or command=CMD, as certs check does. Repeatable.", valueName: "target"))
    var alert: [String] = []

    func run() throws {
        let thresholds = try thresholdOptions.thresholds()
        let alertTargets = try alert.map { try AlertTarget(parsing: $0) }
        let stack = try stackOptions.load()
        let certStore = CertificateStore(root: store.path)
        let trustStore = try trust.map { try TrustStore.certificates(try readDocument($0).certificates, origin: $0) }
            ?? Deployer.defaultTrust(stack: stack, store: certStore)
        var options = Deployer.Options(outputDirectory: out)
        options.testCommand = testCommand
        options.reloadCommand = reloadCommand
        options.probeAddress = noProbe ? nil : probeAddress
        options.thresholds = thresholds
        options.nginxVersion = try targetOptions.explicitNginx
        options.openSSLVersion = try targetOptions.explicitOpenSSL
        options.versionCommand = versionCommand
        var deployer = Deployer(stack: stack, store: certStore, trust: trustStore, options: options)
        if !noBootstrap { deployer.obtainCertificates = try bootstrap(stack: stack, store: certStore).obtain }
        let report = try deployer.run(now: currentUnixTime(), dryRun: dryRun)

        if json {
            Terminal.out(report.json.rendered())
        } else {
            for step in report.steps {
                Terminal.out("\(step.ok ? "ok  " : "FAIL") \(step.name): \(step.detail)")
            }
            if dryRun && !report.diff.isEmpty { Terminal.writeBytes(Array(report.diff.utf8)) }
            if report.success, !dryRun, stack.tls.source == .local, FileSystem.exists(LocalCATrust.rootPath(store: store.path)) {
                Self.printTrustHint(root: LocalCATrust.rootPath(store: store.path))
            }
        }
        if let signal = report.interrupted {
            throw Interrupted(signal: signal, subject: "the nginx config in \(out)/conf.d", restored: !report.rollbackFailed)
        }
        for problem in try Deployer.alertFailure(report, stack: stack, source: stackOptions.stack, targets: alertTargets, at: currentUnixTime()) {
            Terminal.note("warning: alert not delivered: \(problem)")
        }
        if report.rollbackFailed {
            Terminal.error("deploy failed and the rollback failed too: check \(out)/conf.d and nginx now")
            throw ExitCode(Exit.internal)
        }
        if !report.success {
            let failed = report.steps.first { !$0.ok }!
            Terminal.error("deploy \(report.rolledBack ? "failed and was rolled back" : "refused"): \(failed.name): \(failed.detail)")
            throw ExitCode(Exit.negative)
        }
    }

    /// tls.source local: browsers do not know the local CA; say where its root is and how to trust it.
    static func printTrustHint(root: String) {
        Terminal.out("")
        Terminal.out("The certificates come from the local CA, which browsers and other machines do not trust yet.")
        Terminal.out("Its root certificate: \(root)")
        Terminal.out("Trust it (once per machine that connects):")
        let steps = LocalCATrust.steps(root: root)
        let width = steps.map(\.target.count).max() ?? 0
        for step in steps { Terminal.out("  \(step.target + ":" + String(repeating: " ", count: width - step.target.count))  \(step.command)") }
    }

    /// The first-run bootstrap (DeployBootstrap), with this command's ACME options.
    func bootstrap(stack: Stack, store certStore: CertificateStore) throws -> DeployBootstrap {
        let acmeValue = acme ?? stack.tls.acme
        var bootstrap = DeployBootstrap(stack: stack, store: certStore, directoryURL: {
            guard let acmeValue else {
                throw InputError.invalidValue(option: "--acme", value: "", reason: "no certificate yet and no ACME directory: set tls.acme in the stack or give --acme")
            }
            return try ACMEShortcut.resolve(acmeValue)
        }, challengeDirectory: FileSystem.absolutePath(webroot ?? stack.nginx.webroot)) { try acmeHTTPClient(caBundle: $0) }
        bootstrap.agreeToTerms = agreeTOS
        bootstrap.dnsResolvers = try DNSOptions.environmentResolvers()
        bootstrap.caBundle = caBundle.map(FileSystem.absolutePath)
        return bootstrap
    }
}
