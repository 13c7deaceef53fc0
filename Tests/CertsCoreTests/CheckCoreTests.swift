import Foundation
import Testing
@testable import CertsCore

/// A temporary store with a real local CA (OpenSSL keys and signatures).
final class CheckCoreStore {
    let root: String
    let ca: LocalCA
    let now: Int64 = 1_790_000_000

    init() throws {
        root = FileManager.default.temporaryDirectory.path + "/certs-check-core-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        ca = try LocalCA.create(store: root, now: now - 86400)
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    @discardableResult
    func issue(_ name: String, days: Int64, from start: Int64? = nil) throws -> Certificate {
        let key = try PrivateKey.generate(.ecP256)
        let begin = start ?? now - 60
        let cert = try ca.issue(names: [.dns(name)], key: key, notBefore: begin, notAfter: begin + days * 86400)
        _ = try CertificateStore(root: root).install(name: name, key: key, certificate: cert, chain: [ca.intermediate])
        return cert
    }

    /// `count` copies of NAME's fullchain.pem in `<root>/many` (a big tree of files with one chain); returns the directory.
    func copies(of name: String, count: Int) throws -> String {
        let dir = "\(root)/many"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let pem = try Data(contentsOf: URL(fileURLWithPath: "\(root)/live/\(name)/fullchain.pem"))
        for i in 0..<count { try pem.write(to: URL(fileURLWithPath: "\(dir)/c\(i).pem")) }
        return dir
    }

    func scanner(at time: Int64? = nil, thresholds: CheckThresholds = CheckThresholds(warning: .days(30), critical: .days(7))) throws -> CheckScanner {
        let trust = try TrustStore.certificates([ca.root], origin: "test root")
        return CheckScanner(thresholds: thresholds, now: time ?? now, trust: trust, store: CertificateStore(root: root))
    }
}

@Suite struct CheckCoreTests {
    @Test func daysThresholdsGiveOKWarningCriticalAndExpired() {
        let t = CheckThresholds(warning: .days(30), critical: .days(7))
        let now: Int64 = 1_790_000_000
        func status(daysLeft: Double) -> CheckStatus {
            t.status(notBefore: now - 86400, notAfter: now + Int64(daysLeft * 86400), now: now)
        }
        #expect(status(daysLeft: 90) == .ok)
        #expect(status(daysLeft: 30) == .ok)
        #expect(status(daysLeft: 29.9) == .warning)
        #expect(status(daysLeft: 7) == .warning)
        #expect(status(daysLeft: 6.9) == .critical)
        #expect(status(daysLeft: 0) == .critical)
        #expect(status(daysLeft: -3) == .critical)
    }

    @Test func percentageThresholdsFollowTheCertificatesLifetime() throws {
        let t = CheckThresholds(warning: try Threshold(parsing: "33%", option: "--warn"), critical: try Threshold(parsing: "10%", option: "--crit"))
        let start: Int64 = 1_790_000_000, life: Int64 = 6 * 86400  // a 6-day certificate
        #expect(t.status(notBefore: start, notAfter: start + life, now: start + 3 * 86400) == .ok)       // 50% left
        #expect(t.status(notBefore: start, notAfter: start + life, now: start + 5 * 86400) == .warning)  // 17% left
        #expect(t.status(notBefore: start, notAfter: start + life, now: start + life - 3600) == .critical)
        #expect(throws: InputError.self) { try Threshold(parsing: "120%", option: "--warn") }
        #expect(throws: InputError.self) { try Threshold(parsing: "-1", option: "--warn") }
        #expect(try Threshold(parsing: " 14 ", option: "--warn") == .days(14))
    }

