import Foundation
import Testing

/// With --json an error is also a JSON document on stdout; the commands that lacked --json have it.
@Suite struct JSONErrorTests {
    @Test func anErrorWithJSONIsAlsoAJSONDocumentOnStdout() throws {
        let s = Scratch()
        let r = try certs("inspect", s.file("missing.pem"), "--json")
        expectOneLineError(r, exit: 2, mentioning: "missing.pem")
        let doc = try parseJSONObject(r.stdout)
        #expect(doc["version"] as? Int == 1)
        let error = try #require(doc["error"] as? [String: Any])
        #expect(error["code"] as? Int == 2)
        #expect(error["kind"] as? String == "input")
        #expect((error["message"] as? String)?.contains("missing.pem") == true)

        let usage = try certs("key", "new", "--json", "--out", s.file("a"), "--out", s.file("b"))
        #expect(usage.status == 2)
        #expect(((try parseJSONObject(usage.stdout))["error"] as? [String: Any])?["kind"] as? String == "usage")
        // Without --json stdout stays empty.
        #expect(try certs("inspect", s.file("missing.pem")).stdout.isEmpty)
    }

    @Test func caInitExportAndEmitCronSpeakJSON() throws {
        let s = Scratch()
        let store = s.file("store")
        let ca = try certs("ca", "init", "--store", store, "--json")
        #expect(ca.status == 0, "\(ca.stderr)")
        #expect((try parseJSONObject(ca.stdout))["root"] as? String == "\(store)/ca/root.pem")
        #expect(try certs("ca", "issue", "--store", store, "a.example").status == 0)
        let pw = s.write("pw", "secret-pass\n")
        let export = try certs("export", "a.example", "--p12", "-o", s.file("a.p12"), "--passphrase-file", pw, "--store", store, "--json")
        #expect(export.status == 0, "\(export.stderr)")
        #expect((try parseJSONObject(export.stdout))["p12"] as? String == s.file("a.p12"))
        let cron = try certs("emit", "cron", "--store", store, "--seed", "1", "--json")
        #expect(cron.status == 0, "\(cron.stderr)")
        #expect(((try parseJSONObject(cron.stdout))["crontab"] as? String)?.contains("renew --all") == true)
    }
}
