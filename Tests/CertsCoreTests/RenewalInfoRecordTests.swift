import Foundation
import Testing
@testable import CertsCore

/// The cached ARI answer that lets an hourly `certs renew` stay off the network (RFC 9773 §4.3).
@Suite struct RenewalInfoRecordTests {
    let window = """
    {"suggestedWindow": {"start": "2025-01-02T04:00:00Z", "end": "2025-01-03T04:00:00Z"}}
    """

    @Test func freshUntilTheRetryAfterClampedToAMinuteAndADay() {
        let now: Int64 = 1_700_000_000
        #expect(RenewalInfoRecord.validity(retryAfter: 3600, now: now) == now + 3600)
        #expect(RenewalInfoRecord.validity(retryAfter: nil, now: now) == now + 6 * 3600)
        #expect(RenewalInfoRecord.validity(retryAfter: 0, now: now) == now + 60)
        #expect(RenewalInfoRecord.validity(retryAfter: 30 * 86400, now: now) == now + 86400)
        #expect(RenewalInfoRecord.validity(retryAfter: -5, now: now) == now + 60)
    }

    @Test func theChosenMomentIsKeptWhileTheWindowIsTheSame() throws {
        let json = try JSONParser.parse(window)
        let start = RFC3339.parse("2025-01-02T04:00:00Z")!, end = RFC3339.parse("2025-01-03T04:00:00Z")!
        let first = RenewalInfoRecord.from(ari: json, certificateID: "a.b", directoryURL: "https://ca/dir", retryAfter: 3600,
                                           now: start - 86400, fraction: 0.25, previous: nil)
        #expect(first.chosen == start + (end - start) / 4)
        #expect(first.isDue(now: start) == false && first.isDue(now: start + (end - start) / 4) == true)
        let again = RenewalInfoRecord.from(ari: json, certificateID: "a.b", directoryURL: "https://ca/dir", retryAfter: 3600,
                                           now: start - 3600, fraction: 0.9, previous: first)
        #expect(again.chosen == first.chosen)
        let moved = try JSONParser.parse(#"{"suggestedWindow": {"start": "2025-01-01T04:00:00Z", "end": "2025-01-01T05:00:00Z"}}"#)
        let earlier = RenewalInfoRecord.from(ari: moved, certificateID: "a.b", directoryURL: "https://ca/dir", retryAfter: nil,
                                             now: start - 3600, fraction: 0, previous: first)
        #expect(earlier.chosen == RFC3339.parse("2025-01-01T04:00:00Z"))
        let noARI = RenewalInfoRecord.from(ari: nil, certificateID: "a.b", directoryURL: "https://ca/dir", retryAfter: nil,
                                           now: start, fraction: 0.5, previous: first)
        #expect(noARI.chosen == nil && noARI.isDue(now: end) == nil)
    }

    @Test func staleForAnotherCertificateAnotherCAOrAClockThatWentBack() {
        let r = RenewalInfoRecord(certificateID: "a.b", directoryURL: "https://ca/dir", windowStart: nil, windowEnd: nil, chosen: nil,
                                  fetchedAt: 1000, validUntil: 5000)
        #expect(r.isFresh(certificateID: "a.b", directoryURL: "https://ca/dir", now: 4999))
        #expect(!r.isFresh(certificateID: "a.b", directoryURL: "https://ca/dir", now: 5000))
        #expect(!r.isFresh(certificateID: "a.c", directoryURL: "https://ca/dir", now: 2000))
        #expect(!r.isFresh(certificateID: "a.b", directoryURL: "https://other/dir", now: 2000))
        #expect(!r.isFresh(certificateID: "a.b", directoryURL: "https://ca/dir", now: 1000 - 301))
    }

    @Test func roundTripsThroughItsFileAndIgnoresGarbage() throws {
        let s = CoreScratch()
        let store = CertificateStore(root: s.path)
        try FileSystem.makeDirectories("\(s.path)/renewal")
        let r = RenewalInfoRecord(certificateID: "a.b", directoryURL: "https://ca/dir", windowStart: 100, windowEnd: 200, chosen: 150,
                                  fetchedAt: 50, validUntil: 3650)
        try r.save(store: store, name: "x.example")
        #expect(RenewalInfoRecord.load(store: store, name: "x.example") == r)
        #expect(FileManager.default.fileExists(atPath: "\(s.path)/renewal/.x.example.ari.json"))
        try "{not json".write(toFile: "\(s.path)/renewal/.y.example.ari.json", atomically: true, encoding: .utf8)
        #expect(RenewalInfoRecord.load(store: store, name: "y.example") == nil)
        #expect(RenewalInfoRecord.load(store: store, name: "missing.example") == nil)
    }
}

/// The rules of RFC 9773 and the issue, at pinned times.
@Suite struct RenewalDecisionTests {
    let day: Int64 = 86400