    @Test func defaultThresholdsKeepThirtyAndSevenDaysButScaleForShortLivedCertificates() throws {
        let t = CheckThresholds()
        #expect(t.warning.description == "30,33%" && t.critical.description == "7,10%")
        let start: Int64 = 1_790_000_000
        func status(lifetimeDays: Int64, daysLeft: Double) -> CheckStatus {
            let end = start + lifetimeDays * 86400
            return t.status(notBefore: start, notAfter: end, now: end - Int64(daysLeft * 86400))
        }
        // 90-day and 398-day certificates: the classic 30 / 7 days.
        #expect(status(lifetimeDays: 90, daysLeft: 31) == .ok && status(lifetimeDays: 90, daysLeft: 29) == .warning)
        #expect(status(lifetimeDays: 90, daysLeft: 6.5) == .critical)
        #expect(status(lifetimeDays: 398, daysLeft: 29) == .warning && status(lifetimeDays: 398, daysLeft: 8) == .warning)
        // 47-day certificates (2029's cap): a third is 15.7 days, a tenth 4.7.
        #expect(status(lifetimeDays: 47, daysLeft: 20) == .ok && status(lifetimeDays: 47, daysLeft: 15) == .warning)
        #expect(status(lifetimeDays: 47, daysLeft: 6) == .warning && status(lifetimeDays: 47, daysLeft: 4) == .critical)
        // A fresh 6-day certificate is OK, not WARNING from birth.
        #expect(status(lifetimeDays: 6, daysLeft: 5.5) == .ok && status(lifetimeDays: 6, daysLeft: 1.5) == .warning)
        #expect(status(lifetimeDays: 6, daysLeft: 0.5) == .critical)
        // Under one day left is CRITICAL whatever the percentage: a 2-day certificate with 20 hours
        // left still has 42% of its life, but nothing renews it in time if it is not renewed now.
        #expect(status(lifetimeDays: 2, daysLeft: 1.2) == .ok)
        #expect(status(lifetimeDays: 2, daysLeft: 0.83) == .critical)
        #expect(try Threshold(parsing: "14,25%", option: "--warn") == .lifetime(days: 14, percent: 25))
        #expect(throws: InputError.self) { try Threshold(parsing: "14,25", option: "--warn") }
    }

    @Test func filesAreCheckedAtTheGivenTimeAndNonCertificatesSkipped() throws {
        let s = try CheckCoreStore()
        try s.issue("a.test", days: 90)
        try s.issue("b.test", days: 20)
        let inputs = try CheckScanner.expand(["\(s.root)/live"])
        let scan = try s.scanner().checkFiles(inputs)
        let byPath = Dictionary(uniqueKeysWithValues: scan.results.map { ($0.source, $0) })
        #expect(byPath["\(s.root)/live/a.test/fullchain.pem"]?.status == .ok)
        #expect(byPath["\(s.root)/live/a.test/fullchain.pem"]?.chainValid == true)
        #expect(byPath["\(s.root)/live/b.test/fullchain.pem"]?.status == .warning)
        #expect(byPath["\(s.root)/live/a.test/cert.pem"]?.chainErrors == ["unknown-issuer"], "a lone leaf: reported")
        #expect(byPath["\(s.root)/live/a.test/cert.pem"]?.status == .ok, "… but files' chain problems do not change the verdict")
        #expect(byPath["\(s.root)/live/a.test/chain.pem"]?.chainValid == nil, "a CA file is checked for expiry only")
        #expect(scan.skipped.sorted() == ["\(s.root)/live/a.test/privkey.pem", "\(s.root)/live/b.test/privkey.pem"])
        // 80 days later a.test is within 30 days; b.test has expired.
        let later = try s.scanner(at: s.now + 80 * 86400).checkFiles(inputs)
        let report = CheckReport(at: s.now + 80 * 86400, thresholds: CheckThresholds(), results: later.results, skipped: later.skipped)
        #expect(report.status == .critical)
        #expect(report.summary.hasPrefix("CERTS CRITICAL - 6 certificates"), "\(report.summary)")
        // 60.x days past: -61 days left (floored), and the text says the same 61 (it said 60 beside -61).
        #expect(report.summary.contains("expired 61 days ago") && report.summary.contains("soonest_days_left=-61"), "\(report.summary)")
        #expect(report.sorted.first?.commonName == "b.test")
    }

