
/// What `certs check` remembers between runs (`--state FILE`, JSON, written atomically 0600):
/// the level each certificate last alerted at, consecutive endpoint failures, and a heartbeat
/// (the last run's time and outcome, the last successful run's time).
public struct CheckState: Sendable {
    public struct Entry: Sendable, Equatable {
        /// The level last alerted (or OK: nothing outstanding).
        public var alerted: CheckStatus
        /// Consecutive failed runs (endpoints).
        public var failures: Int
        public var fingerprint: String
        public init(alerted: CheckStatus, failures: Int, fingerprint: String) {
            self.alerted = alerted
            self.failures = failures
            self.fingerprint = fingerprint
        }
    }

    public var entries: [String: Entry] = [:]
    public var lastRun: Int64?
    public var lastStatus: CheckStatus?
    /// "success" or why not ("alert-failed").
    public var lastOutcome: String?
    public var lastSuccess: Int64?

    public init() {}

    /// The file as `json` writes it (version 1). Every field is optional, as the reader of the
    /// hand-written parser allowed: an entry without a key is skipped.
    struct Stored: Decodable {
        struct Run: Decodable { let at: String?; let status: String?; let outcome: String? }
        struct Item: Decodable { let key: String?; let alerted: String?; let failures: Int?; let fingerprint: String? }
        let version: Int?
        let lastRun: Run?
        let lastSuccess: String?
        let entries: [Item]?
    }

    /// Reads the state file; a missing file is a first run (empty state).
    public static func load(path: String) throws -> CheckState {
        guard FileSystem.exists(path) else { return CheckState() }
        let bytes = try FileSystem.read(path)
        let stored: Stored
        do { stored = try JSONParser.decode(Stored.self, from: bytes) } catch {
            throw InputError.malformed(path: path, what: "state file", detail: "\(error)")
        }
        guard stored.version == 1 else {
            throw InputError.malformed(path: path, what: "state file", detail: "not a certs check state file (version 1)")
        }
        var state = CheckState()
        state.lastRun = stored.lastRun?.at.flatMap(RFC3339.parse)
        state.lastStatus = stored.lastRun?.status.flatMap(CheckStatus.init(name:))
        state.lastOutcome = stored.lastRun?.outcome
        state.lastSuccess = stored.lastSuccess.flatMap(RFC3339.parse)
        for item in stored.entries ?? [] {
            guard let key = item.key else { continue }
            state.entries[key] = Entry(alerted: item.alerted.flatMap(CheckStatus.init(name:)) ?? .ok, failures: item.failures ?? 0,
                                       fingerprint: item.fingerprint ?? "")
        }
        return state
    }

    public var json: JSON {
        .object([
            ("version", .int(1)),
            ("lastRun", lastRun.map { at in .object([("at", .string(RFC3339.format(at))), ("status", .optional(lastStatus?.name)),
                                                    ("outcome", .optional(lastOutcome))]) } ?? .null),
            ("lastSuccess", lastSuccess.map { .string(RFC3339.format($0)) } ?? .null),
            ("entries", .array(entries.keys.sorted().map { key in
                let e = entries[key]!
                return .object([("key", .string(key)), ("alerted", .string(e.alerted.name)),
                                ("failures", .int(e.failures)), ("fingerprint", .string(e.fingerprint))])
            })),
        ])
    }

    public func save(path: String) throws {
        try FileSystem.writeAtomically(Array((json.rendered() + "\n").utf8), to: path, mode: 0o600, existing: .replace)
    }

    /// Consecutive failures per key before this run, for `CheckScanner.checkEndpoints`.
    public var previousFailures: [String: Int] { entries.mapValues(\.failures) }

    /// The alerts this run owes: one when a certificate's level changes (OK→WARNING, WARNING→CRITICAL,
    /// …) and one on recovery to OK. An UNKNOWN (an endpoint that failed fewer than the limit of
    /// runs in a row) changes nothing. Without a previous entry the previous level is OK.
    public func alerts(for report: CheckReport) -> [AlertEvent] {
        report.sortedIndices.compactMap { i in  // indices: `sorted` would copy every result
            let r = report.results[i]
            let previous = entries[r.stateKey]?.alerted ?? .ok
            let level = r.status == .unknown ? previous : r.status
            guard level != previous else { return nil }
            return AlertEvent(kind: level == .ok ? .recovery : .problem, status: level, previous: previous, result: r, at: report.at)
        }
    }

