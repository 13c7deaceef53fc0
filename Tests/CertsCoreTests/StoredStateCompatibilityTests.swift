import Foundation
import Testing
@testable import CertsCore

/// Files the store holds were written by earlier versions (with the hand-written JSON reader):
/// the JSONDecoder-based reading must still take them, byte for byte as they were written.
@Suite struct StoredStateCompatibilityTests {
    static let renewalRecord = """
        {
          "version": 1,
          "name": "a.example",
          "acme": "https://ca.example/dir",
          "names": [
            "a.example",
            "*.a.example"
          ],
          "challenge": {
            "method": "dns-hook",
            "hook": "hook \\"x\\""
          },
          "keyType": "ec-p256",
          "reuseKey": false,
          "email": "ops@a.example",
          "account": null,
          "preferredChain": null,
          "caBundle": null,
          "profile": null,
          "acmeList": [
            "https://ca.example/dir"
          ]
        }

        """

    static let heartbeat = """
        {
          "version": 1,
          "lastRun": "2026-11-25T06:00:00Z",
          "lastOutcome": "failure",
          "lastSuccess": "2026-11-24T06:00:00Z",
          "lastError": "a.example: the DNS hook failed"
        }

        """

    static let ariRecord = """
        {
          "version": 1,
          "certificateID": "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE",
          "acme": "https://ca.example/dir",
          "windowStart": "2026-12-01T00:00:00Z",
          "windowEnd": "2026-12-03T00:00:00Z",
          "chosen": "2026-12-02T01:02:03Z",
          "fetchedAt": "2026-11-25T06:00:00Z",
          "validUntil": "2026-11-25T12:00:00Z",
          "retryAfter": 21600,
          "explanationURL": "https://ca.example/why",
          "problem": null
        }

        """

    static let checkState = """
        {
          "version": 1,
          "lastRun": {
            "at": "2026-11-25T06:00:00Z",
            "status": "WARNING",
            "outcome": "1 warning"
          },
          "lastSuccess": "2026-11-25T06:00:00Z",
          "entries": [
            {
              "key": "127.0.0.1:443@a.example",
              "alerted": "WARNING",
              "failures": 2,
              "fingerprint": "ab12"
            }
          ]
        }

        """

    @Test func aRenewalRecordWrittenBeforeReadsBack() throws {
        let s = CoreScratch()
        let store = CertificateStore(root: s.path)
        try FileManager.default.createDirectory(atPath: s.file("renewal"), withIntermediateDirectories: true)
        s.write("renewal/a.example.json", Self.renewalRecord)
        let config = try RenewalConfig.load(store: store, name: "a.example")
        #expect(config.names == ["a.example", "*.a.example"] && config.directoryURL == "https://ca.example/dir")
        #expect(config.method == .dnsHook("hook \"x\"") && config.keyType == .ecP256 && config.email == "ops@a.example")
        // Written again, it is the same file: the ordered writer did not change.
        #expect(config.json.rendered() + "\n" == Self.renewalRecord)
    }

    @Test func aHeartbeatWrittenBeforeReadsBackAndOneWithoutLastErrorToo() throws {
        let s = CoreScratch()
        let store = CertificateStore(root: s.path)
        try FileManager.default.createDirectory(atPath: s.file("renewal"), withIntermediateDirectories: true)
        s.write("renewal/.heartbeat.json", Self.heartbeat)
        let beat = try #require(try RenewalHeartbeat.load(store: store))
        #expect(beat == RenewalHeartbeat(lastRun: RFC3339.parse("2026-11-25T06:00:00Z")!, lastOutcome: "failure",
                                         lastSuccess: RFC3339.parse("2026-11-24T06:00:00Z")!, lastError: "a.example: the DNS hook failed"))
        #expect(beat.json.rendered() + "\n" == Self.heartbeat)
        s.write("renewal/.heartbeat.json", #"{"version": 1, "lastRun": "2026-11-25T06:00:00Z", "lastOutcome": "success", "lastSuccess": null}"#)
        #expect(try RenewalHeartbeat.load(store: store)?.lastError == "")
        // Broken: one line naming the file and what is missing.
        s.write("renewal/.heartbeat.json", #"{"version": 1, "lastRun": "2026-11-25T06:00:00Z"}"#)
        #expect(throws: InputError.malformed(path: RenewalHeartbeat.path(store: store), what: "renewal heartbeat",
                                             detail: "unexpected JSON: \"lastOutcome\" is missing")) { try RenewalHeartbeat.load(store: store) }
    }

    @Test func anARIRecordWrittenBeforeReadsBack() throws {
        let s = CoreScratch()
        let store = CertificateStore(root: s.path)
        try FileManager.default.createDirectory(atPath: s.file("renewal"), withIntermediateDirectories: true)
        s.write("renewal/.a.example.ari.json", Self.ariRecord)
        let record = try #require(RenewalInfoRecord.load(store: store, name: "a.example"))
        #expect(record.chosen == RFC3339.parse("2026-12-02T01:02:03Z") && record.retryAfter == 21600)
        #expect(record.explanationURL == "https://ca.example/why" && record.problem == nil)
        #expect(record.json.rendered() + "\n" == Self.ariRecord)
        // An inconsistent record is not used (the CA is asked again).
        s.write("renewal/.a.example.ari.json", Self.ariRecord.replacing("\"chosen\": \"2026-12-02T01:02:03Z\"", with: "\"chosen\": null"))
        #expect(RenewalInfoRecord.load(store: store, name: "a.example") == nil)
    }

    @Test func aCheckStateWrittenBeforeReadsBack() throws {
        let s = CoreScratch()
        let path = s.write("state.json", Self.checkState)
        let state = try CheckState.load(path: path)
        #expect(state.lastStatus == .warning && state.lastOutcome == "1 warning")
        #expect(state.entries["127.0.0.1:443@a.example"] == CheckState.Entry(alerted: .warning, failures: 2, fingerprint: "ab12"))
        #expect(state.json.rendered() + "\n" == Self.checkState)
    }
}
