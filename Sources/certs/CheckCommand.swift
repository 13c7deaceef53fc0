import ArgumentParser
import CertsCore
#if canImport(Glibc)
import Glibc
#endif

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check certificate expiry for monitoring and cron: files, directories, the store, endpoints; alert once per change.",
        discussion: """
        Inputs: PATHs (files; directories are scanned recursively, and files in them that hold no \
        certificate are skipped and counted), the store's live certificates (when --store is given, \
        or when there is no other input), the stack file's domains (--stack: each name is checked \
        as an endpoint with that SNI, at --connect-to or NAME:443), and --endpoint HOST:PORT[@SNI] \
        ([::1]:443 for IPv6). Each file's first certificate is checked; the rest are its chain. \
        Endpoints are checked concurrently (--concurrency), each within --timeout.

        Verdicts: CRITICAL when expired or within --crit, WARNING within --warn: days left, a \
        percentage of the lifetime left, or both (the default, 30,33% and 7,10%: the classic 30 and 7 \
        days for 90-day and 1-year certificates, a third and a tenth of the lifetime for short-lived \
        ones, so a 6-day certificate is not WARNING from birth). A served chain \
        that does not verify (including a server that speaks at best TLS 1.0/1.1) is CRITICAL, as is a served certificate that does not cover its SNI \
        name; an endpoint serving another certificate than the store's current one is WARNING. For \
        files, chain problems are reported (NOTES, chainValid) without changing the verdict (a leaf \
        that is not valid yet is CRITICAL everywhere), verify's warnings are listed in NOTES, and \
        files whose first certificate is a CA are checked for expiry only. The trust roots are --trust, else the system's plus the local CA's.

        With the store checked, renew's heartbeat is too: WARNING when no certs renew run succeeded \
        within --renewal-max-age hours (48), when its last run failed, or when it never ran although \
        the store has renewal configurations.
        An endpoint that cannot be reached is UNKNOWN; with --state it becomes CRITICAL after \
        --failures consecutive failed runs (default 2). With --state FILE each certificate alerts \
        (--alert webhook=URL, --alert command=CMD) once when its level changes and once when it \
        recovers, never again while it stays the same (without --state, every run alerts for every \
        certificate that is not OK). An alert that cannot be delivered is reported on stderr and \
        retried on the next run. Alert commands run with /bin/sh -c and get \
        CERTS_ALERT_EVENT (problem|recovery), CERTS_ALERT_STATUS, CERTS_ALERT_PREVIOUS_STATUS, \
        CERTS_ALERT_SOURCE, CERTS_ALERT_KIND (file|store|endpoint), CERTS_ALERT_SUBJECT, \
        CERTS_ALERT_NAMES, CERTS_ALERT_NOT_AFTER, CERTS_ALERT_DAYS_LEFT, CERTS_ALERT_FINGERPRINT \
        and CERTS_ALERT_MESSAGE. Webhooks get a JSON POST with a Slack/Mattermost "text" field.

        Output: the first line is a Nagios/Icinga summary with performance data, then a table \
        sorted by days left; --format json (docs/json.md) or prometheus (node_exporter textfile \
        format; with --out FILE it is written atomically). With --listen IP:PORT, check serves \
        GET /metrics instead, running the check at most every --interval seconds (concurrent \
        scrapes share one run) until SIGTERM/SIGINT (docs/prometheus.md).

        Exit codes (monitoring-plugin convention): 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN — \
        also for bad usage, unreadable named inputs and unreachable endpoints (below the failure \
        limit). An option given without its value is reported by the parser with exit 2.
        """
    )

    @Argument(parsing: .allUnrecognized, help: ArgumentHelp("Certificate files and directories.", valueName: "path"))
    var inputs: [String] = []

    @OptionGroup var store: StoreOptions

    @Option(help: ArgumentHelp("Check every domain of this stack file as an endpoint.", valueName: "file"))
    var stack: String?

    @Option(name: .customLong("connect-to"), help: ArgumentHelp("With --stack: connect here instead of NAME:443 (SNI stays the domain name).", valueName: "host:port"))
    var connectTo: String?

    @Option(help: ArgumentHelp("A TLS endpoint to check, HOST:PORT[@SNI], or SCHEME://HOST[:PORT][@SNI] for STARTTLS (smtp, submission, imap, pop3, ftp, ldap, xmpp, postgres, mysql). Repeatable.", valueName: "host:port"))
    var endpoint: [String] = []

    @OptionGroup var thresholdOptions: ThresholdOptions
    @OptionGroup var passphraseOptions: PassphraseOptions

    @Option(help: ArgumentHelp("Check revocation: crl (the CRL distribution points over HTTP, cached until nextUpdate next to --state, else in <store>/crl-cache), ocsp (the responder the certificate names), auto (the CRL when one is named, else OCSP), off.", valueName: "auto|crl|ocsp|off"))
    var revocation: RevocationMode = .off

    @Option(help: ArgumentHelp("Trust exactly the certificates in this PEM bundle for chain checks. Repeatable.", valueName: "file"))
    var trust: [String] = []

    @Option(help: ArgumentHelp("Seconds per endpoint for connect and handshake.", valueName: "seconds"))
    var timeout = "10"

    @Option(help: ArgumentHelp("Endpoints checked at once.", valueName: "n"))
    var concurrency = "32"

    @Option(help: ArgumentHelp("Consecutive failed runs before an unreachable endpoint is CRITICAL (needs --state).", valueName: "n"))
    var failures = "2"

    @Option(help: ArgumentHelp("State file: alert levels, endpoint failures and the last run (JSON, mode 0600).", valueName: "file"))
    var state: String?

    @Option(help: ArgumentHelp("Send alerts on changes: webhook=URL or command=CMD. Repeatable.", valueName: "target"))
    var alert: [String] = []

    @Option(help: ArgumentHelp("Output format: text, json or prometheus.", valueName: "format"))
    var format = "text"

    @Flag(help: "Same as --format json.")
    var json = false

    @Flag(name: .customLong("no-cache"), help: "Verify every file afresh: do not use or update the verdict cache ($XDG_CACHE_HOME/certs/check-verdicts/, else ~/.cache/certs/).")
    var noCache = false

    @Option(name: [.customLong("out"), .customShort("o")], help: ArgumentHelp("Write the output to this file atomically (mode 0644) instead of stdout.", valueName: "file"))
    var output: String?

    @Option(name: .customLong("renewal-max-age"), help: ArgumentHelp("WARNING when the store's last successful certs renew run is older than this many hours.", valueName: "hours"))
    var renewalMaxAge = "48"

    // check --ari (RFC 9773 renewal windows of store certificates)
    @Flag(help: "Ask each store certificate's CA for its renewal window (ARI): WARNING once it opened, CRITICAL once it closed.")
    var ari = false

    @Option(help: ArgumentHelp("Judge at this time instead of now (Unix seconds or RFC 3339); for testing and what-if checks.", valueName: "time"))
    var at: String?

    // Exporter mode (docs/prometheus.md).
    @Option(help: ArgumentHelp("Serve the results as Prometheus metrics on this address (GET /metrics) until SIGTERM/SIGINT; port 0 picks one (the bound address is printed on stderr).", valueName: "ip:port"))
    var listen: String?

    @Option(help: ArgumentHelp("With --listen: seconds a check run's result is served before a scrape runs the check again.", valueName: "seconds"))
    var interval = "60"

    func run() throws {
        do {
            try check()
        } catch let exit as ExitCode {
            throw exit
        } catch {
            let message: String
            if let f = error as? CertsFailure { message = ErrorHints.message(for: f) }
            else if let v = error as? ValidationError { message = v.message }
            else { message = "\(error)" }
            if output == nil, effectiveFormat == "text" { Terminal.out("CERTS UNKNOWN - \(Terminal.escapingControls(message))") }
            // With --json, also the error document on stdout (docs/json.md), with UNKNOWN's code.
            Certs.fail(message, code: Int32(CheckStatus.unknown.rawValue), kind: (error as? CertsFailure).map { "\($0.kind)" } ?? "usage")
        }
    }

    var effectiveFormat: String { json ? "json" : format }

    func check() throws {
        let plan = try makePlan()
        if let listen { return try serve(plan, listen: listen) }
        if let output {
            var text = ""
            let status = try runOnce(plan, format: effectiveFormat) { text += $0 }
            try FileSystem.writeAtomically(Array(text.utf8), to: output, mode: 0o644, existing: .replace)
            throw ExitCode(Int32(status.rawValue))
        }
        // Written as it is rendered: 10,000 results are 1 MB of table or 20 MB of JSON.
        let status = try runOnce(plan, format: effectiveFormat) { Terminal.writeAll(1, $0) }
        throw ExitCode(Int32(status.rawValue))
    }

    /// The validated options and, with --at, the pinned time.
    func makePlan() throws -> (plan: CheckRun.Plan, fixedNow: Int64?) {
        // Usage first: bad usage is UNKNOWN (3), the monitoring convention.
        if let unknown = inputs.first(where: { $0.hasPrefix("-") && $0 != "-" }) {
            throw ValidationError("unknown option '\(unknown)'" + (ErrorHints.didYouMean(unknown).map { "; \($0)" } ?? ""))
        }
        guard ["text", "json", "prometheus"].contains(effectiveFormat) else {
            throw InputError.invalidValue(option: "--format", value: format, reason: "use text, json or prometheus")
        }
        let thresholds = try thresholdOptions.thresholds()
        guard let timeoutSeconds = Double(timeout), timeoutSeconds > 0, timeoutSeconds <= 600 else {
            throw InputError.invalidValue(option: "--timeout", value: timeout, reason: "seconds between 0 and 600")
        }
        guard let width = Int(concurrency), (1...1024).contains(width) else {
            throw InputError.invalidValue(option: "--concurrency", value: concurrency, reason: "a number from 1 to 1024")
        }
        guard let failureLimit = Int(failures), (1...100).contains(failureLimit) else {
            throw InputError.invalidValue(option: "--failures", value: failures, reason: "a number from 1 to 100")
        }
        if connectTo != nil && stack == nil { throw ValidationError("--connect-to needs --stack") }
        guard let maxAgeHours = Int64(renewalMaxAge), (1...87_600).contains(maxAgeHours) else {
            throw InputError.invalidValue(option: "--renewal-max-age", value: renewalMaxAge, reason: "hours from 1 to 87600")
        }
        if listen != nil {
            if output != nil { throw ValidationError("--listen serves the metrics over HTTP; --out does not apply (drop one of them)") }
            if effectiveFormat != "text" && effectiveFormat != "prometheus" { throw ValidationError("--listen serves Prometheus metrics; --format \(effectiveFormat) does not apply") }
        }
        let targets = try alert.map { try AlertTarget(parsing: $0) }
        let fixedNow = try at.map { try parseTime($0, option: "--at") }
        let connectEndpoint = try connectTo.map { try Endpoint(parsing: $0, defaultPort: 443, option: "--connect-to") }
        var endpoints = try endpoint.map { try CheckEndpoint(parsing: $0) }
        let certStore = CertificateStore(root: store.path)
        for i in endpoints.indices {
            if let sni = endpoints[i].sni, FileSystem.exists(certStore.paths(sni).certificate) { endpoints[i].storeName = sni }
        }
        if let stack {
            let loaded = try Stack.load(path: stack)
            for domain in loaded.domains {
                for name in domain.allNames {
                    endpoints.append(CheckEndpoint(endpoint: connectEndpoint ?? Endpoint(host: name, port: 443), sni: name, storeName: domain.certificate))
                }
            }
        }
        let checkStore = store.store != nil || (inputs.isEmpty && endpoints.isEmpty)
        var plan = CheckRun.Plan(thresholds: thresholds, timeout: timeoutSeconds, width: width, failureLimit: failureLimit, maxAge: maxAgeHours * 3600,
                                 targets: targets, endpoints: endpoints, certStore: certStore, checkStore: checkStore)
        (plan.inputs, plan.statePath, plan.revocation, plan.trust, plan.renewalWindows) = (inputs, state, revocation, trust, ari)
        plan.noCache = noCache
        return (plan, fixedNow)
    }

    /// One check run (CheckRun), formatted and handed to `emit` in pieces; returns the verdict.
    func runOnce(_ planned: (plan: CheckRun.Plan, fixedNow: Int64?), format: String, emit: (String) -> Void) throws -> CheckStatus {
        var plan = planned.plan
        plan.passphrase = try passphraseOptions.load()
        if format == "text" { plan.detail = .table }
        var run = CheckRun(plan: plan, clock: planned.fixedNow.map { .fixed($0) } ?? .system) { try acmeHTTPClient(caBundle: $0, timeout: $1) }
        run.alertNotDelivered = { Terminal.error("alert not delivered: \($0)") }
        if let output { try Output.ensureWritable(output, force: true) }
        let result = try run.run()
        switch format {
        case "json": result.report.renderJSON(alerts: result.alerts, emit: emit)
        case "prometheus": emit(CheckPrometheus.render(result.report, lastSuccess: result.lastSuccess))
        default: CheckText.render(result.report, colour: output == nil && Terminal.stdoutColour, emit: emit)
        }
        return result.report.status
    }

    /// --listen: a check run at most every --interval seconds, served to every scrape in between.
    func serve(_ plan: (plan: CheckRun.Plan, fixedNow: Int64?), listen: String) throws {
        guard let seconds = Double(interval), seconds >= 1, seconds <= 86_400 else {
            throw InputError.invalidValue(option: "--interval", value: interval, reason: "seconds from 1 to 86400")
        }
        let address = try Self.listenAddress(listen)
        nonisolated(unsafe) let command = self
        let cache = CachedCheckRun(interval: seconds) {
            do {
                var text = ""
                _ = try command.runOnce(plan, format: "prometheus") { text += $0 }
                return ScrapeOutput(ok: true, text: text)
            } catch {
                let message = (error as? CertsFailure).map(ErrorHints.message(for:)) ?? "\(error)"
                Terminal.error("check run failed: \(message)")
                return ScrapeOutput(ok: false, text: "certs check could not run: \(message)\n")
            }
        }
        let server = try MetricsServer(host: address.host, port: address.port, cache: cache)
        Signals.stop(server)
        // Always printed (also with --quiet): with port 0 it is the only way to learn the port.
        Terminal.writeAll(2, Array("certs: listening on http://\(server.address)/metrics (a check run at most every \(interval) s)\n".utf8))
        server.run()
        Terminal.note("certs: stopped after \(cache.runs) check run\(cache.runs == 1 ? "" : "s")")
    }

    /// `IP:PORT` or `[IPv6]:PORT` (port 0: any free one); the port defaults to 9793.
    static func listenAddress(_ text: String) throws -> (host: String, port: UInt16) {
        let bad = InputError.invalidValue(option: "--listen", value: text, reason: "use an IP address and port, e.g. 127.0.0.1:9793 or [::]:9793 (port 0 picks a free one)")
        var host = text, port = "9793"
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw bad }
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty { guard rest.hasPrefix(":") else { throw bad }; port = String(rest.dropFirst()) }
        } else if let colon = text.lastIndex(of: ":") {
            host = String(text[..<colon])
            port = String(text[text.index(after: colon)...])
        }
        guard let p = UInt16(port), !host.isEmpty, host.contains(":") ? IPAddress.parse(host) != nil && text.hasPrefix("[") : IPAddress.parse(host) != nil else { throw bad }
        return (host, p)
    }
}

