/// The monitoring-plugin verdicts `certs check` reports, in Nagios/Icinga exit-code order.
public enum CheckStatus: Int, Sendable, Comparable, CaseIterable {
    case ok = 0, warning = 1, critical = 2, unknown = 3

    public var name: String {
        switch self {
        case .ok: return "OK"
        case .warning: return "WARNING"
        case .critical: return "CRITICAL"
        case .unknown: return "UNKNOWN"
        }
    }

    public init?(name: String) {
        guard let s = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = s
    }

    /// How bad, for the overall verdict: CRITICAL > UNKNOWN > WARNING > OK.
    public var severity: Int {
        switch self {
        case .ok: return 0
        case .warning: return 1
        case .unknown: return 2
        case .critical: return 3
        }
    }

    public static func < (a: CheckStatus, b: CheckStatus) -> Bool { a.severity < b.severity }
}

/// `--warn 30` (days left), `--warn 33%` (percentage of the certificate's lifetime left), or
/// `--warn 30,33%`: both, so whichever comes later — 30 days for a 90-day or 1-year certificate,
/// a third of the lifetime for short-lived ones (2 days of a 6-day certificate). The defaults
/// (30,33% and 7,10%) keep the classic 30/7 days and scale down as lifetimes shrink to 47 days.
/// The combined form is also crossed when less than one day is left, whatever the percentage: a
/// 2-day certificate with 20 hours left is an emergency, not "50% of its life remains".
public enum Threshold: Sendable, Equatable, CustomStringConvertible {
    case days(Int)
    case percent(Int)
    case lifetime(days: Int, percent: Int)

    public static let defaultWarning = Threshold.lifetime(days: 30, percent: 33)
    public static let defaultCritical = Threshold.lifetime(days: 7, percent: 10)
    /// Under this much time left, a combined (`days,percent%`) threshold is always crossed.
    public static let floorSeconds: Int64 = 86_400

    public init(parsing text: String, option: String) throws {
        let t = text.trimmingSpaces
        let parts = t.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingSpaces }
        if parts.count == 2, case .days(let d)? = try? Threshold(parsing: parts[0], option: option),
           case .percent(let p)? = try? Threshold(parsing: parts[1], option: option) {
            self = .lifetime(days: d, percent: p)
        } else if t.hasSuffix("%"), let p = Int(t.dropLast()), (0...100).contains(p) {
            self = .percent(p)
        } else if let d = Int(t), d >= 0, d <= 3650 {
            self = .days(d)
        } else {
            throw InputError.invalidValue(option: option, value: text, reason: "use days left (30), a percentage of the lifetime left (33%), or both (30,33%)")
        }
    }

    /// True when a certificate valid from `notBefore` to `notAfter` has crossed it at `now`.
    public func isCrossed(notBefore: Int64, notAfter: Int64, now: Int64) -> Bool {
        let left = notAfter - now
        switch self {
        case .days(let d): return left < Int64(d) * 86400
        case .percent(let p):
            let lifetime = max(notAfter - notBefore, 1)
            return left * 100 < Int64(p) * lifetime
        case .lifetime(let d, let p):
            if left < Threshold.floorSeconds { return true }
            return Threshold.days(d).isCrossed(notBefore: notBefore, notAfter: notAfter, now: now)
                && Threshold.percent(p).isCrossed(notBefore: notBefore, notAfter: notAfter, now: now)
        }
    }

    /// The days part, if any.
    public var days: Int? {
        switch self {
        case .days(let d), .lifetime(let d, _): return d
        case .percent: return nil
        }
    }

    /// The percentage part, if any.
    public var percent: Int? {
        switch self {
        case .percent(let p), .lifetime(_, let p): return p
        case .days: return nil
        }
    }

    public var description: String {
        switch self {
        case .days(let d): return String(d)
        case .percent(let p): return "\(p)%"
        case .lifetime(let d, let p): return "\(d),\(p)%"
        }
    }
}

public struct CheckThresholds: Sendable, Equatable {
    public var warning: Threshold
    public var critical: Threshold

    public init(warning: Threshold = .defaultWarning, critical: Threshold = .defaultCritical) {
        self.warning = warning
        self.critical = critical
    }

