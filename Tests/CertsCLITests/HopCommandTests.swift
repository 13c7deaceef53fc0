import Foundation
import Testing

/// `certs ca hop`, `certs emit bundle` and the hop certificates in renew, check and the stack errors.
@Suite struct HopCommandTests {
    struct Tree {
        let s = Scratch()
        var store: String { s.file("store") }
        var stack: String { s.file("stack.yaml") }
        init(extra: String = "") {
            _ = s.write("stack.yaml", """
            domains:
              - name: example.com
                routes:
                  - { path: /, service: ai, port: 8000 }
            services:
              ai: { build: ./ai, host: 10.0.2.15\(extra) }
            """)
        }
    }

    @Test func theHopCAIsSeparateItsKeysAre0600AndCertificatesAreKeptUntilForced() throws {
        let t = Tree()
        let first = try certs("ca", "hop", "--stack", t.stack, "--store", t.store)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("hop-ai: issued") && first.stdout.contains("hop-client: issued"))
        #expect(!t.s.exists("store/ca/root.pem"), "the hop CA is not the public-facing local CA")
        for key in ["store/hop-ca/root-key.pem", "store/hop-ca/intermediate-key.pem", "store/live/hop-ai/privkey.pem", "store/live/hop-client/privkey.pem"] {
            #expect(t.s.mode(key) == 0o600, "\(key)")
        }
        let server = try openssl("x509", "-noout", "-ext", "subjectAltName,extendedKeyUsage", "-in", t.s.file("store/live/hop-ai/cert.pem")).stdout
        #expect(server.contains("DNS:ai.internal") && server.contains("IP Address:10.0.2.15") && server.contains("TLS Web Server Authentication"), "\(server)")
        let client = try openssl("x509", "-noout", "-ext", "extendedKeyUsage", "-in", t.s.file("store/live/hop-client/cert.pem")).stdout
        #expect(client.contains("TLS Web Client Authentication") && !client.contains("Server"), "\(client)")
        // Both chain to the hop root (openssl as the oracle), 30 days.
        for (name, purpose) in [("hop-ai", "sslserver"), ("hop-client", "sslclient")] {
            let v = try openssl("verify", "-purpose", purpose, "-CAfile", t.s.file("store/hop-ca/root.pem"), "-untrusted", t.s.file("store/live/\(name)/chain.pem"),
                                t.s.file("store/live/\(name)/cert.pem"))
            #expect(v.status == 0, "\(name): \(v.stdout) \(v.stderr)")
        }
        let again = try certs("ca", "hop", "--stack", t.stack, "--store", t.store)
        #expect(again.stdout.contains("hop-ai: kept") && again.stdout.contains("hop-client: kept"))
        #expect(try certs("ca", "hop", "--stack", t.stack, "--store", t.store, "--force").stdout.contains("hop-ai: issued"))
    }

    @Test func renewRenewsHopCertificatesFromTheHopCAWhenDueAndCheckJudgesThemFairly() throws {
        let t = Tree()
        #expect(try certs("ca", "hop", "--stack", t.stack, "--store", t.store).status == 0)
        let before = t.s.read("store/live/hop-ai/cert.pem")
        let notDue = try certs("renew", "--all", "--store", t.store)
        #expect(notDue.status == 0, "\(notDue.stderr)")
        #expect(notDue.stdout.contains("hop-ai: not-due") && notDue.stdout.contains("(internal hop CA)"), "\(notDue.stdout)")
        let due = try certs("renew", "--all", "--store", t.store, "--days", "31")
        #expect(due.status == 0, "\(due.stdout) \(due.stderr)")
        #expect(due.stdout.contains("hop-ai: renewed") && due.stdout.contains("hop-client: renewed"), "\(due.stdout)")
        #expect(t.s.read("store/live/hop-ai/cert.pem") != before)
        // certs check: both valid under the hop root; the client certificate is not judged as a server's.
        let r = try certs("check", "--json", "--trust", t.s.file("store/hop-ca/root.pem"),
                          t.s.file("store/live/hop-ai/fullchain.pem"), t.s.file("store/live/hop-client/fullchain.pem"))
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        // The store scan trusts the hop root by itself: both chains verify, nothing is CRITICAL.
        let scan = try certs("check", "--json", "--store", t.store)
        let rows = results(try checkJSON(scan)).filter { ($0["source"] as? String)?.contains("/live/hop-") == true }
        #expect(rows.count == 2)
        #expect(rows.allSatisfy { $0["status"] as? String == "OK" && $0["chainValid"] as? Bool == true || ($0["chainErrors"] as? [String]) == ["wrong-purpose"] }, "\(rows)")
        #expect(rows.contains { ($0["source"] as? String)?.contains("hop-ai") == true && $0["chainValid"] as? Bool == true }, "\(rows)")
    }

    /// certs deploy refuses before touching nginx when the front's hop client certificate is missing.
    @Test func deployRefusesWithoutTheHopClientCertificate() throws {
        let t = Tree()
        #expect(try certs("ca", "init", "--store", t.store).status == 0)
        #expect(try certs("ca", "issue", "--store", t.store, "example.com").status == 0)
        let args = ["deploy", "--stack", t.stack, "--store", t.store, "--out", t.s.file("nginx"), "--dry-run", "--no-bootstrap",
                    "--nginx-version", "1.27.0", "--openssl-version", "3.0.2", "--trust", t.s.file("store/ca/root.pem")]
        let refused = try certs(args)
        #expect(refused.status == 1, "\(refused.stdout) \(refused.stderr)")
        #expect(refused.stdout.contains("FAIL certificate hop-client:") && refused.stdout.contains("certs ca hop"), "\(refused.stdout)")
        #expect(try certs("ca", "hop", "--stack", t.stack, "--store", t.store).status == 0)
        let ok = try certs(args)
        #expect(ok.status == 0, "\(ok.stdout) \(ok.stderr)")
        #expect(ok.stdout.contains("ok   certificate hop-client:"), "\(ok.stdout)")
    }

    @Test func theBundleNeedsTheHopCertificatesAndBadInputIsOneLine() throws {
        let t = Tree()
        expectOneLineError(try certs("emit", "bundle", "--stack", t.stack, "--store", t.store, "--host", "10.0.2.15", "--out", t.s.file("b")),
                           exit: 2, mentioning: "certs ca hop")
        #expect(try certs("ca", "hop", "--stack", t.stack, "--store", t.store).status == 0)
        expectOneLineError(try certs("emit", "bundle", "--stack", t.stack, "--store", t.store, "--host", "10.0.9.9"), exit: 2, mentioning: "10.0.2.15")
        #expect(try certs("emit", "bundle", "--stack", t.stack, "--store", t.store, "--host", "10.0.2.15", "--out", t.s.file("b")).status == 0)
        // A rerun replaces its own files; a hand-written file in their place needs --force.
        #expect(try certs("emit", "bundle", "--stack", t.stack, "--store", t.store, "--host", "10.0.2.15", "--out", t.s.file("b")).status == 0)
        _ = t.s.write("b/tls/hop-ca.pem", "mine\n")
        expectOneLineError(try certs("emit", "bundle", "--stack", t.stack, "--store", t.store, "--host", "10.0.2.15", "--out", t.s.file("b")),
                           exit: 3, mentioning: "already exists")

        let plain = Tree(extra: ", tls: plain")
        expectOneLineError(try certs("ca", "hop", "--stack", plain.stack, "--store", plain.store), exit: 2, mentioning: "tls: plain")
        let old = Tree()
        _ = old.s.write("stack.yaml", old.s.read("stack.yaml") + "\ntls: { profile: old }\n")
        expectOneLineError(try certs("emit", "nginx", "--stack", old.stack, "--out", old.s.file("n")), exit: 2, mentioning: "not in Mozilla guideline 6.0")
    }
}