/// The human-readable table. May change between versions; the JSON may not.
enum CheckText {
    /// The summary line and the table, handed to `emit` in pieces of about 64 KiB. The column
    /// widths take a first pass over the rows; the rows are then made again one at a time (no
    /// table of 10,000 rows of cells is kept).
    static func render(_ report: CheckReport, colour: Bool, emit: (String) -> Void) {
        let order = report.sortedIndices
        guard !order.isEmpty else { return emit(report.summary + "\n") }
        let header = ["STATUS", "DAYS", "NOT AFTER", "NAME", "SOURCE", "NOTES"]
        func cells(_ r: CheckedCertificate) -> [String] {
            let notes = r.problems.filter { $0.code != "expiry" }.map(\.code)
            return [r.status.name, r.daysLeft.map { String($0) } ?? "-", r.notAfter.map { String(RFC3339.format($0).prefix(10)) } ?? "-",
                    Terminal.escapingControls(r.commonName ?? r.names.first ?? "-"), Terminal.escapingControls(r.source),
                    notes.isEmpty ? (r.error.map { Terminal.escapingControls($0) } ?? "") : notes.joined(separator: ",")]
        }
        var widths = header.map(\.count)
        for i in order {
            for (c, cell) in cells(report.results[i]).enumerated() { widths[c] = max(widths[c], cell.count) }
        }
        var out = report.summary + "\n"
        func line(_ row: [String], status: CheckStatus?) {
            var cells: [String] = []
            for (c, cell) in row.enumerated() {
                let padded = c == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[c] - cell.count)
                if colour, let status, c == 0 { cells.append(paint(padded, status)) } else { cells.append(padded) }
            }
            var text = cells.joined(separator: "  ")
            while text.hasSuffix(" ") { text.removeLast() }
            out += text
            out += "\n"
            if out.utf8.count >= 1 << 16 {
                emit(out)
                out.removeAll(keepingCapacity: true)
            }
        }
        line(header, status: nil)
        for i in order { line(cells(report.results[i]), status: report.results[i].status) }
        // check --ari: the CA's window and its explanation page, in words.
        for i in order {
            let r = report.results[i]
            for p in r.problems where p.code.hasPrefix("ari-") { out += "\(r.storeName ?? r.source): \(Terminal.escapingControls(p.message))\n" }
        }
        emit(out)
    }

    static func paint(_ text: String, _ status: CheckStatus) -> String {
        let code: String
        switch status {
        case .ok: code = "32"
        case .warning: code = "33"
        case .critical: code = "31"
        case .unknown: code = "35"
        }
        return "\u{1B}[\(code)m\(text)\u{1B}[0m"
    }
}

extension RevocationMode: ExpressibleByArgument {}