    /// `--warn`/`--crit` as every command parses them: the critical threshold must come after the
    /// warning one (fewer days, a smaller percentage), or WARNING could never show.
    public init(warning: String?, critical: String?) throws {
        self.init(warning: try warning.map { try Threshold(parsing: $0, option: "--warn") } ?? .defaultWarning,
                  critical: try critical.map { try Threshold(parsing: $0, option: "--crit") } ?? .defaultCritical)
        if let w = self.warning.days, let c = self.critical.days, c >= w {
            throw InputError.invalidValue(option: "--crit", value: self.critical.description, reason: "the critical threshold must be below --warn (\(self.warning))")
        }
        if let w = self.warning.percent, let c = self.critical.percent, c >= w {
            throw InputError.invalidValue(option: "--crit", value: self.critical.description, reason: "the critical threshold must be below --warn (\(self.warning))")
        }
    }

    /// The expiry verdict alone: expired or past `critical` is CRITICAL, past `warning` WARNING.
    public func status(notBefore: Int64, notAfter: Int64, now: Int64) -> CheckStatus {
        if notAfter <= now || critical.isCrossed(notBefore: notBefore, notAfter: notAfter, now: now) { return .critical }
        if warning.isCrossed(notBefore: notBefore, notAfter: notAfter, now: now) { return .warning }
        return .ok
    }
}

/// Where a checked certificate came from.
public enum CheckSourceKind: String, Sendable {
    case file, store, endpoint
    /// The heartbeat of `certs renew` (<store>/renewal/.heartbeat.json), or a failed renew run.
    case renewal
    /// A failed `certs deploy`.
    case deploy
}

/// A problem beside expiry, with a stable code (docs/json.md) and a sentence.
public struct CheckProblem: Sendable, Equatable {
    public let code: String
    public let message: String
    public let status: CheckStatus

    public init(_ code: String, _ message: String, status: CheckStatus) {
        self.code = code
        self.message = message
        self.status = status
    }
}

/// One certificate of a checked file's bundle or an endpoint's served chain, in the order given
/// (position 0 is the leaf): what `--json` lists under `chain` and Prometheus exports as a series.
public struct ChainMember: Sendable, Equatable {
    public var subject: String
    public var commonName: String?
    public var issuer: String
    public var issuerCommonName: String?
    public var serial: String
    public var fingerprint: String
    public var notBefore: Int64
    public var notAfter: Int64
    public var isCA: Bool
    /// The revocation verdict once something checks it (CRL/OCSP): true revoked, false good, nil
    /// not checked. Exported as `x509_cert_revoked` when set; nothing in this branch sets it yet.
    public var revoked: Bool?

    public init(subject: String, commonName: String?, issuer: String, issuerCommonName: String?, serial: String,
                fingerprint: String, notBefore: Int64, notAfter: Int64, isCA: Bool, revoked: Bool? = nil) {
        self.subject = subject
        self.commonName = commonName
        self.issuer = issuer
        self.issuerCommonName = issuerCommonName
        self.serial = serial
        self.fingerprint = fingerprint
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.isCA = isCA
        self.revoked = revoked
    }

    public init(_ cert: Certificate) {
        self.init(subject: cert.subject.description, commonName: cert.subject.commonName, issuer: cert.issuer.description,
                  issuerCommonName: cert.issuer.commonName, serial: cert.serialHex, fingerprint: cert.fingerprint().hexString,
                  notBefore: cert.notBefore, notAfter: cert.notAfter, isCA: cert.isCA)
    }

    public var json: JSON {
        .object([
            ("subject", .string(subject)), ("issuer", .string(issuer)), ("serial", .string(serial)),
            ("sha256Fingerprint", .string(fingerprint)),
            ("notBefore", .string(RFC3339.format(notBefore))), ("notAfter", .string(RFC3339.format(notAfter))),
            ("isCA", .bool(isCA)), ("revoked", revoked.map { .bool($0) } ?? .null),
        ])
    }
}

/// What an endpoint's handshake negotiated.
public struct NegotiatedTLS: Sendable, Equatable {
    /// OpenSSL's name: "TLSv1.3".
    public var protocolVersion: String
    public var cipher: String
    /// The key-exchange group ("X25519"), nil when there was none or OpenSSL does not say.
    public var group: String?

    public init(protocolVersion: String, cipher: String, group: String?) {
        self.protocolVersion = protocolVersion
        self.cipher = cipher
        self.group = group
    }

