/// One `certs check` run: the inputs found (files, directories, the store, endpoints), the
/// verdicts, the CA's renewal windows (--ari), the renewal heartbeat, one alert per level change
/// and the state saved for the next run. Returns a `CheckRunResult` for the command to format;
/// time comes from `clock`, so a threshold test pins it. `--listen` calls `run()` per refresh.
public struct CheckRun {
    /// What one run checks, validated once by the command (also for every run of --listen).
    public struct Plan: Sendable {
        public var thresholds: CheckThresholds
        public var timeout: Double
        public var width: Int
        public var failureLimit: Int
        public var maxAge: Int64
        public var targets: [AlertTarget]
        public var endpoints: [CheckEndpoint]
        public var certStore: CertificateStore
        public var checkStore: Bool
        /// Certificate files and directories named on the command line.
        public var inputs: [String] = []
        /// --state FILE.
        public var statePath: String?
        public var revocation: RevocationMode = .off
        /// --trust bundles; empty: the system's roots plus the local and hop CAs' of the store.
        public var trust: [String] = []
        public var passphrase: Passphrase?
        /// --ari.
        public var renewalWindows = false
        /// --no-cache: verify every file afresh, without reading or writing the verdict cache.
        public var noCache = false
        /// What the output will use of each result: the text table lets an OK file's result keep
        /// only its row (10,000 files then hold ~1 KB less each until the table is sorted).
        public var detail: ResultDetail = .full

        public enum ResultDetail: Sendable {
            /// Every fact (--json, Prometheus, the state file).
            case full
            /// The table, the summary and the alerts (`CheckedCertificate.keepingTableFields`).
            case table
        }

        public init(thresholds: CheckThresholds, timeout: Double, width: Int, failureLimit: Int, maxAge: Int64, targets: [AlertTarget],
                    endpoints: [CheckEndpoint], certStore: CertificateStore, checkStore: Bool) {
            self.thresholds = thresholds
            self.timeout = timeout
            self.width = width
            self.failureLimit = failureLimit
            self.maxAge = maxAge
            self.targets = targets
            self.endpoints = endpoints
            self.certStore = certStore
            self.checkStore = checkStore
        }
    }

    public var plan: Plan
    public var clock: Clock
    /// The HTTP client for a renewal record's CA (its caBundle), for --ari.
    public var httpClient: (_ caBundle: String?, _ timeout: Double) throws -> HTTPClient
    /// An alert that could not be delivered, as it happens.
    public var alertNotDelivered: (String) -> Void = { _ in }

    public init(plan: Plan, clock: Clock = .system, httpClient: @escaping (_ caBundle: String?, _ timeout: Double) throws -> HTTPClient) {
        self.plan = plan
        self.clock = clock
        self.httpClient = httpClient
    }

