/// Where `certs check` sends alerts: `webhook=URL` (a JSON POST whose `text` field Slack and
/// Mattermost incoming webhooks display) or `command=CMD` (run by /bin/sh with CERTS_ALERT_* set).
public enum AlertTarget: Sendable, Equatable, CustomStringConvertible {
    case webhook(String)
    case command(String)

    public init(parsing text: String) throws {
        if text.hasPrefix("webhook=") {
            let url = String(text.dropFirst(8))
            _ = try HTTPURL(url)
            self = .webhook(url)
        } else if text.hasPrefix("command=") {
            let cmd = String(text.dropFirst(8))
            guard !cmd.trimmingSpaces.isEmpty else { throw InputError.invalidValue(option: "--alert", value: text, reason: "the command is empty") }
            self = .command(cmd)
        } else {
            throw InputError.invalidValue(option: "--alert", value: text, reason: "use webhook=URL or command=CMD")
        }
    }

    /// For messages: the webhook's scheme and host only (its path is often a secret token).
    public var description: String {
        switch self {
        case .webhook(let url):
            if let u = try? HTTPURL(url) { return "webhook \(u.isHTTPS ? "https" : "http")://\(u.authority)/…" }
            return "webhook"
        case .command: return "alert command"
        }
    }
}

/// Delivers alerts. Every event goes to every target; an event counts as delivered when all
/// targets took it.
public struct Alerter {
    public let targets: [AlertTarget]
    public let timeout: Double
    let http: HTTPClient?

    public init(targets: [AlertTarget], trust: TrustStore? = nil, timeout: Double = 30) throws {
        self.targets = targets
        self.timeout = timeout
        http = targets.contains { if case .webhook = $0 { return true }; return false } ? try HTTPClient(trust: trust, timeout: timeout) : nil
    }

    /// The environment an alert command gets.
    public static func environment(_ event: AlertEvent) -> [String: String] {
        let r = event.result
        return [
            "CERTS_ALERT_EVENT": event.kind.rawValue,
            "CERTS_ALERT_STATUS": event.status.name,
            "CERTS_ALERT_PREVIOUS_STATUS": event.previous.name,
            "CERTS_ALERT_SOURCE": r.source,
            "CERTS_ALERT_KIND": r.kind.rawValue,
            "CERTS_ALERT_SUBJECT": r.subject,
            "CERTS_ALERT_NAMES": r.names.joined(separator: " "),
            "CERTS_ALERT_NOT_AFTER": r.notAfter.map(RFC3339.format) ?? "",
            "CERTS_ALERT_DAYS_LEFT": r.daysLeft.map { String($0) } ?? "",
            "CERTS_ALERT_FINGERPRINT": r.fingerprint,
            "CERTS_ALERT_MESSAGE": event.text,
        ]
    }

    /// Sends one event everywhere; returns the failures (empty when delivered).
    public func deliver(_ event: AlertEvent) -> [String] {
        var failures: [String] = []
        for target in targets {
            switch target {
            case .webhook(let url):
                do {
                    let body = Array(event.json.rendered(pretty: false).utf8)
                    let response = try http!.send(HTTPRequest(method: "POST", url: url, headers: [("Content-Type", "application/json")], body: body))
                    if !(200..<300).contains(response.status) { failures.append("\(target) answered HTTP \(response.status)") }
                } catch {
                    failures.append("\(target): \(error)")
                }
            case .command(let cmd):
                do {
                    let result = try Subprocess.shell(cmd, environment: Self.environment(event), timeout: timeout)
                    if !result.succeeded { failures.append("\(target) failed: \(result.failureDetail)") }
                } catch {
                    failures.append("\(target): \(error)")
                }
            }
        }
        return failures
    }
}
