/// What the CA last said about renewing one certificate, kept next to its renewal configuration
/// (`<store>/renewal/.NAME.ari.json`, hidden so `renew --all` does not take it for a
/// configuration) until the Retry-After the CA sent (RFC 9773 §4.3).
///
/// While the record is fresh, `certs renew` decides "due or not" from it without contacting the CA:
/// an hourly cron run with nothing due touches no network. The random moment in the suggested
/// window (§4.2) is drawn once and kept with the window, so consecutive runs agree.
public struct RenewalInfoRecord: Equatable, Sendable {
    /// The ARI certificate identifier the answer is about: a renewed certificate has another.
    public var certificateID: String
    /// The directory the answer came from: a configuration moved to another CA asks again.
    public var directoryURL: String
    /// The suggested window, Unix seconds; nil when the CA offers no renewal information.
    public var windowStart: Int64?
    public var windowEnd: Int64?
    /// The moment in the window at which this client renews.
    public var chosen: Int64?
    public var fetchedAt: Int64
    /// Ask the CA again at or after this time.
    public var validUntil: Int64
    /// The Retry-After the CA sent, in seconds from `fetchedAt` (nil: none or unreadable).
    public var retryAfter: Int64?
    /// The page where the CA explains its window (an incident, a mass revocation), when it gave one.
    public var explanationURL: String?
    /// Why the CA's answer was not taken (a window that ends before it starts, no window at all):
    /// the local rule decides meanwhile, and `renew`/`check --ari` say so.
    public var problem: String?

    public init(certificateID: String, directoryURL: String, windowStart: Int64?, windowEnd: Int64?, chosen: Int64?,
                fetchedAt: Int64, validUntil: Int64, retryAfter: Int64? = nil, explanationURL: String? = nil, problem: String? = nil) {
        self.retryAfter = retryAfter
        self.explanationURL = explanationURL
        self.problem = problem
        self.certificateID = certificateID
        self.directoryURL = directoryURL
        self.windowStart = windowStart
        self.windowEnd = windowEnd
        self.chosen = chosen
        self.fetchedAt = fetchedAt
        self.validUntil = validUntil
    }

    /// Without a Retry-After, ask again after this long (RFC 9773 §4.3 leaves it to the client).
    public static let defaultValidity: Int64 = 6 * 3600
    /// However long the CA says, ask at least once a day (an incident can move a window earlier).
    public static let maximumValidity: Int64 = 24 * 3600
    /// Never trust a record for less than this (a CA answering "Retry-After: 0" is not re-polled in a loop).
    public static let minimumValidity: Int64 = 60

    /// How long an answer fetched at `now` with this Retry-After (seconds from now) stays fresh.
    public static func validity(retryAfter: Double?, now: Int64) -> Int64 {
        let seconds = retryAfter.map { $0.isFinite ? Int64(min(max($0, 0), Double(Int64(Int32.max)))) : defaultValidity } ?? defaultValidity
        return now + min(max(seconds, minimumValidity), maximumValidity)
    }

    /// The suggested window and explanation of an ARI answer (RFC 9773 §4.2); throws a one-line
    /// reason when the answer has no usable window (missing, unparseable, or end <= start).
    public static func window(_ json: JSON) throws(RenewalInfoProblem) -> (start: Int64, end: Int64, explanationURL: String?) {
        guard let window = json["suggestedWindow"], case .object = window else { throw RenewalInfoProblem("no suggestedWindow") }
        guard let startText = window["start"]?.stringValue, let start = RFC3339.parse(startText) else {
            throw RenewalInfoProblem("suggestedWindow.start is not an RFC 3339 time")
        }
        guard let endText = window["end"]?.stringValue, let end = RFC3339.parse(endText) else {
            throw RenewalInfoProblem("suggestedWindow.end is not an RFC 3339 time")
        }
        guard end > start else {
            throw RenewalInfoProblem("invalid suggestedWindow: its end (\(RFC3339.format(end))) is not after its start (\(RFC3339.format(start)))")
        }
        return (start, end, explanationURL(json["explanationURL"]?.stringValue))
    }

    /// An explanation URL worth showing: http(s), bounded, printable (it goes into alerts).
    static func explanationURL(_ text: String?) -> String? {
        guard let text, text.hasPrefix("https://") || text.hasPrefix("http://"), text.utf8.count <= 1024,
              text.utf8.allSatisfy({ $0 > 32 && $0 < 127 }) else { return nil }
        return text
    }

    /// The record for ARI answer `json` (nil: the CA offers no ARI); the chosen moment is kept
    /// from `previous` when the window is the same, else drawn at `fraction` ∈ [0, 1] of the window.
    public static func from(ari json: JSON?, certificateID: String, directoryURL: String, retryAfter: Double?, now: Int64,
                            fraction: Double, previous: RenewalInfoRecord?) -> RenewalInfoRecord {
        var start: Int64?, end: Int64?, chosen: Int64?, explanation: String?, problem: String?
        if let json {
            do {
                let w = try window(json)
                start = w.start
                end = w.end
                explanation = w.explanationURL
                if let previous, previous.certificateID == certificateID, previous.directoryURL == directoryURL,
                   previous.windowStart == w.start, previous.windowEnd == w.end, let c = previous.chosen {
                    chosen = c
                } else {
                    chosen = w.start + Int64(Double(w.end - w.start) * min(max(fraction, 0), 1))
                }
            } catch {
                problem = error.reason
                explanation = Self.explanationURL(json["explanationURL"]?.stringValue)
            }
        }
        let seconds = retryAfter.flatMap { $0.isFinite && $0 >= 0 ? Int64(min($0, Double(Int64(Int32.max)))) : nil }
        return RenewalInfoRecord(certificateID: certificateID, directoryURL: directoryURL, windowStart: start, windowEnd: end,
                                 chosen: chosen, fetchedAt: now, validUntil: validity(retryAfter: retryAfter, now: now),
                                 retryAfter: seconds, explanationURL: explanation, problem: problem)
    }

