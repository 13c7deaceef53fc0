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
