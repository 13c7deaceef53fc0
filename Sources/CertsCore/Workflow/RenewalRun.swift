#if canImport(Glibc)
import Glibc
#endif

/// One `certs renew` run: the lock, the due decision per certificate, the random delay before
/// the first renewal, the renewals, the deploy hook, the served-certificate probe, the heartbeat
/// and the failure alert. Returns a `RenewalReport` for the command to format; time comes from
/// `clock`, so tests pin the due decision.
///
/// SIGINT/SIGTERM after a certificate was renewed and before the hook and probe are done puts
/// the previous `live/` versions back and throws `Interrupted`.
public struct RenewalRun {
    public struct Options {
        /// Store names, in order (the command resolves --all through `RenewalRun.allNames`).
        public var names: [String]
        /// Renew when at most this many days are left (instead of ARI / the last third).
        public var days: Int?
        public var force = false
        public var dryRun = false
        public var deployHook: String?
        public var probeAddress: String?
        public var probePort: UInt16 = 443
        public var probe = true
        public var alerts: [AlertTarget] = []
        /// Longest random wait before the first renewal (0: none; the command passes 0 on a terminal).
        public var randomDelay: Double = 0
        /// DNS-01 and CAA: the resolvers (empty: resolv.conf), how long to wait for every
        /// authoritative server (0: do not check), and whether CAA is checked before ordering.
        public var dnsResolvers: [DNSServer] = []
        public var dnsTimeout: Double = 120
        public var checkCAA = true

        public init(names: [String]) { self.names = names }
    }

    public let store: CertificateStore
    public var options: Options
    public var clock: Clock
    /// The HTTP client for a renewal record's CA (its caBundle), made only when the CA is contacted.
    public var httpClient: (_ caBundle: String?) throws -> HTTPClient
    /// Progress (--verbose): the ACME exchange, the random delay.
    public var log: ((String) -> Void)?
    /// Warnings, as they happen ("warning: …").
    public var warn: (String) -> Void = { _ in }
    /// Each certificate's outcome as soon as it is known, and each probe's (for line-by-line output).
    public var onOutcome: (RenewalOutcome) -> Void = { _ in }
    public var onProbe: (RenewalProbe) -> Void = { _ in }

    public init(store: CertificateStore, options: Options, clock: Clock = .system,
                httpClient: @escaping (_ caBundle: String?) throws -> HTTPClient) {
        self.store = store
        self.options = options
        self.clock = clock
        self.httpClient = httpClient
    }