    public func run() throws -> CheckRunResult {
        let now = clock.now()
        let certStore = plan.certStore, checkStore = plan.checkStore
        if checkStore, !FileSystem.isDirectory("\(certStore.root)/live") {
            throw InputError.notFound(path: "\(certStore.root)/live")
        }
        let previous = try plan.statePath.map { try CheckState.load(path: $0) } ?? CheckState()

        var scanner = CheckScanner(thresholds: plan.thresholds, now: now, trust: try loadTrust(certStore), store: certStore)
        scanner.passphrase = plan.passphrase
        if plan.revocation != .off {
            let cache = plan.statePath.map { FileSystem.directoryName(of: $0) + "/crl-cache" }
                ?? (FileSystem.isDirectory(certStore.root) ? "\(certStore.root)/crl-cache" : nil)
            scanner.revocation = RevocationChecker(mode: plan.revocation, now: now, timeout: plan.timeout, cacheDirectory: cache)
        }
        scanner.timeout = plan.timeout
        scanner.concurrency = plan.width
        scanner.failureLimit = plan.failureLimit
        // The state file keeps each result's fingerprint: a run that saves one keeps every fact.
        scanner.tableOnly = plan.detail == .table && plan.statePath == nil

        var files = try CheckScanner.expand(plan.inputs)
        if checkStore { files += CheckScanner.storeInputs(certStore) }
        if !plan.noCache, !files.isEmpty, let path = CheckVerdictCache.defaultPath() {
            scanner.verdicts = CheckVerdictCache(path: path, trust: scanner.trust)
        }
        var (results, skipped) = try scanner.checkFiles(files)
        results += scanner.checkEndpoints(plan.endpoints, previousFailures: plan.statePath == nil ? [:] : previous.previousFailures)  // in place: 10,000 file results are not copied
        var report = CheckReport(at: now, thresholds: plan.thresholds, results: results, skipped: skipped)
        results = []  // the report's array is then the only reference: appended to below without a copy
        if plan.renewalWindows { addRenewalWindows(&report.results, store: certStore, now: now, timeout: plan.timeout) }
        if checkStore {
            // The heartbeat of certs renew: the cron job that quietly stopped is caught here.
            let beat = try RenewalHeartbeat.load(store: certStore)
            let hasRenewals = FileSystem.list("\(certStore.root)/renewal").contains { $0.hasSuffix(".json") && !$0.hasPrefix(".") }
            if let r = CheckedCertificate.renewalHeartbeat(beat, source: RenewalHeartbeat.path(store: certStore), hasRenewals: hasRenewals,
                                                            now: now, maxAge: plan.maxAge) {
                report.results.append(r)
            }
            report.renewal = beat
        }

        // Alerts: one per level change (per run without --state), delivered to every target.
        let events = previous.alerts(for: report)
        var delivered = Set<String>()
        var alertJSON: [JSON] = []
        var failed = false
        let alerter = plan.targets.isEmpty ? nil : try Alerter(targets: plan.targets)
        for event in events {
            let problems = alerter?.deliver(event) ?? []
            if problems.isEmpty { delivered.insert(event.result.stateKey) } else { failed = true }
            for p in problems { alertNotDelivered(p) }
            alertJSON.append(.object([("event", .string(event.kind.rawValue)), ("status", .string(event.status.name)),
                                      ("previousStatus", .string(event.previous.name)), ("source", .string(event.result.source)),
                                      ("delivered", .bool(alerter != nil && problems.isEmpty)), ("text", .string(event.text))]))
        }
        let outcome = failed ? "alert-failed" : "success"
        // The next state (an entry per result) only when there is a file to keep it in.
        if let statePath = plan.statePath {
            try previous.updated(with: report, events: events, delivered: delivered, outcome: outcome).save(path: statePath)
        }
        return CheckRunResult(report: report, alerts: alertJSON, lastSuccess: previous.lastSuccess(after: outcome, at: now))
    }

    /// --ari: the CA's renewal window for every store certificate with a renewal configuration
    /// (the cached answer while its Retry-After lasts). A CA that cannot be asked is a note, not a verdict.
    func addRenewalWindows(_ results: inout [CheckedCertificate], store certStore: CertificateStore, now: Int64, timeout: Double) {
        for i in results.indices where results[i].kind == .store {
            guard let name = results[i].storeName, let config = try? RenewalConfig.load(store: certStore, name: name),
                  let cert = try? Certificate.parseAll(try FileSystem.read(certStore.paths(name).certificate), source: name).first,
                  let id = RenewalPolicy.ariCertificateID(cert) else { continue }
            let (record, error) = RenewalInfoRecord.current(store: certStore, name: name, certificateID: id, directoryURL: config.directoryURL,
                                                             now: now, fraction: Double.random(in: 0...1)) {
                try renewalInfoClient(store: certStore, directoryURL: config.directoryURL, http: try httpClient(config.caBundle, timeout))
            }
            if let record { RenewalWindowCheck.apply(record, to: &results[i], now: now) }
            if let error { results[i].problems.append(CheckProblem("ari-unavailable", "could not read the CA's renewal information: \(error)", status: .ok)) }
        }
    }

    func loadTrust(_ certStore: CertificateStore) throws -> TrustStore {
        if !plan.trust.isEmpty {
            let parser = CertificateParser()
            let roots = try plan.trust.flatMap { try parser.certificates(atPath: $0) }
            return try TrustStore.certificates(roots, origin: "--trust " + plan.trust.joined(separator: ", "))
        }
        let localRoot = "\(LocalCA.directory(inStore: certStore.root))/root.pem"
        var extra = FileSystem.exists(localRoot) ? ((try? CertificateParser().certificates(atPath: localRoot)) ?? []) : []
        // The hop CA's root, so the store's hop certificates verify as what they are.
        let hopRoot = "\(HopPKI.caDirectory(store: certStore.root))/root.pem"
        if FileSystem.exists(hopRoot) { extra += (try? CertificateParser().certificates(atPath: hopRoot)) ?? [] }
        return try TrustStore.system(adding: extra, origin: "the system trust store and \(localRoot)" + (FileSystem.exists(hopRoot) ? " and \(hopRoot)" : ""))
    }
}

/// What one check run found: the report, the alert events (as docs/json.md shows them) and the
/// last successful run (for the Prometheus output).
public struct CheckRunResult {
    public let report: CheckReport
    public let alerts: [JSON]
    public let lastSuccess: Int64?
}