    /// The state after this run: `delivered` holds the keys whose alert went out (an undelivered
    /// alert keeps the old level, so the next run tries again).
    public func updated(with report: CheckReport, events: [AlertEvent], delivered: Set<String>, outcome: String) -> CheckState {
        var next = CheckState()
        let pending = Set(events.map(\.result.stateKey)).subtracting(delivered)
        for r in report.results {
            let previous = entries[r.stateKey]?.alerted ?? .ok
            let level = r.status == .unknown ? previous : r.status
            next.entries[r.stateKey] = Entry(alerted: pending.contains(r.stateKey) ? previous : level,
                                             failures: r.consecutiveFailures, fingerprint: r.fingerprint)
        }
        next.lastRun = report.at
        next.lastStatus = report.status
        next.lastOutcome = outcome
        next.lastSuccess = lastSuccess(after: outcome, at: report.at)
        return next
    }

    /// The time of the last successful run once a run at `time` ended with `outcome`.
    public func lastSuccess(after outcome: String, at time: Int64) -> Int64? {
        outcome == "success" ? time : lastSuccess
    }
}

/// One alert: a certificate crossed into a worse (or better) level, or recovered.
public struct AlertEvent: Sendable {
    public enum Kind: String, Sendable { case problem, recovery }
    public let kind: Kind
    public let status: CheckStatus
    public let previous: CheckStatus
    public let result: CheckedCertificate
    public let at: Int64

    public init(kind: Kind, status: CheckStatus, previous: CheckStatus, result: CheckedCertificate, at: Int64) {
        self.kind = kind
        self.status = status
        self.previous = previous
        self.result = result
        self.at = at
    }

    /// The alert for a failed run of `certs renew` or `certs deploy`: what failed, in words,
    /// with the output lines that matter (a hook's stderr, nginx -t's complaint).
    public static func failure(of command: CheckSourceKind, source: String, names: [String], message: String, at: Int64) -> AlertEvent {
        var r = CheckedCertificate(source: source, kind: command)
        r.commonName = command == .deploy ? "certs deploy" : "certs renew"
        r.names = names
        r.error = message
        r.status = .critical
        return AlertEvent(kind: .problem, status: .critical, previous: .ok, result: r, at: at)
    }

    /// One line for people: "CRITICAL: example.com (certs/live/example.com/fullchain.pem) expires in 3 days".
    public var text: String {
        let r = result
        let who = r.commonName ?? r.names.first ?? r.source
        let whereText = who == r.source ? "" : " (\(r.source))"
        let head = kind == .recovery ? "RECOVERED (was \(previous.name))" : "\(status.name) (was \(previous.name))"
        var detail: String
        if let d = r.daysLeft, let na = r.notAfter {
            detail = d < 0 || na <= at ? "expired on \(RFC3339.format(na))" : "expires in \(d) day\(d == 1 ? "" : "s") (\(RFC3339.format(na)))"
        } else {
            detail = r.error ?? "no certificate"
        }
        let extra = r.problems.filter { $0.code != "expiry" && $0.status != .ok }.map(\.message)
        if !extra.isEmpty { detail += "; " + extra.joined(separator: "; ") }
        switch r.kind {
        case .deploy: return "certs deploy FAILED: \(detail)"
        case .renewal where kind == .problem && status == .critical: return "certs renew FAILED: \(detail)"
        default: return "certs check \(head): \(who)\(whereText) \(detail)"
        }
    }

    public var json: JSON {
        .object([
            ("text", .string(text)),
            ("version", .int(1)),
            ("event", .string(kind.rawValue)),
            ("status", .string(status.name)),
            ("previousStatus", .string(previous.name)),
            ("at", .string(RFC3339.format(at))),
            ("certificate", result.json),
        ])
    }
}