    /// True when the record answers for this certificate and CA at `now` (a clock that went back
    /// before the fetch makes it stale too).
    public func isFresh(certificateID: String, directoryURL: String, now: Int64) -> Bool {
        self.certificateID == certificateID && self.directoryURL == directoryURL && now < validUntil && now >= fetchedAt - 300
    }

    /// Due per the window: nil when the CA offers no window (the local rule decides).
    public func isDue(now: Int64) -> Bool? { chosen.map { now >= $0 } }

    public static func path(store: CertificateStore, name: String) -> String { "\(store.root)/renewal/.\(name).ari.json" }

    public var json: JSON {
        func time(_ t: Int64?) -> JSON { t.map { .string(RFC3339.format($0)) } ?? .null }
        return .object([
            ("version", .int(1)),
            ("certificateID", .string(certificateID)),
            ("acme", .string(directoryURL)),
            ("windowStart", time(windowStart)),
            ("windowEnd", time(windowEnd)),
            ("chosen", time(chosen)),
            ("fetchedAt", time(fetchedAt)),
            ("validUntil", time(validUntil)),
            ("retryAfter", retryAfter.map { .int($0) } ?? .null),
            ("explanationURL", .optional(explanationURL)),
            ("problem", .optional(problem)),
        ])
    }

    /// The file as `json` writes it: version 1, times in RFC 3339, absent values null.
    struct Stored: Decodable {
        let version: Int
        let certificateID: String
        let acme: String
        let windowStart: String?
        let windowEnd: String?
        let chosen: String?
        let fetchedAt: String
        let validUntil: String
        let retryAfter: Int64?
        let explanationURL: String?
        let problem: String?
    }

    /// The record a stored file holds; nil when it is not a consistent version-1 record.
    init?(_ s: Stored) {
        guard s.version == 1, let fetched = RFC3339.parse(s.fetchedAt), let until = RFC3339.parse(s.validUntil) else { return nil }
        func time(_ t: String?) -> Int64? { t.flatMap(RFC3339.parse) }
        self.init(certificateID: s.certificateID, directoryURL: s.acme, windowStart: time(s.windowStart), windowEnd: time(s.windowEnd),
                  chosen: time(s.chosen), fetchedAt: fetched, validUntil: until, retryAfter: s.retryAfter,
                  explanationURL: Self.explanationURL(s.explanationURL), problem: s.problem)
        if (windowStart == nil) != (chosen == nil) || (windowStart == nil) != (windowEnd == nil) { return nil }
        if let s = windowStart, let e = windowEnd, let c = chosen, !(e > s && c >= s && c <= e) { return nil }
    }

    public init?(json: JSON) {
        guard let stored = try? JSONParser.decode(Stored.self, from: Array(json.rendered(pretty: false).utf8)) else { return nil }
        self.init(stored)
    }

    /// The stored record; nil when there is none or it cannot be read (then the CA is asked).
    public static func load(store: CertificateStore, name: String) -> RenewalInfoRecord? {
        guard let bytes = try? FileSystem.read(path(store: store, name: name), limit: 1 << 16),
              let stored = try? JSONParser.decode(Stored.self, from: bytes) else { return nil }
        return RenewalInfoRecord(stored)
    }

    /// Saved atomically without a flush: a cache lost in a power cut only costs one request.
    public func save(store: CertificateStore, name: String) throws {
        try FileSystem.writeAtomically(Array((json.rendered() + "\n").utf8), to: Self.path(store: store, name: name), mode: 0o644,
                                       existing: .replace, sync: false)
    }
}

/// Why an ARI answer was not used: one line, for `renew` and `check --ari`.
public struct RenewalInfoProblem: Error, Equatable, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

extension RenewalInfoRecord {
    /// What the CA says now about certificate `certificateID` of store entry `name`: the stored
    /// record while it is fresh (no network), else a new answer from `client()` (saved; the
    /// instant drawn at `fraction` unless the window is unchanged). `error` is why the CA could
    /// not be asked or answered garbage; the record is then nil (the caller's own rule decides).
    public static func current(store: CertificateStore, name: String, certificateID: String, directoryURL: String, now: Int64,
                               fraction: Double, client: () throws -> ACMEClient) -> (record: RenewalInfoRecord?, error: String?) {
        let cached = load(store: store, name: name)
        if let cached, cached.isFresh(certificateID: certificateID, directoryURL: directoryURL, now: now) { return (cached, nil) }
        let record: RenewalInfoRecord
        do {
            let ca = try client()
            if let info = try ca.renewalInfo(certificateID: certificateID) {
                record = from(ari: info.json, certificateID: certificateID, directoryURL: directoryURL, retryAfter: info.retryAfter,
                              now: now, fraction: fraction, previous: cached)
            } else {
                // No ARI at this CA: remembered too, so the directory is not fetched every hour.
                record = from(ari: nil, certificateID: certificateID, directoryURL: directoryURL, retryAfter: nil, now: now, fraction: 0, previous: nil)
            }
        } catch {
            return (nil, "\(error)")
        }
        // A cache lost costs one request; it is not worth failing the caller for.
        try? record.save(store: store, name: name)
        return (record, nil)
    }
}