    /// blackbox_exporter's spelling of the version ("TLS 1.3").
    public var versionLabel: String {
        protocolVersion.hasPrefix("TLSv") ? "TLS " + protocolVersion.dropFirst(4) : protocolVersion
    }

    public var json: JSON {
        .object([("protocol", .string(protocolVersion)), ("cipher", .string(cipher)), ("group", .optional(group))])
    }
}

/// The facts about one certificate (or one endpoint that could not be reached).
public struct CheckedCertificate: Sendable {
    /// The path or `host:port` (with `@sni` when the SNI differs from the host).
    public var source: String
    public var kind: CheckSourceKind
    /// The store name for store certificates and endpoints matched to one.
    public var storeName: String? { get { extra?.storeName } set { update { $0.storeName = newValue } } }
    public var subject: String = ""
    public var commonName: String?
    public var issuer: String = ""
    public var issuerCommonName: String?
    public var names: [String] = []
    public var serial: String = ""
    public var fingerprint: String = ""
    public var notBefore: Int64 = 0
    /// nil when there is no certificate (endpoint unreachable).
    public var notAfter: Int64?
    public var daysLeft: Int?
    /// nil when not verified.
    public var chainValid: Bool?
    public var chainErrors: [String] = []
    /// The codes of verify's warnings (chain-order, superfluous-certificate, …).
    public var chainWarnings: [String] = []
    /// Endpoints: whether the leaf covers the SNI name.
    public var hostnameMatch: Bool? { get { extra?.hostnameMatch } set { update { $0.hostnameMatch = newValue } } }
    /// Endpoints with a store certificate: whether the server serves the store's current one.
    public var servesCurrent: Bool? { get { extra?.servesCurrent } set { update { $0.servesCurrent = newValue } } }
    /// Endpoints: the connection failure, when there is no certificate.
    public var error: String? { get { extra?.error } set { update { $0.error = newValue } } }
    /// Endpoints: consecutive failed runs including this one (from the state file).
    public var consecutiveFailures: Int { get { extra?.consecutiveFailures ?? 0 } set { update { $0.consecutiveFailures = newValue } } }
    public var problems: [CheckProblem] = []
    public var status: CheckStatus = .ok
    /// Every certificate of the file or the served chain, leaf first (empty without a certificate).
    public var chain: [ChainMember] = []
    /// Endpoints: what the handshake negotiated.
    public var tls: NegotiatedTLS? { get { extra?.tls } set { update { $0.tls = newValue } } }

    /// What few results have (endpoints, store certificates, --ari), out of line: a run of 10,000
    /// files keeps and copies its results until they are output, and these fields would more than
    /// double each one's size. Immutable, so copies share it; a change makes a new one.
    final class Extra: Sendable {
        let storeName: String?
        let hostnameMatch: Bool?, servesCurrent: Bool?
        let error: String?
        let consecutiveFailures: Int
        let tls: NegotiatedTLS?
        let renewalInfo: RenewalInfoRecord?
        let renewalInfoAt: Int64
        init(_ f: Fields) {
            storeName = f.storeName; hostnameMatch = f.hostnameMatch; servesCurrent = f.servesCurrent; error = f.error
            consecutiveFailures = f.consecutiveFailures; tls = f.tls; renewalInfo = f.renewalInfo; renewalInfoAt = f.renewalInfoAt
        }
        var fields: Fields {
            Fields(storeName: storeName, hostnameMatch: hostnameMatch, servesCurrent: servesCurrent, error: error,
                   consecutiveFailures: consecutiveFailures, tls: tls, renewalInfo: renewalInfo, renewalInfoAt: renewalInfoAt)
        }
        struct Fields {
            var storeName: String?
            var hostnameMatch: Bool?, servesCurrent: Bool?
            var error: String?
            var consecutiveFailures = 0
            var tls: NegotiatedTLS?
            var renewalInfo: RenewalInfoRecord?
            var renewalInfoAt: Int64 = 0
            var isDefault: Bool {
                storeName == nil && hostnameMatch == nil && servesCurrent == nil && error == nil && consecutiveFailures == 0
                    && tls == nil && renewalInfo == nil && renewalInfoAt == 0
            }
        }
    }
    private var extra: Extra?