    func record(start: Int64, end: Int64, chosen: Int64, explanation: String? = nil) -> RenewalInfoRecord {
        RenewalInfoRecord(certificateID: "a.b", directoryURL: "https://ca/dir", windowStart: start, windowEnd: end, chosen: chosen,
                          fetchedAt: 0, validUntil: 3600, explanationURL: explanation)
    }

    @Test func lessThanATwentiethOfTheLifetimeLeftRenewsWhateverTheWindowSays() {
        // 100-day certificate, the CA's window (and chosen instant) after expiry: a broken window.
        let ari = record(start: 120 * day, end: 121 * day, chosen: 120 * day)
        let notYet = RenewalPolicy.decide(notBefore: 0, notAfter: 100 * day, now: 94 * day, days: nil, ari: ari)
        #expect(!notYet.due, "\(notYet)")
        let due = RenewalPolicy.decide(notBefore: 0, notAfter: 100 * day, now: 95 * day + 1, days: nil, ari: ari)
        #expect(due.due && due.reason.hasPrefix("less than 1/20 of the lifetime left"), "\(due)")
    }

    @Test func theWindowDecidesBeforeTheLastThirdAndCarriesItsExplanation() {
        let ari = record(start: 20 * day, end: 21 * day, chosen: 20 * day + 600, explanation: "https://ca.example/why")
        let early = RenewalPolicy.decide(notBefore: 0, notAfter: 90 * day, now: 20 * day + 601, days: nil, ari: ari)
        #expect(early.due && early.explanationURL == "https://ca.example/why", "\(early)")
        #expect(!RenewalPolicy.decide(notBefore: 0, notAfter: 90 * day, now: 20 * day + 599, days: nil, ari: ari).due)
        // Without a window: the last third; --days overrides everything.
        #expect(RenewalPolicy.decide(notBefore: 0, notAfter: 90 * day, now: 61 * day, days: nil, ari: nil).due)
        #expect(!RenewalPolicy.decide(notBefore: 0, notAfter: 90 * day, now: 59 * day, days: nil, ari: nil).due)
        #expect(!RenewalPolicy.decide(notBefore: 0, notAfter: 90 * day, now: 21 * day, days: 10, ari: ari).due)
    }

