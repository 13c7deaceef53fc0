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

    /// Set once the random delay has been waited (or skipped) in this run.
    nonisolated(unsafe) static var delayDecided = false

    /// Before the first real renewal of a non-interactive run: a random wait (cron jitter).
    func waitRandomDelayOnce() {
        guard !Self.delayDecided else { return }
        Self.delayDecided = true
        guard isatty(STDIN_FILENO) == 0 else { return }
        let limit = randomDelay ?? Terminal.environment("CERTS_RANDOM_DELAY").flatMap(Double.init) ?? 480
        guard limit > 0 else { return }
        let seconds = Double.random(in: 0..<limit)
        if verbose { Terminal.note("certs: waiting \(Int(seconds)) s before renewing (random delay up to \(Int(limit)) s; --random-delay 0 turns it off)") }
        pause(seconds)
    }

    struct Outcome {
        let name: String
        var status: String  // renewed, not-due, due (dry run), failed
        var reason: String
        var notAfter: Int64?
        var error: CertsFailure?
        /// The CA's page about its renewal window (RFC 9773 explanationURL), shown and alerted.
        var explanationURL: String? = nil
        /// The CA that issued the renewal (with several --acme, which one) and those passed over.
        var issuedBy: String? = nil
        var passedOver: [String] = []

        /// The failure, with the CA's explanation page when it gave one.
        var failureMessage: String {
            "\(name): \(error.map(ErrorHints.message(for:)) ?? reason)" + (explanationURL.map { " (the CA explains its renewal window at \($0))" } ?? "")
        }
    }

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
        let alertTargets = try alert.map { try AlertTarget(parsing: $0) }
        let targets = all ? FileSystem.list("\(certStore.root)/renewal").filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }.map { String($0.dropLast(5)) }.sorted() : names
        for n in targets { try CertificateStore.validate(name: n) }

        try FileSystem.makeDirectories("\(certStore.root)/renewal", mode: 0o755)
        let lockPath = "\(certStore.root)/renewal/.lock"
        let lock = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard lock >= 0 else { throw OutputError.cannotWrite(path: lockPath, reason: FileSystem.errorString(errno)) }
        defer { close(lock) }
        guard flock(lock, LOCK_EX | LOCK_NB) == 0 else {
            Terminal.error("another certs renew is running (\(lockPath) is locked); nothing done")
            Terminal.exit(Exit.negative)
        }

        let now = currentUnixTime()
        var outcomes: [Outcome] = []
        for name in targets {
            outcomes.append(renewOne(name, store: certStore, now: now))
            if !json { printLine(outcomes.last!) }
        }

        let renewed = outcomes.filter { $0.status == "renewed" }.map(\.name)
        var hookError: String? = nil
        if let deployHook, !renewed.isEmpty {
            let r = try Subprocess.shell(deployHook, environment: ["CERTS_RENEWED_NAMES": renewed.joined(separator: " "), "CERTS_STORE": certStore.root,
                                                                  "CERTS_LIVE_DIR": "\(certStore.root)/live"], timeout: 300)
            if !r.succeeded { hookError = "the deploy hook failed: \(r.failureDetail)" }
        }
        // Served = file: the renewal only counts once the server hands out the new certificate.
        var probes: [(name: String, host: String, problem: String?)] = []
        if !noProbe, !renewed.isEmpty, hookError == nil, deployHook != nil || probeAddress != nil {
            for name in renewed {
                guard let config = try? RenewalConfig.load(store: certStore, name: name),
                      let leaf = try? Certificate.parseAll(try FileSystem.read(certStore.paths(name).certificate), source: name).first else { continue }
                for host in config.names where !host.hasPrefix("*.") {
                    let problem = ServedCertificateProbe(address: probeAddress ?? host, port: probePort).problem(name: host, expected: leaf)
                    probes.append((name, host, problem))
                    if !json { Terminal.out("\(name): \(host) \(problem == nil ? "serves the renewed certificate" : "does NOT serve the renewed certificate")") }
                }
            }
        }
        let probeFailure = probes.first { $0.problem != nil }
        let firstFailure = outcomes.first { $0.status == "failed" }.map(\.failureMessage)
            ?? hookError ?? probeFailure.map { "\($0.host): \($0.problem ?? "")" }
        if !dryRun {
            // The heartbeat `certs check --renewal-max-age` reads: a cron job that stopped is caught.
            do { try RenewalHeartbeat.record(store: certStore, now: currentUnixTime(), success: firstFailure == nil, error: firstFailure ?? "") }
            catch { Terminal.note("warning: could not record the renewal heartbeat: \(error)") }
        }
        if firstFailure != nil, !alertTargets.isEmpty {
            // Failures alert too, not only expiry: everything that went wrong, in one message.
            let messages = outcomes.filter { $0.status == "failed" }.map(\.failureMessage)
                + [hookError].compactMap { $0 } + probes.compactMap { p in p.problem.map { "\(p.host): \($0)" } }
            let event = AlertEvent.failure(of: .renewal, source: RenewalHeartbeat.path(store: certStore),
                                           names: outcomes.filter { $0.status == "failed" }.map(\.name) + probes.filter { $0.problem != nil }.map(\.name),
                                           message: messages.joined(separator: "; "), at: currentUnixTime())
            for problem in (try Alerter(targets: alertTargets)).deliver(event) { Terminal.note("warning: alert not delivered: \(problem)") }
        }
        let failed = outcomes.filter { $0.status == "failed" }
        if json {
            Terminal.out(JSON.object([
                ("version", .int(1)),
                ("dryRun", .bool(dryRun)),
                ("certificates", .array(outcomes.map { o in
                    .object([("name", .string(o.name)), ("status", .string(o.status)), ("reason", .string(o.reason)),
                             ("notAfter", o.notAfter.map { .string(RFC3339.format($0)) } ?? .null),
                             ("explanationURL", .optional(o.explanationURL)), ("issuedBy", .optional(o.issuedBy)),
                             ("passedOver", .strings(o.passedOver))])
                })),
                ("renewed", .strings(renewed)),
                ("deployHook", deployHook == nil || renewed.isEmpty ? .null : .string(hookError == nil ? "ok" : "failed")),
                ("probes", .array(probes.map { p in
                    .object([("name", .string(p.name)), ("host", .string(p.host)), ("ok", .bool(p.problem == nil)), ("detail", .optional(p.problem))])
                })),
            ]).rendered())
        } else {
            let due = outcomes.filter { $0.status == "due" }.count
            Terminal.out("renewed \(renewed.count), \(dryRun ? "due \(due), " : "")not due \(outcomes.filter { $0.status == "not-due" }.count), failed \(failed.count)")
        }
        if let first = failed.first?.error {
            if !json { Terminal.error(ErrorHints.message(for: first)) } else { Terminal.note("error: \(ErrorHints.message(for: first))") }
            Terminal.exit(Certs.code(for: first.kind))
        }
        if let hookError {
            Terminal.error(hookError)
            Terminal.exit(Exit.negative)
        }
        if let probeFailure, let problem = probeFailure.problem {
            Terminal.error("renewed \(probeFailure.name), but the server does not serve it yet (was it reloaded?): \(problem)")
            Terminal.exit(Exit.negative)
        }
    }

    func printLine(_ o: Outcome) {
        Terminal.out("\(o.name): \(o.status)\(o.reason.isEmpty ? "" : " (\(o.reason))")")
        if let url = o.explanationURL { Terminal.out("\(o.name): the CA explains its renewal window at \(url)") }
        for p in o.passedOver { Terminal.out("\(o.name): passed over \(Terminal.escapingControls(p))") }
        if let by = o.issuedBy { Terminal.out("\(o.name): issued by the CA at \(by)") }
    }

    func renewOne(_ name: String, store certStore: CertificateStore, now: Int64) -> Outcome {
        var outcome = Outcome(name: name, status: "failed", reason: "", notAfter: nil, error: nil)
        do {
            if let hop = try HopPKI.Record.loadIfHop(store: certStore, name: name) { return renewHop(hop, store: certStore, now: now) }
            let config = try RenewalConfig.load(store: certStore, name: name)
            // Made only when the CA is contacted: a not-due certificate decided from the cached
            // renewal information reads no CA bundle and opens no connection.
            let http = LazyHTTPClient { try acmeHTTPClient(caBundle: config.caBundle, timeout: timeout) }
            let certPath = certStore.paths(name).certificate
            var decision = RenewalDecision(due: true, reason: "no live certificate", explanationURL: nil)
            var replaces: String? = nil
            if FileSystem.exists(certPath), let cert = try Certificate.parseAll(try FileSystem.read(certPath), source: certPath).first {
                outcome.notAfter = cert.notAfter
                replaces = RenewalPolicy.ariCertificateID(cert)
                decision = try self.decide(cert, config: config, store: certStore, name: name, http: http, now: now)
            }
            if force { decision = RenewalDecision(due: true, reason: "--force", explanationURL: decision.explanationURL) }
            outcome.reason = decision.reason
            outcome.explanationURL = decision.explanationURL
            guard decision.due else { outcome.status = "not-due"; return outcome }
            if dryRun { outcome.status = "due"; return outcome }
            waitRandomDelayOnce()
            var issuer = ACMEIssuer(store: certStore, http: try http.get())
            if verbose { issuer.log = { Terminal.note("certs: \(name): \($0)") } }
            let ids = try config.names.map { try ACMEIdentifier(parsing: $0) }
            var request = IssuanceRequest(directoryURL: config.directoryURL, identifiers: ids, method: config.method, email: config.email,
                                          keyType: config.keyType, reuseKey: config.reuseKey, name: name, preferredChain: config.preferredChain,
                                          profile: config.profile, replaces: replaces)
            try dns.apply(to: &request)
            let result = try issuer.issue(request, directories: config.directories, replacesAt: config.directoryURL)
            if result.directoryURL != config.directoryURL {
                // Fallback: the record follows the CA that issued (ARI, revoke ask that one).
                var moved = config
                moved.directoryURL = result.directoryURL
                moved.acmeList = config.directories
                try moved.save(store: certStore)
            }
            outcome.issuedBy = result.directoryURL
            outcome.passedOver = result.passedOver.map { "\($0.directoryURL): \($0.reason)" }
            outcome.status = "renewed"
            outcome.notAfter = result.certificate.notAfter
            return outcome
        } catch let failure as CertsFailure {
            outcome.error = failure
            outcome.reason = failure.description
            return outcome
        } catch {
            outcome.error = ACMEError.invalidRequest("\(error)")
            outcome.reason = "\(error)"
            return outcome
        }
    }

    /// A certificate of the internal hop CA: due in the last third of its lifetime (or --days),
    /// issued again from `<store>/hop-ca`; no CA to contact, so no random delay.
    func renewHop(_ record: HopPKI.Record, store certStore: CertificateStore, now: Int64) -> Outcome {
        var outcome = Outcome(name: record.name, status: "failed", reason: "", notAfter: nil, error: nil)
        do {
            let certPath = certStore.paths(record.name).certificate
            var decision: (due: Bool, reason: String) = (true, "no live certificate")
            if FileSystem.exists(certPath), let cert = try Certificate.parseAll(try FileSystem.read(certPath), source: certPath).first {
                outcome.notAfter = cert.notAfter
                let left = daysBetween(now, cert.notAfter)
                decision = (RenewalPolicy.isDue(notBefore: cert.notBefore, notAfter: cert.notAfter, now: now, days: days),
                            days.map { "\(left) days left, --days \($0)" } ?? "\(left) days left of \(cert.lifetime / 86400)")
            }
            if force { decision = (true, "--force") }
            outcome.reason = decision.reason + " (internal hop CA)"
            guard decision.due else { outcome.status = "not-due"; return outcome }
            if dryRun { outcome.status = "due"; return outcome }
            let cert = try HopPKI.renew(record, store: certStore, now: now)
            outcome.status = "renewed"
            outcome.notAfter = cert.notAfter
        } catch let failure as CertsFailure {
            outcome.error = failure
            outcome.reason = failure.description
        } catch {
            let failure = InputError.malformed(path: RenewalConfig.path(store: certStore, name: record.name), what: "hop certificate", detail: "\(error)")
            outcome.error = failure
            outcome.reason = failure.description
        }
        return outcome
    }

    /// --days, else ARI when the CA has it (from the cached answer while it is fresh, RFC 9773
    /// §4.3), else the last third of the lifetime; below 1/20 of the lifetime, due whatever ARI says.
    func decide(_ cert: Certificate, config: RenewalConfig, store: CertificateStore, name: String, http: LazyHTTPClient, now: Int64) throws -> RenewalDecision {
        func decision(_ ari: RenewalInfoRecord?) -> RenewalDecision {
            RenewalPolicy.decide(notBefore: cert.notBefore, notAfter: cert.notAfter, now: now, days: days, ari: ari)
        }
        guard days == nil, let id = RenewalPolicy.ariCertificateID(cert) else { return decision(nil) }
        // ARI is advice: when the CA cannot be asked, the local rule decides (a CA outage must not
        // turn a not-yet-due certificate into a failed cron run).
        let (record, error) = RenewalInfoRecord.current(store: store, name: name, certificateID: id, directoryURL: config.directoryURL, now: now,
                                                         fraction: Double.random(in: 0...1)) {
            try renewalInfoClient(store: store, directoryURL: config.directoryURL, http: try http.get())
        }
        if let error { Terminal.note("warning: \(name): could not read the renewal information: \(error)") }
        if let problem = record?.problem, record?.fetchedAt == now { Terminal.note("warning: \(name): the CA's renewal information was not used: \(problem)") }
        return decision(record)
    }
}

/// A client for reading renewal information: the stored account key when there is one (no
/// request is signed), else a throwaway key.
func renewalInfoClient(store: CertificateStore, directoryURL: String, http: HTTPClient) throws -> ACMEClient {
    let key = try (try? ACMEAccountStore(store: store).key(for: directoryURL, create: false).key) ?? PrivateKey.generate(.ecP256)
    return try ACMEClient(directoryURL: directoryURL, accountKey: key, http: http)
}

/// An HTTP client made on first use.
final class LazyHTTPClient {
    private let make: () throws -> HTTPClient
    private var client: HTTPClient?
    init(_ make: @escaping () throws -> HTTPClient) { self.make = make }
    func get() throws -> HTTPClient {
        if let client { return client }
        let c = try make()
        client = c
        return c
    }
}