    /// A change that leaves every rare field at its default (the `storeName = nil` of each file)
    /// allocates nothing.
    private mutating func update(_ change: (inout Extra.Fields) -> Void) {
        var f = extra?.fields ?? Extra.Fields()
        change(&f)
        extra = f.isDefault ? nil : Extra(f)
    }

    /// What the text table, the summary and the alerts use of a result, for an OK file of a run
    /// that outputs only those (`CheckRun.Plan.ResultDetail.table`): the source, the name shown,
    /// the dates and verdicts, each problem's code (the text only for `ari-` ones, which the table
    /// prints) and the rare fields. Without the chain, the findings' text, the other names and the
    /// fingerprints, 10,000 files hold ~1 KB less each until the table is sorted. An OK result has
    /// no problem above OK, whose text an alert would carry.
    public func keepingTableFields() -> CheckedCertificate {
        var row = CheckedCertificate(source: source, kind: kind)
        row.extra = extra
        row.commonName = commonName
        if commonName == nil { row.names = Array(names.prefix(1)) }
        row.notBefore = notBefore
        row.notAfter = notAfter
        row.daysLeft = daysLeft
        row.chainValid = chainValid
        row.problems = problems.map { $0.code.hasPrefix("ari-") ? $0 : CheckProblem($0.code, "", status: $0.status) }
        row.status = status
        return row
    }

    /// The chain's soonest notAfter (the leaf's when the chain is not known).
    public var earliestExpiry: Int64? { chain.map(\.notAfter).min() ?? notAfter }

    /// The certificates to export: the chain, or the leaf alone when only its facts are known.
    public var members: [ChainMember] {
        if !chain.isEmpty { return chain }
        guard let notAfter else { return [] }
        return [ChainMember(subject: subject, commonName: commonName, issuer: issuer, issuerCommonName: issuerCommonName,
                            serial: serial, fingerprint: fingerprint, notBefore: notBefore, notAfter: notAfter, isCA: false)]
    }
    /// `check --ari`: what the CA said about renewing this store certificate (RFC 9773).
    public var renewalInfo: RenewalInfoRecord? { get { extra?.renewalInfo } set { update { $0.renewalInfo = newValue } } }
    /// The time `renewalInfo` is judged at (the run's `now`).
    public var renewalInfoAt: Int64 { get { extra?.renewalInfoAt ?? 0 } set { update { $0.renewalInfoAt = newValue } } }

    public init(source: String, kind: CheckSourceKind) {
        self.source = source
        self.kind = kind
    }

    /// The key in the state file.
    public var stateKey: String { "\(kind.rawValue):\(source)" }

    /// The renewal heartbeat as a check result: WARNING when no `certs renew` run succeeded within
    /// `maxAge` seconds (the cron job that quietly stopped), or when the last run failed; nil when
    /// the store has nothing to renew. `beat` nil with renewal configurations: renew never ran.
    public static func renewalHeartbeat(_ beat: RenewalHeartbeat?, source: String, hasRenewals: Bool, now: Int64, maxAge: Int64) -> CheckedCertificate? {
        guard beat != nil || hasRenewals else { return nil }
        var r = CheckedCertificate(source: source, kind: .renewal)
        r.commonName = "certs renew"
        func ago(_ t: Int64) -> String {
            let s = max(0, now - t)
            return s >= 2 * 86400 ? "\(s / 86400) days ago" : s >= 7200 ? "\(s / 3600) hours ago" : "\(s / 60) minutes ago"
        }
        guard let beat else {
            r.status = .warning
            r.error = "certs renew has never run for this store (no heartbeat); schedule it: certs emit cron / certs emit systemd"
            r.problems = [CheckProblem("renewal-never-ran", r.error!, status: .warning)]
            return r
        }
        let lastRun = "last run \(ago(beat.lastRun)): \(beat.lastOutcome)\(beat.lastError.isEmpty ? "" : ", \(beat.lastError)")"
        if let success = beat.lastSuccess, now - success <= maxAge {
            if beat.lastOutcome != "success" {
                r.status = .warning
                r.error = "the last certs renew run failed (\(lastRun))"
                r.problems = [CheckProblem("renewal-failed", r.error!, status: .warning)]
            }
        } else {
            r.status = .warning
            r.error = "no successful certs renew run for \(maxAge / 3600) hours (last success: \(beat.lastSuccess.map(ago) ?? "never"); \(lastRun)): is its cron job or timer still running?"
            r.problems = [CheckProblem("renewal-stale", r.error!, status: .warning)]
        }
        return r
    }