    @Test func batchesKeepResultsInOrderWhateverTheBatchSize() throws {
        let s = try CheckCoreStore()
        for i in 0..<5 { try s.issue("n\(i).test", days: Int64(10 + i * 10)) }
        let inputs = try CheckScanner.expand(["\(s.root)/live", "\(s.root)/archive"])
        var small = try s.scanner()
        small.batchSize = 3
        let a = try small.checkFiles(inputs), b = try s.scanner().checkFiles(inputs)
        #expect(a.results.map(\.source) == b.results.map(\.source))
        #expect(a.results.map(\.status) == b.results.map(\.status))
        #expect(a.skipped == b.skipped)
        // The input order, with the skipped files (each privkey.pem, between certificate files) taken out in place.
        #expect(!a.skipped.isEmpty)
        #expect(a.results.map(\.source) == inputs.map(\.path).filter { !a.skipped.contains($0) })
        #expect(a.results.allSatisfy { !$0.source.isEmpty && $0.notAfter != nil }, "no placeholder left")
    }

    @Test func manyFilesAreVerifiedInParallelWithoutSharingAVerifier() throws {
        let s = try CheckCoreStore()
        try s.issue("many.test", days: 90)
        let dir = try s.copies(of: "many.test", count: 1500)
        let scan = try s.scanner().checkFiles(try CheckScanner.expand([dir]))
        #expect(scan.results.count == 1500)
        #expect(scan.results.allSatisfy { $0.chainValid == true && $0.status == .ok })
    }

    /// A run that outputs only the table keeps an OK file's row and nothing else of it; every
    /// other result, and what the table shows, is the same as a full run's.
    @Test func aTableOnlyRunKeepsTheRowsOfOKFilesAndEverythingOfTheOthers() throws {
        let s = try CheckCoreStore()
        try s.issue("fine.test", days: 90)
        try s.issue("soon.test", days: 5)
        let inputs = try CheckScanner.expand(["\(s.root)/live"])
        let full = try s.scanner().checkFiles(inputs)
        var slim = try s.scanner()
        slim.tableOnly = true
        let table = try slim.checkFiles(inputs)
        #expect(table.skipped == full.skipped)
        #expect(table.results.count == full.results.count)
        var sawOK = false, sawCritical = false
        for (t, f) in zip(table.results, full.results) {
            // The table's cells: status, days, not after, name, source, notes (codes), error.
            #expect(t.source == f.source && t.status == f.status && t.daysLeft == f.daysLeft && t.notAfter == f.notAfter)
            #expect((t.commonName ?? t.names.first) == (f.commonName ?? f.names.first))
            #expect(t.problems.map(\.code) == f.problems.map(\.code) && t.error == f.error)
            if f.status == .ok {
                sawOK = true
                #expect(t.chain.isEmpty && t.fingerprint.isEmpty && t.subject.isEmpty, "\(t.source): only the row is kept")
            } else {
                if f.status == .critical { sawCritical = true }
                #expect(t.json.rendered() == f.json.rendered(), "\(t.source): a result an alert may carry is whole")
            }
        }
        #expect(sawOK && sawCritical)
    }

    func result(_ source: String, _ status: CheckStatus, failures: Int = 0) -> CheckedCertificate {
        var r = CheckedCertificate(source: source, kind: .file)
        r.status = status
        r.notAfter = 1_790_000_000
        r.daysLeft = 10
        r.consecutiveFailures = failures
        return r
    }