    @Test func aWindowEndingAtOrBeforeItsStartIsRejectedWithAReason() throws {
        for (s, e) in [("2025-01-03T04:00:00Z", "2025-01-02T04:00:00Z"), ("2025-01-02T04:00:00Z", "2025-01-02T04:00:00Z")] {
            let json = try JSONParser.parse(#"{"suggestedWindow": {"start": "\#(s)", "end": "\#(e)"}, "explanationURL": "https://ca.example/x"}"#)
            #expect(throws: RenewalInfoProblem.self) { try RenewalInfoRecord.window(json) }
            let r = RenewalInfoRecord.from(ari: json, certificateID: "a.b", directoryURL: "https://ca/dir", retryAfter: 60, now: 0, fraction: 0.5, previous: nil)
            #expect(r.chosen == nil && r.windowStart == nil && r.problem?.contains("is not after its start") == true, "\(r)")
            #expect(r.explanationURL == "https://ca.example/x")
            let d = RenewalPolicy.decide(notBefore: 0, notAfter: 90 * day, now: 10 * day, days: nil, ari: r)
            #expect(!d.due && d.reason.contains("the CA's renewal information was not used: invalid suggestedWindow"), "\(d)")
            #expect(RenewalInfoRecord(json: r.json) == r)
        }
        #expect(throws: RenewalInfoProblem.self) { try RenewalInfoRecord.window(try JSONParser.parse(#"{"suggestedWindow": {"start": "soon"}}"#)) }
        #expect(throws: RenewalInfoProblem.self) { try RenewalInfoRecord.window(.object([])) }
    }

    @Test func onlyAPrintableHTTPExplanationURLIsKept() throws {
        let ok = try RenewalInfoRecord.window(try JSONParser.parse(#"{"suggestedWindow": {"start": "2025-01-02T04:00:00Z", "end": "2025-01-03T04:00:00Z"}, "explanationURL": "https://ca.example/a"}"#))
        #expect(ok.explanationURL == "https://ca.example/a")
        for bad in ["javascript:alert(1)", "https://ca.example/a\\nInjected: header", "ftp://x"] {
            let w = try RenewalInfoRecord.window(try JSONParser.parse(#"{"suggestedWindow": {"start": "2025-01-02T04:00:00Z", "end": "2025-01-03T04:00:00Z"}, "explanationURL": "\#(bad)"}"#))
            #expect(w.explanationURL == nil, "\(bad)")
        }
    }

    @Test func retryAfterAndExplanationSurviveTheRecordFile() {
        let r = RenewalInfoRecord.from(ari: .object([("suggestedWindow", .object([("start", .string("2025-01-02T04:00:00Z")), ("end", .string("2025-01-03T04:00:00Z"))])),
                                                    ("explanationURL", .string("https://ca.example/e"))]),
                                       certificateID: "a.b", directoryURL: "https://ca/dir", retryAfter: 7200, now: 1000, fraction: 0.5, previous: nil)
        #expect(r.retryAfter == 7200 && r.validUntil == 1000 + 7200)
        #expect(RenewalInfoRecord(json: r.json) == r)
    }

    @Test func alreadyReplacedIsRecognisedByTypeOrByA409() {
        #expect(ACMEIssuer.isAlreadyReplaced(ACMEProblem(type: "urn:ietf:params:acme:error:alreadyReplaced", detail: "")))
        #expect(ACMEIssuer.isAlreadyReplaced(ACMEProblem(type: "urn:ietf:params:acme:error:malformed", detail: "", status: 409)))
        #expect(ACMEIssuer.isAlreadyReplaced(ACMEError.httpStatus(url: "u", status: 409, body: "")))
        #expect(!ACMEIssuer.isAlreadyReplaced(ACMEProblem(type: "urn:ietf:params:acme:error:rateLimited", detail: "", status: 429)))
    }
}

/// `certs check --ari` verdicts at pinned times.
@Suite struct RenewalWindowCheckTests {
    let r = RenewalInfoRecord(certificateID: "a.b", directoryURL: "https://ca/dir", windowStart: 1000, windowEnd: 2000, chosen: 1500,
                              fetchedAt: 0, validUntil: 3600, explanationURL: "https://ca.example/why")

    @Test func nothingBeforeTheWindowWarningInsideCriticalAfter() {
        #expect(RenewalWindowCheck.problem(r, now: 999) == nil)
        let open = RenewalWindowCheck.problem(r, now: 1000)
        #expect(open?.status == .warning && open?.code == "ari-window-open" && open?.message.contains("https://ca.example/why") == true)
        let closed = RenewalWindowCheck.problem(r, now: 2000)
        #expect(closed?.status == .critical && closed?.code == "ari-window-closed")
        var c = CheckedCertificate(source: "x", kind: .store)
        RenewalWindowCheck.apply(r, to: &c, now: 2500)
        #expect(c.status == .critical && c.json["renewalInfo"]?["state"]?.stringValue == "closed")
    }

    @Test func aRejectedAnswerIsAWarningAndNoARIIsNothing() {
        var bad = r
        bad.windowStart = nil; bad.windowEnd = nil; bad.chosen = nil; bad.problem = "invalid suggestedWindow"
        #expect(RenewalWindowCheck.problem(bad, now: 0)?.code == "ari-invalid")
        bad.problem = nil
        #expect(RenewalWindowCheck.problem(bad, now: 5000) == nil)
    }
}

/// CA fallback moves on only for failures another CA may not share.
@Suite struct FallbackClassificationTests {
    func problem(_ type: String, _ status: Int? = nil) -> ACMEProblem { ACMEProblem(type: "urn:ietf:params:acme:error:" + type, detail: "", status: status) }

    @Test func outagesRateLimitsAndPolicyRefusalsMoveOn() {
        #expect(ACMEIssuer.isFallbackWorthy(HTTPError.connect(host: "ca", detail: "Connection refused")))
        #expect(ACMEIssuer.isFallbackWorthy(HTTPError.timeout(host: "ca", phase: "connecting", seconds: 3)))
        #expect(ACMEIssuer.isFallbackWorthy(ACMEError.httpStatus(url: "u", status: 503, body: "")))
        #expect(ACMEIssuer.isFallbackWorthy(problem("rateLimited", 429)))
        #expect(ACMEIssuer.isFallbackWorthy(problem("serverInternal", 500)))
        #expect(ACMEIssuer.isFallbackWorthy(problem("rejectedIdentifier", 400)))
        #expect(ACMEIssuer.isFallbackWorthy(problem("caa", 403)))
    }

    @Test func failuresEveryCAWouldShareStop() {
        #expect(!ACMEIssuer.isFallbackWorthy(ACMEError.authorizationFailed(identifier: "a.example", detail: "connection refused")))
        #expect(!ACMEIssuer.isFallbackWorthy(InputError.invalidValue(option: "domain", value: "x", reason: "given twice")))
        #expect(!ACMEIssuer.isFallbackWorthy(problem("malformed", 400)))
        #expect(!ACMEIssuer.isFallbackWorthy(HTTPError.invalidURL(url: "u", reason: "r")))
        #expect(!ACMEIssuer.isFallbackWorthy(StoreError.keyMismatch(name: "a")))
    }
}