    public var json: JSON {
        // Built in two typed halves: one literal of 24 mixed entries is too much for the type checker.
        let known = notAfter != nil
        let facts: [(String, JSON)] = [
            ("source", .string(source)),
            ("kind", .string(kind.rawValue)),
            ("status", .string(status.name)),
            ("daysLeft", daysLeft.map { .int($0) } ?? .null),
            ("notBefore", known ? .string(RFC3339.format(notBefore)) : .null),
            ("notAfter", notAfter.map { .string(RFC3339.format($0)) } ?? .null),
            ("subject", known ? .string(subject) : .null),
            ("issuer", known ? .string(issuer) : .null),
            ("names", .strings(names)),
            ("serial", known ? .string(serial) : .null),
            ("sha256Fingerprint", known ? .string(fingerprint) : .null),
            ("storeName", .optional(storeName)),
        ]
        let verdicts: [(String, JSON)] = [
            ("chainValid", chainValid.map { .bool($0) } ?? .null),
            ("chainErrors", .strings(chainErrors)),
            ("chainWarnings", .strings(chainWarnings)),
            ("hostnameMatch", hostnameMatch.map { .bool($0) } ?? .null),
            ("servesCurrent", servesCurrent.map { .bool($0) } ?? .null),
            ("error", .optional(error)),
            ("consecutiveFailures", .int(consecutiveFailures)),
            ("problems", .array(problems.map { .object([("code", .string($0.code)), ("status", .string($0.status.name)), ("message", .string($0.message))]) })),
            ("chain", .array(chain.map(\.json))),
            ("earliestExpiry", earliestExpiry.map { .string(RFC3339.format($0)) } ?? .null),
            ("tls", tls?.json ?? .null),
            ("renewalInfo", renewalInfo.map { RenewalWindowCheck.json($0, now: renewalInfoAt) } ?? .null),
        ]
        return .object(facts + verdicts)
    }
}

/// The outcome of one `certs check` run.
public struct CheckReport: Sendable {
    public var at: Int64
    public var thresholds: CheckThresholds
    public var results: [CheckedCertificate]
    /// Files in directories that held no certificate.
    public var skipped: [String]
    /// The renewal heartbeat, when the store has one (for the Prometheus metrics).
    public var renewal: RenewalHeartbeat?

    public init(at: Int64, thresholds: CheckThresholds, results: [CheckedCertificate], skipped: [String]) {
        self.at = at
        self.thresholds = thresholds
        self.results = results
        self.skipped = skipped
    }

    /// CRITICAL > UNKNOWN > WARNING > OK; no certificate at all is UNKNOWN.
    public var status: CheckStatus {
        if results.isEmpty { return .unknown }
        return results.map(\.status).max() ?? .ok
    }

    /// Counted in place: `filter` would copy every matching result (~330 bytes each) to count them.
    public func count(_ s: CheckStatus) -> Int { results.reduce(0) { $0 + ($1.status == s ? 1 : 0) } }

    /// Results with a certificate (not the unreachable endpoints or unreadable files).
    public var certificateCount: Int { results.reduce(0) { $0 + ($1.notAfter != nil ? 1 : 0) } }

    /// Sorted for the table: no certificate first, then by days left, then by source.
    public var sorted: [CheckedCertificate] { sortedIndices.map { results[$0] } }

    /// The order of `sorted`, as indices into `results` (10,000 results are not copied to be sorted).
    public var sortedIndices: [Int] {
        Array(results.indices).sorted { Self.precedes(results[$0], results[$1]) }
    }

    static func precedes(_ a: CheckedCertificate, _ b: CheckedCertificate) -> Bool {
        switch (a.notAfter, b.notAfter) {
        case (nil, nil): return a.source < b.source
        case (nil, _): return true
        case (_, nil): return false
        case let (x?, y?): return x != y ? x < y : a.source < b.source
        }
    }

    /// The first of `sorted` with a certificate, found without sorting.
    public var soonest: CheckedCertificate? {
        var best: Int?
        for i in results.indices where results[i].notAfter != nil {
            if let b = best, !Self.precedes(results[i], results[b]) { continue }
            best = i
        }
        return best.map { results[$0] }
    }

