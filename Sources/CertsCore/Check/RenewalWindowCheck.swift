/// `certs check --ari`: the CA's renewal window (RFC 9773) as a check finding, so a window that
/// opened (or closed: a mass revocation the CA announced) is seen even when the renew cron is dead.
public enum RenewalWindowCheck {
    /// WARNING once the window has opened, CRITICAL once it has closed, WARNING when the CA's
    /// answer was rejected; nothing before the window or when the CA offers no ARI.
    public static func problem(_ record: RenewalInfoRecord, now: Int64) -> CheckProblem? {
        let see = record.explanationURL.map { "; the CA explains: \($0)" } ?? ""
        if let problem = record.problem {
            return CheckProblem("ari-invalid", "the CA's renewal information was not used: \(problem)\(see)", status: .warning)
        }
        guard let start = record.windowStart, let end = record.windowEnd else { return nil }
        if now >= end {
            return CheckProblem("ari-window-closed", "the CA's renewal window closed at \(RFC3339.format(end)): renew now (certs renew --force)\(see)", status: .critical)
        }
        if now >= start {
            return CheckProblem("ari-window-open", "the CA's renewal window opened at \(RFC3339.format(start)) (until \(RFC3339.format(end)))\(see)", status: .warning)
        }
        return nil
    }

    /// Adds the finding (and the record, for JSON and Prometheus) to a store result.
    public static func apply(_ record: RenewalInfoRecord, to result: inout CheckedCertificate, now: Int64) {
        result.renewalInfo = record
        result.renewalInfoAt = now
        guard let p = problem(record, now: now) else { return }
        result.problems.append(p)
        result.status = max(result.status, p.status)
    }

    /// The `renewalInfo` object of a check result in JSON.
    public static func json(_ record: RenewalInfoRecord, now: Int64) -> JSON {
        func time(_ t: Int64?) -> JSON { t.map { .string(RFC3339.format($0)) } ?? .null }
        let state: String
        if record.problem != nil { state = "invalid" }
        else if let s = record.windowStart, let e = record.windowEnd { state = now >= e ? "closed" : now >= s ? "open" : "before" }
        else { state = "none" }
        return .object([("state", .string(state)), ("windowStart", time(record.windowStart)), ("windowEnd", time(record.windowEnd)),
                         ("explanationURL", .optional(record.explanationURL)), ("problem", .optional(record.problem)),
                         ("fetchedAt", time(record.fetchedAt)), ("validUntil", time(record.validUntil))])
    }
}
