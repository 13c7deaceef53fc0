import Foundation
import Testing
@testable import CertsCore

/// The core workflows with a pinned clock: a renewal run's due decision, install's expiry
/// refusal and a check run's thresholds are decided at the clock's time, not the machine's
/// (real OpenSSL, real files).
@Suite struct WorkflowTests {
    /// A store with the hop CA's two certificates, 30 days long, issued at `issued`.
    final class HopStore {
        let root = FileManager.default.temporaryDirectory.path + "/certs-workflow-\(UUID().uuidString.prefix(8))"
        let issued: Int64 = 1_790_000_000
        var store: CertificateStore { CertificateStore(root: root) }

        init() throws {
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            let stack = try Stack.parse(Array("""
            domains:
              - name: example.com
                routes:
                  - { path: /, service: ai, port: 8000 }
            services:
              ai: { build: ./ai, host: 10.0.2.15 }
            """.utf8), source: "stack.yaml")
            #expect(try HopPKI.issue(stack: stack, store: store, now: issued, days: 30).count == 2)
        }

        deinit { try? FileManager.default.removeItem(atPath: root) }

        func run(at time: Int64, _ change: (inout RenewalRun.Options) -> Void = { _ in }) throws -> RenewalReport {
            var options = RenewalRun.Options(names: RenewalRun.allNames(store: store))
            change(&options)
            let run = RenewalRun(store: store, options: options, clock: .fixed(time)) { _ in
                Issue.record("a hop renewal contacted a CA")
                throw HTTPError.connect(host: "nowhere", detail: "no CA in this test")
            }
            return try run.run()
        }
    }

    @Test func aThirtyDayCertificateIsNotDueOnDayTenAndDueOnDayTwentyOneOfThePinnedClock() throws {
        let h = try HopStore()
        #expect(RenewalRun.allNames(store: h.store) == ["hop-ai", "hop-client"])
        let before = try FileSystem.read(h.store.paths("hop-ai").certificate)

        let early = try h.run(at: h.issued + 10 * 86400)
        #expect(early.outcomes.map(\.status) == [.notDue, .notDue])
        #expect(early.outcomes[0].reason == "20 days left of 30 (internal hop CA)", "\(early.outcomes[0].reason)")
        #expect(try FileSystem.read(h.store.paths("hop-ai").certificate) == before)
        // The heartbeat records the pinned time, not the machine's.
        #expect(try RenewalHeartbeat.load(store: h.store)?.lastRun == h.issued + 10 * 86400)

        let dry = try h.run(at: h.issued + 21 * 86400) { $0.dryRun = true }
        #expect(dry.outcomes.map(\.status) == [.due, .due])
        #expect(try FileSystem.read(h.store.paths("hop-ai").certificate) == before)

        let due = h.issued + 21 * 86400
        let renewed = try h.run(at: due)
        #expect(renewed.renewed == ["hop-ai", "hop-client"])
        #expect(renewed.outcomes[0].notAfter == due + 30 * 86400)
        #expect(try FileSystem.read(h.store.paths("hop-ai").certificate) != before)
        #expect(h.store.currentVersion("hop-ai") == 2)
        #expect(renewed.firstFailureMessage == nil)
    }

    @Test func daysOverridesTheLastThirdAndForceRenewsWhateverTheClockSays() throws {
        let h = try HopStore()
        let report = try h.run(at: h.issued + 86400) { $0.days = 29 }
        #expect(report.outcomes.map(\.status) == [.renewed, .renewed], "\(report.outcomes.map(\.reason))")
        let forced = try h.run(at: h.issued + 2 * 86400) { $0.force = true; $0.names = ["hop-ai"] }
        #expect(forced.outcomes.map(\.status) == [.renewed])
        #expect(forced.outcomes[0].reason == "--force (internal hop CA)")
    }

    @Test func anotherRunHoldingTheLockMeansNothingIsDone() throws {
        let h = try HopStore()
        let lockPath = "\(h.root)/renewal/.lock"
        let fd = open(lockPath, O_RDWR | O_CREAT, 0o644)
        defer { close(fd) }
        #expect(flock(fd, LOCK_EX | LOCK_NB) == 0)
        #expect(throws: RenewalRun.Locked(path: lockPath)) { try h.run(at: h.issued + 25 * 86400) }
        #expect(h.store.currentVersion("hop-ai") == 1)
    }