    /// Nagios performance data: aggregate counts and the soonest expiry in days.
    public var perfdata: String {
        var parts = ["certificates=\(certificateCount);;;0",
                     "warning=\(count(.warning));;;0", "critical=\(count(.critical));;;0",
                     "unknown=\(count(.unknown));;;0", "skipped=\(skipped.count);;;0"]
        if let s = soonest, let d = s.daysLeft {
            func t(_ x: Threshold) -> String {
                switch x {
                case .days(let n), .lifetime(let n, _): return String(n)
                case .percent: return ""
                }
            }
            parts.append("soonest_days_left=\(d);\(t(thresholds.warning));\(t(thresholds.critical))")
        }
        return parts.joined(separator: " ")
    }

    /// `CERTS OK - 12 certificates, soonest expires in 41 days | perfdata`
    public var summary: String {
        let certCount = certificateCount
        var text = "CERTS \(status.name) - \(certCount) certificate\(certCount == 1 ? "" : "s")"
        var notes: [String] = []
        for s in [CheckStatus.critical, .warning, .unknown] where count(s) > 0 {
            notes.append("\(count(s)) \(s.name.lowercased())")
        }
        if !notes.isEmpty { text += " (" + notes.joined(separator: ", ") + ")" }
        if let s = soonest, let d = s.daysLeft, let notAfter = s.notAfter {
            let ago = -d
            text += notAfter <= at ? ", \(s.source) expired \(ago) day\(ago == 1 ? "" : "s") ago" :
                ", soonest expires in \(d) day\(d == 1 ? "" : "s") (\(s.source))"
        } else if results.isEmpty {
            text += ", nothing to check"
        }
        if let failed = results.first(where: { $0.notAfter == nil }), let e = failed.error {
            text += "; \(failed.source): \(e)"
        }
        if !skipped.isEmpty { text += ", \(skipped.count) non-certificate file\(skipped.count == 1 ? "" : "s") skipped" }
        return text + " | " + perfdata
    }

    /// The `certs check --json` document as `json(alerts:).rendered()` and a newline, handed to
    /// `emit` in pieces of about `chunk` bytes: the results are rendered one at a time, so neither
    /// the document's tree nor its text (20 MB for 10,000 files) is ever whole in memory.
    public func renderJSON(alerts: [JSON] = [], chunk: Int = 1 << 16, emit: (String) -> Void) {
        guard case .object(let fields) = json(alerts: alerts, results: []) else { return }
        var out = "{"
        func flush(_ force: Bool = false) {
            if force || out.utf8.count >= chunk {
                emit(out)
                out.removeAll(keepingCapacity: true)
            }
        }
        for (i, (key, value)) in fields.enumerated() {
            if i > 0 { out += "," }
            out += "\n  "
            JSON.quote(key, into: &out)
            out += ": "
            if key == "results", !results.isEmpty {
                out += "["
                for (n, index) in sortedIndices.enumerated() {
                    if n > 0 { out += "," }
                    out += "\n    "
                    results[index].json.write(to: &out, pretty: true, indent: 2)
                    flush()
                }
                out += "\n  ]"
            } else {
                value.write(to: &out, pretty: true, indent: 1)
            }
        }
        out += "\n}\n"
        flush(true)
    }

    /// The `certs check --json` document (docs/json.md).
    public func json(alerts: [JSON] = []) -> JSON { json(alerts: alerts, results: sorted) }

    func json(alerts: [JSON], results ordered: [CheckedCertificate]) -> JSON {
        .object([
            ("version", .int(1)),
            ("status", .string(status.name)),
            ("exitCode", .int(status.rawValue)),
            ("summary", .string(summary)),
            ("at", .string(RFC3339.format(at))),
            ("thresholds", .object([("warning", .string(thresholds.warning.description)), ("critical", .string(thresholds.critical.description))])),
            ("counts", .object([
                ("certificates", .int(certificateCount)),
                ("ok", .int(count(.ok))), ("warning", .int(count(.warning))),
                ("critical", .int(count(.critical))), ("unknown", .int(count(.unknown))),
                ("skipped", .int(skipped.count)),
            ])),
            ("results", .array(ordered.map(\.json))),
            ("skipped", .strings(skipped)),
            ("alerts", .array(alerts)),
        ])
    }
}