    @Test func stateAlertsOncePerCrossingAndOnRecoveryAndSurvivesTheFile() throws {
        let path = FileManager.default.temporaryDirectory.path + "/certs-check-state-\(UUID().uuidString.prefix(8)).json"
        defer { try? FileManager.default.removeItem(atPath: path) }
        var events: [[String]] = []
        for (i, statuses) in [[CheckStatus.ok, .ok], [.warning, .ok], [.warning, .ok], [.critical, .unknown], [.critical, .critical], [.ok, .ok]].enumerated() {
            let state = try CheckState.load(path: path)
            let report = CheckReport(at: 1_790_000_000 + Int64(i) * 86400, thresholds: CheckThresholds(),
                                     results: [result("a.pem", statuses[0]), result("b.pem", statuses[1])], skipped: [])
            let owed = state.alerts(for: report)
            events.append(owed.map { "\($0.result.source) \($0.kind.rawValue) \($0.status.name)" })
            try state.updated(with: report, events: owed, delivered: Set(owed.map(\.result.stateKey)), outcome: "success").save(path: path)
        }
        #expect(events == [[], ["a.pem problem WARNING"], [], ["a.pem problem CRITICAL"], ["b.pem problem CRITICAL"],
                           ["a.pem recovery OK", "b.pem recovery OK"]])
        let last = try CheckState.load(path: path)
        let expectedLastRun: Int64 = 1_790_432_000
        #expect(last.lastRun == expectedLastRun)
        #expect(last.lastSuccess == last.lastRun)
        #expect(last.lastStatus == .ok)
    }

    @Test func anUndeliveredAlertIsOwedAgainNextRun() throws {
        let report = CheckReport(at: 1_790_000_000, thresholds: CheckThresholds(), results: [result("a.pem", .warning)], skipped: [])
        let state = CheckState()
        let owed = state.alerts(for: report)
        #expect(owed.count == 1)
        let next = state.updated(with: report, events: owed, delivered: [], outcome: "alert-failed")
        #expect(next.alerts(for: report).count == 1)
        #expect(next.lastSuccess == nil)
        #expect(next.lastOutcome == "alert-failed")
    }

    @Test func malformedStateFileIsAnInputError() throws {
        let path = FileManager.default.temporaryDirectory.path + "/certs-check-bad-\(UUID().uuidString.prefix(8)).json"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try "{\"version\": 7}".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: InputError.self) { try CheckState.load(path: path) }
        try "not json".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: InputError.self) { try CheckState.load(path: path) }
    }

    @Test func prometheusEscapesLabelValues() {
        var r = result("/etc/ssl/we\"ird\\name\n.pem", .ok)
        r.commonName = "x"
        let text = CheckPrometheus.render(CheckReport(at: 1_790_000_000, thresholds: CheckThresholds(), results: [r], skipped: []), lastSuccess: nil)
        #expect(text.contains("filepath=\"/etc/ssl/we\\\"ird\\\\name\\n.pem\""), "\(text)")
        #expect(!text.contains("certs_check_last_success_timestamp_seconds"))
        #expect(text.contains("certs_check_last_run_timestamp_seconds 1790000000\n"))
    }

    @Test func endpointSyntaxAcceptsIPv6AndAnSNISuffix() throws {
        let a = try CheckEndpoint(parsing: "[::1]:8443@example.test")
        #expect(a.endpoint.host == "::1" && a.endpoint.port == 8443 && a.sni == "example.test")
        #expect(a.label == "[::1]:8443@example.test")
        let b = try CheckEndpoint(parsing: "example.test")
        #expect(b.endpoint.port == 443 && b.sni == "example.test" && b.label == "example.test:443")
        let c = try CheckEndpoint(parsing: "127.0.0.1:443")
        #expect(c.sni == nil)
        #expect(throws: InputError.self) { try CheckEndpoint(parsing: "127.0.0.1:443@") }
    }

    @Test func cronMinuteIsSeededAndTheCommandIsQuotedForTheShell() {
        #expect(ScheduleEmitter.minute(seed: 42) == ScheduleEmitter.minute(seed: 42))
        let minutes = Set((0..<200).map { ScheduleEmitter.minute(seed: UInt64($0)) })
        #expect(minutes.allSatisfy { (0...59).contains($0) })
        #expect(minutes.count > 40, "seeds spread over the hour")
        let e = ScheduleEmitter(executable: "/usr/bin/certs", store: "/srv/my store", checkArguments: ["--warn", "33%", "--alert", "command=echo 'hi'"])
        let line = e.cronLine(minute: 7)
        #expect(line.hasPrefix("7 3 * * * /usr/bin/certs renew --all --store '/srv/my store'; /usr/bin/certs check --store '/srv/my store' --state '/srv/my store/check-state.json' --warn 33\\% "), "\(line)")
        #expect(line.hasSuffix("'command=echo '\\''hi'\\'''"), "\(line)")
    }
}