    /// A scratch local CA and a 30-day shop.example leaf from `start` (the caller removes `root`).
    static func shopLeaf() throws -> (root: String, start: Int64, ca: LocalCA, key: PrivateKey, cert: Certificate) {
        let root = FileManager.default.temporaryDirectory.path + "/certs-workflow-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let start: Int64 = 1_790_000_000
        let ca = try LocalCA.create(store: root, now: start - 86400)
        let key = try PrivateKey.generate(.ecP256)
        let cert = try ca.issue(names: [.dns("shop.example")], key: key, notBefore: start, notAfter: start + 30 * 86400)
        return (root, start, ca, key, cert)
    }

    @Test func installRefusesACertificateExpiredAtThePinnedClockAndInstallsItBefore() throws {
        let (root, start, ca, key, cert) = try Self.shopLeaf()
        defer { try? FileManager.default.removeItem(atPath: root) }
        var installation = CertificateInstallation(name: "shop", certificates: [cert, ca.intermediate], certificateSource: "cert.pem")
        installation.key = (key, "key.pem")
        installation.anchors = [ca.root]
        installation.trustSource = "root.pem"
        let store = CertificateStore(root: "\(root)/store")

        installation.clock = .fixed(start + 31 * 86400)
        #expect(throws: CertificateInstallation.Refusal.expired(subject: cert.subject.description, notAfter: start + 30 * 86400)) {
            try installation.run(store: store)
        }
        #expect(store.currentVersion("shop") == nil)

        installation.clock = .fixed(start + 86400)
        let report = try installation.run(store: store)
        #expect(report.installedVersion == 1 && report.previousVersion == nil && !report.expired)
        #expect(report.keySource == .file("key.pem"))
        // Without --key the installed key is found and reused.
        installation.key = nil
        let again = try installation.run(store: store)
        #expect(again.keySource == .installed && again.previousVersion == 1 && again.installedVersion == 2)
    }

    @Test func aCheckRunJudgesTheStoreAtThePinnedClock() throws {
        let store = try CheckCoreStore()
        _ = try store.issue("shop.example", days: 30)
        let plan = CheckRun.Plan(thresholds: CheckThresholds(warning: .days(10), critical: .days(3)), timeout: 5, width: 4, failureLimit: 2,
                                 maxAge: 48 * 3600, targets: [], endpoints: [], certStore: CertificateStore(root: store.root), checkStore: true)
        func status(afterDays days: Int64) throws -> CheckStatus {
            let run = CheckRun(plan: plan, clock: .fixed(store.now + days * 86400)) { _, _ in
                throw HTTPError.connect(host: "nowhere", detail: "no CA in this test")
            }
            let result = try run.run()
            #expect(result.report.at == store.now + days * 86400)
            return result.report.status
        }
        #expect(try status(afterDays: 5) == .ok)
        #expect(try status(afterDays: 22) == .warning)
        #expect(try status(afterDays: 28) == .critical)
    }

    @Test func bundleWritesAnIncompleteChainOnlyWhenAllowedAndRefusesAKeyThatIsNotTheLeafs() throws {
        let (root, start, ca, key, cert) = try Self.shopLeaf()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let out = "\(root)/fullchain.pem"

        // The leaf alone: its issuer is missing, so nothing is written ...
        var bundling = ChainBundling(certificates: [cert])
        bundling.key = (key, "key.pem")
        bundling.clock = .fixed(start + 86400)
        let refused = try bundling.run(out: OutputTarget(out, force: false))
        #expect(refused.destination == .nothing && !refused.wrote && refused.chain.missingIssuer != nil)
        #expect(!FileManager.default.fileExists(atPath: out))
        // ... unless incomplete chains are allowed.
        bundling.allowIncomplete = true
        let allowed = try bundling.run(out: OutputTarget(out, force: false))
        #expect(allowed.destination == .file(out))
        #expect(try Certificate.parseAll(FileSystem.read(out), source: out) == [cert])

        // Complete (the root only on request), to stdout when there is no file.
        bundling = ChainBundling(certificates: [ca.root, cert, ca.intermediate])
        bundling.keysInInput = [key]
        let complete = try bundling.run(out: OutputTarget("-", force: false))
        #expect(complete.destination == .standardOutput && !complete.rootIncluded && complete.certificates == [cert, ca.intermediate])
        #expect(try Certificate.parseAll(complete.pem, source: "pem") == [cert, ca.intermediate])
        bundling.includeRoot = true
        #expect(try bundling.run(out: nil).certificates == [cert, ca.intermediate, ca.root])

        bundling.key = (try PrivateKey.generate(.ecP256), "other.pem")
        #expect(throws: ChainBundling.KeyMismatch(keyPath: "other.pem")) { try bundling.run(out: OutputTarget(out, force: true)) }
    }
}
