import ArgumentParser
import CertsCore
#if canImport(Glibc)
import Glibc
#endif

struct RenewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "renew",
        abstract: "Renew ACME certificates that are due, repeating their recorded request (for cron).",
        discussion: """
        Each NAME (or every <store>/renewal/*.json with --all) is renewed when due: when the CA offers \
        ACME Renewal Information (RFC 9773) and the instant drawn in its suggested window has passed (the \
        answer is kept until its Retry-After; the order then names the certificate it replaces); otherwise in \
        the last third of the certificate's lifetime, or within --days of expiry; and whatever the window says, \
        with less than 1/20 of the lifetime left. --force renews regardless; --dry-run only \
        reports. A lock (<store>/renewal/.lock, flock) keeps two runs from renewing at once. After at least one \
        renewal, --deploy-hook runs once with CERTS_RENEWED_NAMES (space-separated), CERTS_STORE and \
        CERTS_LIVE_DIR. One line per certificate, then a summary. Exit 0 when nothing failed (renewed or not \
        due); 1 when another run holds the lock or the deploy hook failed; otherwise the code of the first \
        failure (4 the CA failed, 2 a bad configuration).
        Served = file: after the deploy hook (or with --probe-address), each renewed name is fetched over \
        TLS with SNI (at --probe-address, default the name itself, port --probe-port) and must serve the \
        new certificate; a server still serving the old one (nginx never reloaded, wrong file) makes the \
        run fail with exit 1. --no-probe skips this.
        Run without a terminal (cron, systemd), renew waits a random 0…--random-delay seconds (default \
        480, or CERTS_RANDOM_DELAY) before its first renewal, so that many machines with the same \
        schedule do not reach the CA at the same second; nothing is waited for when nothing is due.
        """
    )

    @Argument(help: ArgumentHelp("Store names to renew.", valueName: "name"))
    var names: [String] = []

    @Flag(help: "Renew every certificate with a renewal configuration.")
    var all = false

    @Option(help: ArgumentHelp("Renew when at most this many days are left (instead of ARI / the last third).", valueName: "n"))
    var days: Int?

    @Flag(help: "Renew even when not due.")
    var force = false

    @Flag(name: .customLong("dry-run"), help: "Only report what is due; request nothing.")
    var dryRun = false

    @Option(name: .customLong("deploy-hook"), help: ArgumentHelp("Shell command run once after any renewal.", valueName: "command"))
    var deployHook: String?

    @OptionGroup var store: StoreOptions

    @OptionGroup var dns: DNSOptions

    /// --verbose (every command has it, see `Spelling`): progress on stderr.
    var verbose: Bool { Verbosity.verbose }

    @Option(help: ArgumentHelp("Seconds one HTTP exchange with the CA may take.", valueName: "seconds"))
    var timeout: Double = 30

    @Flag(help: "Print the result as JSON (version 1).")
    var json = false

    @Option(name: .customLong("probe-address"), help: ArgumentHelp("Where to fetch the served certificate after renewing (default: each name itself).", valueName: "ip"))
    var probeAddress: String?

    @Option(name: .customLong("probe-port"), help: ArgumentHelp("Port of that TLS server.", valueName: "port"))
    var probePort: UInt16 = 443

    @Flag(name: .customLong("no-probe"), help: "Do not check that the server serves the renewed certificate.")
    var noProbe = false

    @Option(help: ArgumentHelp("When the run fails (a renewal, the deploy hook, or the served-certificate check): alert webhook=URL or command=CMD, as certs check does. Repeatable.", valueName: "target"))
    var alert: [String] = []

    @Option(name: .customLong("random-delay"), help: ArgumentHelp("Longest random wait before the first renewal when not run from a terminal (default 480; 0: none).", valueName: "seconds"))
    var randomDelay: Double?

    func run() throws {
        let certStore = CertificateStore(root: store.path)
        guard all != !names.isEmpty else {
            throw InputError.invalidValue(option: "renew", value: names.joined(separator: " "), reason: "give certificate names or --all (not both)")
        }
        if let days, days < 0 { throw InputError.invalidValue(option: "--days", value: String(days), reason: "must be 0 or more") }
        // Checked up front: the HTTP client (which checks it too) is made only when the CA is contacted.
        guard timeout > 0, timeout <= 600 else {
            throw InputError.invalidValue(option: "--timeout", value: String(timeout), reason: "give seconds between 0 and 600")
        }
        var options = RenewalRun.Options(names: all ? RenewalRun.allNames(store: certStore) : names)
        (options.days, options.force, options.dryRun, options.deployHook) = (days, force, dryRun, deployHook)
        (options.probeAddress, options.probePort, options.probe) = (probeAddress, probePort, !noProbe)
        options.alerts = try alert.map { try AlertTarget(parsing: $0) }
        (options.dnsResolvers, options.dnsTimeout, options.checkCAA) = (try dns.resolvers(), dns.timeout, !dns.noCAACheck)
        // The random delay is for cron and systemd, not for a person at a terminal.
        options.randomDelay = isatty(STDIN_FILENO) != 0 ? 0 : randomDelay ?? Terminal.environment("CERTS_RANDOM_DELAY").flatMap(Double.init) ?? 480
        var renewal = RenewalRun(store: certStore, options: options) { [timeout] in try acmeHTTPClient(caBundle: $0, timeout: timeout) }
        if verbose { renewal.log = { Terminal.note($0) } }
        renewal.warn = { Terminal.note($0) }
        if !json {
            renewal.onOutcome = printLine
            renewal.onProbe = { p in Terminal.out("\(p.name): \(p.host) \(p.problem == nil ? "serves the renewed certificate" : "does NOT serve the renewed certificate")") }
        }
        let report: RenewalReport
        do { report = try renewal.run() } catch let locked as RenewalRun.Locked {
            Terminal.error("another certs renew is running (\(locked.path) is locked); nothing done")
            Terminal.exit(Exit.negative)
        }
        for problem in report.alertProblems { Terminal.note("warning: alert not delivered: \(problem)") }
        if json { Terminal.out(Self.json(report).rendered()) } else { Terminal.out(Self.summary(report)) }
        try finish(report)
    }

    /// The exit code, decided here: the first failed renewal's, then the hook's, then the probe's.
    func finish(_ report: RenewalReport) throws {
        if let first = report.failed.first?.error {
            if !json { Terminal.error(ErrorHints.message(for: first)) } else { Terminal.note("error: \(ErrorHints.message(for: first))") }
            Terminal.exit(Certs.code(for: first.kind))
        }
        if let hookError = report.hookError {
            Terminal.error(hookError)
            Terminal.exit(Exit.negative)
        }
        if let probeFailure = report.probeFailure, let problem = probeFailure.problem {
            Terminal.error("renewed \(probeFailure.name), but the server does not serve it yet (was it reloaded?): \(problem)")
            Terminal.exit(Exit.negative)
        }
    }

    static func summary(_ report: RenewalReport) -> String {
        let due = report.outcomes.filter { $0.status == .due }.count
        return "renewed \(report.renewed.count), \(report.dryRun ? "due \(due), " : "")not due \(report.outcomes.filter { $0.status == .notDue }.count), failed \(report.failed.count)"
    }

    static func json(_ report: RenewalReport) -> JSON {
        JSON.object([
            ("version", .int(1)),
            ("dryRun", .bool(report.dryRun)),
            ("certificates", .array(report.outcomes.map { o in
                .object([("name", .string(o.name)), ("status", .string(o.status.rawValue)), ("reason", .string(o.reason)),
                         ("notAfter", o.notAfter.map { .string(RFC3339.format($0)) } ?? .null),
                         ("explanationURL", .optional(o.explanationURL)), ("issuedBy", .optional(o.issuedBy)),
                         ("passedOver", .strings(o.passedOver))])
            })),
            ("renewed", .strings(report.renewed)),
            ("deployHook", !report.hookRan ? .null : .string(report.hookError == nil ? "ok" : "failed")),
            ("probes", .array(report.probes.map { p in
                .object([("name", .string(p.name)), ("host", .string(p.host)), ("ok", .bool(p.problem == nil)), ("detail", .optional(p.problem))])
            })),
        ])
    }

    func printLine(_ o: RenewalOutcome) {
        Terminal.out("\(o.name): \(o.status.rawValue)\(o.reason.isEmpty ? "" : " (\(o.reason))")")
        if let url = o.explanationURL { Terminal.out("\(o.name): the CA explains its renewal window at \(url)") }
        for p in o.passedOver { Terminal.out("\(o.name): passed over \(Terminal.escapingControls(p))") }
        if let by = o.issuedBy { Terminal.out("\(o.name): issued by the CA at \(by)") }
    }
}