    /// Every name with a renewal configuration (`--all`), sorted.
    public static func allNames(store: CertificateStore) -> [String] {
        FileSystem.list("\(store.root)/renewal").filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }.map { String($0.dropLast(5)) }.sorted()
    }

    /// Another run holds `<store>/renewal/.lock`: nothing was done.
    public struct Locked: Error, Equatable {
        public let path: String
    }

    public func run() throws -> RenewalReport {
        let certStore = store
        for n in options.names { try CertificateStore.validate(name: n) }

        try FileSystem.makeDirectories("\(certStore.root)/renewal", mode: 0o755)
        let lockPath = "\(certStore.root)/renewal/.lock"
        let lock = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard lock >= 0 else { throw OutputError.cannotWrite(path: lockPath, reason: FileSystem.errorString(errno)) }
        defer { close(lock) }
        guard flock(lock, LOCK_EX | LOCK_NB) == 0 else { throw Locked(path: lockPath) }

        let rollback = LiveRollback(store: certStore, subject: "the renewed certificates in \(certStore.root)/live")
        var delay = RandomDelay(limit: options.randomDelay)
        let now = clock.now()
        var outcomes: [RenewalOutcome] = []
        for name in options.names {
            outcomes.append(renewOne(name, now: now, delay: &delay, rollback: rollback))
            onOutcome(outcomes.last!)
            try rollback.checkpoint()
        }

        let renewed = outcomes.filter { $0.status == .renewed }.map(\.name)
        var hookError: String? = nil
        if let deployHook = options.deployHook, !renewed.isEmpty {
            let r = try Subprocess.shell(deployHook, environment: ["CERTS_RENEWED_NAMES": renewed.joined(separator: " "), "CERTS_STORE": certStore.root,
                                                                  "CERTS_LIVE_DIR": "\(certStore.root)/live"], timeout: 300)
            try rollback.checkpoint()
            if !r.succeeded { hookError = "the deploy hook failed: \(r.failureDetail)" }
        }
        // Served = file: the renewal only counts once the server hands out the new certificate.
        var probes: [RenewalProbe] = []
        if options.probe, !renewed.isEmpty, hookError == nil, options.deployHook != nil || options.probeAddress != nil {
            for name in renewed {
                guard let config = try? RenewalConfig.load(store: certStore, name: name),
                      let leaf = try? Certificate.parseAll(try FileSystem.read(certStore.paths(name).certificate), source: name).first else { continue }
                for host in config.names where !host.hasPrefix("*.") {
                    let problem = ServedCertificateProbe(address: options.probeAddress ?? host, port: options.probePort).problem(name: host, expected: leaf)
                    probes.append(RenewalProbe(name: name, host: host, problem: problem))
                    onProbe(probes.last!)
                    try rollback.checkpoint()
                }
            }
        }
        rollback.commit()
        var report = RenewalReport(dryRun: options.dryRun, outcomes: outcomes, hookRan: options.deployHook != nil && !renewed.isEmpty,
                                   hookError: hookError, probes: probes)
        let firstFailure = report.firstFailureMessage
        if !options.dryRun {
            // The heartbeat `certs check --renewal-max-age` reads: a cron job that stopped is caught.
            do { try RenewalHeartbeat.record(store: certStore, now: clock.now(), success: firstFailure == nil, error: firstFailure ?? "") }
            catch { warn("warning: could not record the renewal heartbeat: \(error)") }
        }
        if firstFailure != nil, !options.alerts.isEmpty {
            // Failures alert too, not only expiry: everything that went wrong, in one message.
            let messages = outcomes.filter { $0.status == .failed }.map(\.failureMessage)
                + [hookError].compactMap { $0 } + probes.compactMap { p in p.problem.map { "\(p.host): \($0)" } }
            let event = AlertEvent.failure(of: .renewal, source: RenewalHeartbeat.path(store: certStore),
                                           names: outcomes.filter { $0.status == .failed }.map(\.name) + probes.filter { $0.problem != nil }.map(\.name),
                                           message: messages.joined(separator: "; "), at: clock.now())
            report.alertProblems = (try Alerter(targets: options.alerts)).deliver(event)
        }
        return report
    }

    /// The random wait before the first real renewal of a non-interactive run (cron jitter), once.
    struct RandomDelay {
        let limit: Double
        var decided = false

        mutating func waitOnce(clock: Clock, log: ((String) -> Void)?) {
            guard !decided else { return }
            decided = true
            guard limit > 0 else { return }
            let seconds = Double.random(in: 0..<limit)
            log?("certs: waiting \(Int(seconds)) s before renewing (random delay up to \(Int(limit)) s; --random-delay 0 turns it off)")
            clock.sleep(seconds)
        }
    }

    func renewOne(_ name: String, now: Int64, delay: inout RandomDelay, rollback: LiveRollback) -> RenewalOutcome {
        let certStore = store
        var outcome = RenewalOutcome(name: name)
        do {
            if let hop = try HopPKI.Record.loadIfHop(store: certStore, name: name) { return renewHop(hop, now: now, rollback: rollback) }
            let config = try RenewalConfig.load(store: certStore, name: name)
            // Made only when the CA is contacted: a not-due certificate decided from the cached
            // renewal information reads no CA bundle and opens no connection.
            let make = httpClient
            let http = LazyHTTPClient { try make(config.caBundle) }
            let certPath = certStore.paths(name).certificate
            var decision = RenewalDecision(due: true, reason: "no live certificate", explanationURL: nil)
            var replaces: String? = nil
            if FileSystem.exists(certPath), let cert = try Certificate.parseAll(try FileSystem.read(certPath), source: certPath).first {
                outcome.notAfter = cert.notAfter
                replaces = RenewalPolicy.ariCertificateID(cert)
                // --force renews whatever the window says: the CA is not asked for it (a failing
                // ARI lookup would otherwise add a warning to a renewal that does not need it).
                if !options.force { decision = try self.decide(cert, config: config, name: name, http: http, now: now) }
            }
            if options.force { decision = RenewalDecision(due: true, reason: "--force", explanationURL: nil) }
            outcome.reason = decision.reason
            outcome.explanationURL = decision.explanationURL
            guard decision.due else { outcome.status = .notDue; return outcome }
            if options.dryRun { outcome.status = .due; return outcome }
            delay.waitOnce(clock: clock, log: log)
            var issuer = ACMEIssuer(store: certStore, http: try http.get())
            if let log { issuer.log = { log("certs: \(name): \($0)") } }
            let ids = try config.names.map { try ACMEIdentifier(parsing: $0) }
            let previous = certStore.currentVersion(name)
            var request = IssuanceRequest(directoryURL: config.directoryURL, identifiers: ids, method: config.method, email: config.email,
                                          keyType: config.keyType, reuseKey: config.reuseKey, name: name, preferredChain: config.preferredChain,
                                          profile: config.profile, replaces: replaces)
            (request.dnsResolvers, request.dnsTimeout, request.checkCAA) = (options.dnsResolvers, options.dnsTimeout, options.checkCAA)
            let result = try issuer.issue(request, directories: config.directories, replacesAt: config.directoryURL)
            var restoreRecord: (() throws -> Void)? = nil
            if result.directoryURL != config.directoryURL {
                // Fallback: the record follows the CA that issued (ARI, revoke ask that one).
                var moved = config
                moved.directoryURL = result.directoryURL
                moved.acmeList = config.directories
                try moved.save(store: certStore)
                restoreRecord = { try config.save(store: certStore) }
            }
            rollback.replaced(name, previous: previous, also: restoreRecord)
            outcome.issuedBy = result.directoryURL
            outcome.passedOver = result.passedOver.map { "\($0.directoryURL): \($0.reason)" }
            outcome.status = .renewed
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
    func renewHop(_ record: HopPKI.Record, now: Int64, rollback: LiveRollback) -> RenewalOutcome {
        let certStore = store
        var outcome = RenewalOutcome(name: record.name)
        do {
            let certPath = certStore.paths(record.name).certificate
            var decision: (due: Bool, reason: String) = (true, "no live certificate")
            if FileSystem.exists(certPath), let cert = try Certificate.parseAll(try FileSystem.read(certPath), source: certPath).first {
                outcome.notAfter = cert.notAfter
                let left = daysBetween(now, cert.notAfter)
                decision = (RenewalPolicy.isDue(notBefore: cert.notBefore, notAfter: cert.notAfter, now: now, days: options.days),
                            options.days.map { "\(left) days left, --days \($0)" } ?? "\(left) days left of \(cert.lifetime / 86400)")
            }
            if options.force { decision = (true, "--force") }
            outcome.reason = decision.reason + " (internal hop CA)"
            guard decision.due else { outcome.status = .notDue; return outcome }
            if options.dryRun { outcome.status = .due; return outcome }
            let previous = certStore.currentVersion(record.name)
            let cert = try HopPKI.renew(record, store: certStore, now: now)
            rollback.replaced(record.name, previous: previous)
            outcome.status = .renewed
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
    func decide(_ cert: Certificate, config: RenewalConfig, name: String, http: LazyHTTPClient, now: Int64) throws -> RenewalDecision {
        let days = options.days
        func decision(_ ari: RenewalInfoRecord?) -> RenewalDecision {
            RenewalPolicy.decide(notBefore: cert.notBefore, notAfter: cert.notAfter, now: now, days: days, ari: ari)
        }
        guard days == nil, let id = RenewalPolicy.ariCertificateID(cert) else { return decision(nil) }
        // ARI is advice: when the CA cannot be asked, the local rule decides (a CA outage must not
        // turn a not-yet-due certificate into a failed cron run).
        let store = self.store
        let (record, error) = RenewalInfoRecord.current(store: store, name: name, certificateID: id, directoryURL: config.directoryURL, now: now,
                                                         fraction: Double.random(in: 0...1)) {
            try renewalInfoClient(store: store, directoryURL: config.directoryURL, http: try http.get())
        }
        if let error { warn("warning: \(name): could not read the renewal information: \(error)") }
        if let problem = record?.problem, record?.fetchedAt == now { warn("warning: \(name): the CA's renewal information was not used: \(problem)") }
        return decision(record)
    }
}

/// What happened to one certificate in a renewal run.
public struct RenewalOutcome {
    public enum Status: String, Sendable {
        case renewed, notDue = "not-due", due, failed
    }

    public let name: String
    public var status: Status = .failed
    public var reason: String = ""
    public var notAfter: Int64?
    public var error: CertsFailure?
    /// The CA's page about its renewal window (RFC 9773 explanationURL), shown and alerted.
    public var explanationURL: String? = nil
    /// The CA that issued the renewal (with several --acme, which one) and those passed over.
    public var issuedBy: String? = nil
    public var passedOver: [String] = []

    public init(name: String) { self.name = name }

    /// The failure, with the CA's explanation page when it gave one.
    public var failureMessage: String {
        "\(name): \(error?.description ?? reason)" + (explanationURL.map { " (the CA explains its renewal window at \($0))" } ?? "")
    }
}

/// One served-certificate check after renewing: `problem` is nil when `host` serves the new certificate.
public struct RenewalProbe: Sendable {
    public let name: String
    public let host: String
    public let problem: String?
}

/// The result of a renewal run.
public struct RenewalReport {
    public let dryRun: Bool
    public let outcomes: [RenewalOutcome]
    /// The deploy hook ran (something was renewed and a hook was given).
    public let hookRan: Bool
    public let hookError: String?
    public let probes: [RenewalProbe]
    /// Alerts that could not be delivered.
    public var alertProblems: [String] = []

    public var renewed: [String] { outcomes.filter { $0.status == .renewed }.map(\.name) }
    public var failed: [RenewalOutcome] { outcomes.filter { $0.status == .failed } }
    public var probeFailure: RenewalProbe? { probes.first { $0.problem != nil } }

    /// The first thing that went wrong, in words (the heartbeat's error).
    public var firstFailureMessage: String? {
        failed.first.map(\.failureMessage) ?? hookError ?? probeFailure.map { "\($0.host): \($0.problem ?? "")" }
    }
}

/// A client for reading renewal information: the stored account key when there is one (no
/// request is signed), else a throwaway key.
public func renewalInfoClient(store: CertificateStore, directoryURL: String, http: HTTPClient) throws -> ACMEClient {
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
