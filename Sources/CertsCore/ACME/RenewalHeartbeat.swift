/// The heartbeat of `certs renew`: when it last ran, how that run ended, and when a run last
/// succeeded, in `<store>/renewal/.heartbeat.json`. `certs check` reads it and warns when the last
/// successful run is too old: the cron job that quietly stopped is caught before a certificate is.
public struct RenewalHeartbeat: Sendable, Equatable {
    public var lastRun: Int64
    /// "success" (nothing failed: renewed or not due), or "failure".
    public var lastOutcome: String
    public var lastSuccess: Int64?
    /// What failed in the last run, in words ("" on success).
    public var lastError: String

    public init(lastRun: Int64, lastOutcome: String, lastSuccess: Int64?, lastError: String = "") {
        self.lastRun = lastRun
        self.lastOutcome = lastOutcome
        self.lastSuccess = lastSuccess
        self.lastError = lastError
    }

    public static func path(store: CertificateStore) -> String { "\(store.root)/renewal/.heartbeat.json" }

    public var json: JSON {
        .object([
            ("version", .int(1)),
            ("lastRun", .string(RFC3339.format(lastRun))),
            ("lastOutcome", .string(lastOutcome)),
            ("lastSuccess", lastSuccess.map { .string(RFC3339.format($0)) } ?? .null),
            ("lastError", .string(lastError)),
        ])
    }

    /// The file as `json` writes it (version 1); `lastError` came later and may be absent.
    struct Stored: Decodable {
        let lastRun: String
        let lastOutcome: String
        let lastSuccess: String?
        let lastError: String?
    }

    /// nil when no renewal run has been recorded yet.
    public static func load(store: CertificateStore) throws -> RenewalHeartbeat? {
        let p = path(store: store)
        guard FileSystem.exists(p) else { return nil }
        let stored: Stored
        do { stored = try JSONParser.decode(Stored.self, from: try FileSystem.read(p, limit: 1 << 16)) } catch let e as JSONParseError {
            throw InputError.malformed(path: p, what: "renewal heartbeat", detail: e.description)
        }
        guard let run = RFC3339.parse(stored.lastRun) else {
            throw InputError.malformed(path: p, what: "renewal heartbeat", detail: "lastRun is not an RFC 3339 time")
        }
        return RenewalHeartbeat(lastRun: run, lastOutcome: stored.lastOutcome, lastSuccess: stored.lastSuccess.flatMap(RFC3339.parse),
                                lastError: stored.lastError ?? "")
    }

    /// Records a run that ended at `now`; keeps the last success of earlier runs on failure.
    public static func record(store: CertificateStore, now: Int64, success: Bool, error: String = "") throws {
        let previous = (try? load(store: store)) ?? nil
        let beat = RenewalHeartbeat(lastRun: now, lastOutcome: success ? "success" : "failure",
                                    lastSuccess: success ? now : previous?.lastSuccess, lastError: success ? "" : error)
        try FileSystem.makeDirectories("\(store.root)/renewal")
        try FileSystem.writeAtomically(Array(beat.json.rendered().utf8) + [10], to: path(store: store), mode: 0o644, existing: .replace)
    }
}
