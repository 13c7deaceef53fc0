import Foundation
import Testing

/// `--warn`/`--crit`: one parser, one default, the same verdict in check, doctor and deploy.
@Suite struct ThresholdTests {
    @Test func aSixDayCertificateIsJudgedAlikeByCheckDoctorDeployAndInspect() throws {
        let d = try EmitNginxTests.Deployment()
        #expect(try certs("ca", "issue", "--store", d.store, "--days", "6", "example.com", "www.example.com").status == 0)
        let asked = Int64(Date().timeIntervalSince1970)
        let inspect = try certs("inspect", "\(d.store)/live/example.com/cert.pem", "--json")
        let answered = Int64(Date().timeIntervalSince1970) + 1
        let file = try #require((try parseJSONObject(inspect.stdout)["files"] as? [[String: Any]])?.first)
        let cert = try #require((file["certificates"] as? [[String: Any]])?.first)
        // Days left are whole days, rounded down (as certbot and check_ssl_cert count them): 6 in
        // the second of issuance, 5 a second later. Under load seconds pass between the commands,
        // so the expectation follows the clock read around `inspect`.
        let notAfter = try #require((cert["notAfter"] as? String).flatMap { ISO8601DateFormatter().date(from: $0) })
        let left = Int64(notAfter.timeIntervalSince1970)
        let possible = Set([(left - answered) / 86400, (left - asked) / 86400].map(Int.init))
        #expect(possible.contains(cert["daysLeft"] as? Int ?? -1), "\(inspect.stdout)")
        #expect(left - asked > 5 * 86400 && left - asked <= 6 * 86400, "--days 6 gives six days: \(inspect.stdout)")

        let check = try certs("check", "--store", d.store, "--json")
        #expect(check.status == 0, "\(check.stdout)")
        let doctor = try certs("doctor", "--stack", d.stack, "--store", d.store, "--json")
        #expect(!doctor.stdout.contains("certificate-expiring"), "\(doctor.stdout)")
        let deploy = try certs("deploy", "--dry-run", "--stack", d.stack, "--out", d.out, "--store", d.store, "--trust", "\(d.store)/ca/root.pem")
        #expect(deploy.status == 0, "\(deploy.stdout)\n\(deploy.stderr)")

        // With a days-only threshold all three say the same thing too: 6 < 7 is critical.
        let strictCheck = try certs("check", "--store", d.store, "--crit", "7", "--warn", "30")
        #expect(strictCheck.status == 2, "\(strictCheck.stdout)")
        let strictDoctor = try certs("doctor", "--stack", d.stack, "--store", d.store, "--crit", "7", "--warn", "30", "--json")
        #expect(strictDoctor.stdout.contains("certificate-expiring"), "\(strictDoctor.stdout)")
        let strictDeploy = try certs("deploy", "--dry-run", "--stack", d.stack, "--out", d.out, "--store", d.store,
                                     "--trust", "\(d.store)/ca/root.pem", "--crit", "7")
        #expect(strictDeploy.status == 1, "\(strictDeploy.stdout)")
    }

    @Test(arguments: [["check"], ["doctor"], ["deploy", "--dry-run"], ["emit", "ci"]])
    func aCriticalThresholdAboveTheWarningOneIsRefused(command: [String]) throws {
        let s = Scratch()
        // check reports bad usage as UNKNOWN (3), the monitoring convention; the others exit 2.
        let code: Int32 = command == ["check"] ? 3 : 2
        let r = try certs(command + ["--warn", "50", "--crit", "60"], cwd: s.path)
        expectOneLineError(r, exit: code, mentioning: "below --warn")
        let pct = try certs(command + ["--warn", "20%", "--crit", "30%"], cwd: s.path)
        expectOneLineError(pct, exit: code, mentioning: "below --warn")
    }

    @Test func theEmittedWorkflowUsesTheSameDefaultsAsCheck() throws {
        let t = try EmitK8sTests.Tree()
        let r = try certs("emit", "ci", "--stack", t.stack, "-o", t.scratch.file("ci"))
        #expect(r.status == 0, "\(r.stderr)")
        let text = t.scratch.read("ci/.github/workflows/certs-deploy.yaml")
        #expect(text.contains("--warn 30,33% --crit 7,10%"), "\(text)")
        let custom = try certs("emit", "ci", "--stack", t.stack, "-o", t.scratch.file("ci2"), "--warn", "21,30%", "--crit", "5")
        #expect(custom.status == 0, "\(custom.stderr)")
        #expect(t.scratch.read("ci2/.github/workflows/certs-deploy.yaml").contains("--warn 21,30% --crit 5"))
    }
}
