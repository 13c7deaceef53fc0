import Foundation
import Testing

/// `certs request` / `certs revoke` end to end against a real Pebble (RFC 8555 test CA) on loopback.
@Suite(.serialized, .enabled(if: pebbleInstalled, "needs Debian's pebble"))
struct RequestCommandTests {
    func request(_ pebble: Pebble, _ s: Scratch, _ args: [String], environment: [String: String] = [:]) throws -> RunResult {
        try certs(["request"] + args + ["--acme", pebble.directoryURL, "--ca-bundle", pebble.caBundle, "--store", s.file("store")], environment: environment)
    }

    func standalone(_ pebble: Pebble) -> [String] {
        ["--standalone", "--http-port", String(pebble.httpPort), "--http-address", "127.0.0.1"]
    }

    @Test func standaloneIssuesAChainThatVerifiesAgainstPebblesRootAndInstallsIt() throws {
        let pebble = try Pebble(), s = Scratch()
        let r = try request(pebble, s, ["a.example", "www.a.example", "--agree-tos", "--email", "ops@a.example", "--key-type", "rsa-2048", "--json"] + standalone(pebble))
        #expect(r.status == 0, "\(r.stderr)\n\(pebble.log)")
        let json = try parseJSONObject(r.stdout)
        #expect(json["version"] as? Int == 1)
        #expect(json["name"] as? String == "a.example")
        #expect(json["names"] as? [String] == ["a.example", "www.a.example"])
        let live = s.file("store/live/a.example")
        #expect(s.mode("store/live/a.example/privkey.pem") == 0o600)
        #expect(s.mode("store/accounts/127.0.0.1_\(pebble.acmePort)/account.key") == 0o600)
        let root = try pebble.rootFile()
        // certs' own verifier and, independently, the openssl CLI.
        let v = try certs("verify", "\(live)/fullchain.pem", "--trust", root, "--host", "www.a.example")
        #expect(v.status == 0, "\(v.stdout)\(v.stderr)")
        let o = try openssl("verify", "-CAfile", root, "-untrusted", "\(live)/chain.pem", "-verify_hostname", "a.example", "\(live)/cert.pem")
        #expect(o.status == 0, "\(o.stdout)\(o.stderr)")
        let san = try openssl("x509", "-in", "\(live)/cert.pem", "-noout", "-ext", "subjectAltName").stdout
        #expect(san.contains("DNS:a.example") && san.contains("DNS:www.a.example"))
        // The key in live/ is the certificate's.
        let certPub = try openssl("x509", "-in", "\(live)/cert.pem", "-noout", "-pubkey").stdout
        let keyPub = try openssl("pkey", "-in", "\(live)/privkey.pem", "-pubout").stdout
        #expect(certPub == keyPub)
        // The renewal config records the request.
        let config = try parseJSONObject(s.read("store/renewal/a.example.json"))
        #expect(config["acme"] as? String == pebble.directoryURL)
        #expect(config["names"] as? [String] == ["a.example", "www.a.example"])
        #expect((config["challenge"] as? [String: Any])?["method"] as? String == "standalone")
        #expect((config["challenge"] as? [String: Any])?["port"] as? Int == pebble.httpPort)
    }

    @Test func aSecondRequestReusesTheAccountMakesANewKeyAndReuseKeyKeepsIt() throws {
        let pebble = try Pebble(), s = Scratch()
        let first = try request(pebble, s, ["b.example", "--agree-tos", "--json"] + standalone(pebble))
        #expect(first.status == 0, "\(first.stderr)")
        let key1 = s.read("store/live/b.example/privkey.pem")
        // No --agree-tos needed now: the stored account is used, not created again.
        let second = try request(pebble, s, ["b.example", "--json"] + standalone(pebble))
        #expect(second.status == 0, "\(second.stderr)")
        #expect(try parseJSONObject(second.stdout)["account"] as? String == (try parseJSONObject(first.stdout)["account"] as? String))
        let key2 = s.read("store/live/b.example/privkey.pem")
        #expect(key1 != key2)
        let third = try request(pebble, s, ["b.example", "--reuse-key", "--json"] + standalone(pebble))
        #expect(third.status == 0, "\(third.stderr)")
        #expect(try parseJSONObject(third.stdout)["keyReused"] as? Bool == true)
        #expect(s.read("store/live/b.example/privkey.pem") == key2)
        #expect(s.listing("store/archive/b.example") == ["0001", "0002", "0003"])
    }

    @Test func aStoredAccountTheCADoesNotKnowIsRegisteredAgain() throws {
        let pebble = try Pebble(), s = Scratch()
        #expect(try request(pebble, s, ["k.example", "--agree-tos"] + standalone(pebble)).status == 0)
        let accountFile = "store/accounts/127.0.0.1_\(pebble.acmePort)/account.json"
        let original = s.read(accountFile)
        let url = try #require(try parseJSONObject(original)["url"] as? String)
        _ = s.write(accountFile, original.replacingOccurrences(of: url, with: "https://127.0.0.1:\(pebble.acmePort)/my-account/999999"))
        let r = try request(pebble, s, ["k.example", "--agree-tos", "--verbose"] + standalone(pebble))
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("registering again"))
        #expect(try parseJSONObject(s.read(accountFile))["url"] as? String == url)
    }

    @Test func webrootServedByARealNginxIssuesAndTheChallengeFileIsRemoved() throws {
        let pebble = try Pebble(), s = Scratch()
        try FileManager.default.createDirectory(atPath: s.file("www"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: s.file("nginx/conf.d"), withIntermediateDirectories: true)
        // The same challenge location `certs emit nginx` writes, on Pebble's HTTP-01 port.
        _ = s.write("nginx/conf.d/acme.conf", """
            server {
                listen 127.0.0.1:\(pebble.httpPort);
                server_name _;
                location ^~ /.well-known/acme-challenge/ {
                    root \(s.file("www"));
                    default_type text/plain;
                    access_log \(s.file("nginx/access.log"));
                }
                location / { return 404; }
            }
            """)
        let nginx = try NginxServer(directory: s.file("nginx"), include: s.file("nginx/conf.d/*.conf"), waitFor: pebble.httpPort)
        defer { nginx.stop() }
        let r = try request(pebble, s, ["web.example", "--agree-tos", "--webroot", s.file("www")])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("issued web.example"))
        #expect(s.read("nginx/access.log").contains("GET /.well-known/acme-challenge/"))
        #expect(s.read("nginx/access.log").contains("\" 200 "))
        #expect(s.listing("www/.well-known/acme-challenge") == [])
        #expect(s.exists("store/live/web.example/fullchain.pem"))
    }

    @Test func wildcardAndBaseNameViaTheDNSHook() throws {
        let pebble = try Pebble(), s = Scratch()
        let r = try request(pebble, s, ["*.w.example", "w.example", "--agree-tos", "--dns-hook", pebble.dnsHook, "--json",
                                        "--dns-resolver", "127.0.0.1:\(pebble.dnsPort)", "--verbose"])
        #expect(r.status == 0, "\(r.stderr)\n\(pebble.log)")
        let json = try parseJSONObject(r.stdout)
        #expect(json["name"] as? String == "_wildcard.w.example")
        // challtestsrv serves no SOA, so the two values are checked at the resolver itself.
        #expect(r.stderr.contains("all 2 value(s) visible at 127.0.0.1:\(pebble.dnsPort)"), "\(r.stderr)")
        let san = try openssl("x509", "-in", s.file("store/live/_wildcard.w.example/cert.pem"), "-noout", "-ext", "subjectAltName").stdout
        #expect(san.contains("DNS:*.w.example") && san.contains("DNS:w.example"))
    }

    @Test func aFailingDNSHookIsReportedAndNothingIsInstalled() throws {
        let pebble = try Pebble(), s = Scratch()
        let r = try request(pebble, s, ["h.example", "--agree-tos", "--dns-hook", "echo zone not found >&2; exit 3"])
        expectOneLineError(r, exit: 4, mentioning: "zone not found")
        #expect(!s.exists("store/live/h.example"))
    }

    @Test func anIPAddressIdentifier() throws {
        let pebble = try Pebble(), s = Scratch()
        let r = try request(pebble, s, ["127.0.0.1", "--agree-tos"] + standalone(pebble))
        #expect(r.status == 0, "\(r.stderr)\n\(pebble.log)")
        let san = try openssl("x509", "-in", s.file("store/live/127.0.0.1/cert.pem"), "-noout", "-ext", "subjectAltName").stdout
        #expect(san.contains("IP Address:127.0.0.1"))
    }

    @Test func badNoncesAreRetriedWithTheFreshNonce() throws {
        let pebble = try Pebble(environment: ["PEBBLE_WFE_NONCEREJECT": "30"]), s = Scratch()
        let r = try request(pebble, s, ["n.example", "n2.example", "--agree-tos", "--verbose"] + standalone(pebble))
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("badNonce"), "Pebble rejected no nonce? \(r.stderr)")
        #expect(s.exists("store/live/n.example/fullchain.pem"))
    }

    @Test func a503WithRetryAfterIsRetriedAfterTheWaitTheServerAsked() throws {
        let pebble = try Pebble(), s = Scratch()
        // A real HTTPS server (python3, Pebble's certificate) answers the directory: 503 with
        // Retry-After: 1 twice, then Pebble's own directory.
        let directory = try run("/usr/bin/curl", ["-sS", "--cacert", pebble.caBundle, pebble.directoryURL]).stdout
        _ = s.write("dir.json", directory)
        let port = Loopback.freePort()
        let script = s.write("flaky.py", """
        import http.server, ssl, sys
        count = 0
        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                global count
                count += 1
                open(sys.argv[2] + '.count', 'w').write(str(count))
                if count <= 2:
                    self.send_response(503); self.send_header('Retry-After', '1'); self.send_header('Content-Length', '0'); self.end_headers(); return
                body = open(sys.argv[2], 'rb').read()
                self.send_response(200); self.send_header('Content-Type', 'application/json'); self.send_header('Content-Length', str(len(body))); self.end_headers(); self.wfile.write(body)
            def log_message(self, *a): pass
        srv = http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.load_cert_chain(sys.argv[3], sys.argv[4])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
        srv.serve_forever()
        """)
        let flaky = try ServerProcess("/usr/bin/env", ["python3", script, String(port), s.file("dir.json"), pebble.scratch.file("pebble.pem"), pebble.scratch.file("pebble.key")],
                                      log: s.file("flaky.log"))
        defer { flaky.stop() }
        #expect(Loopback.waitForListener(port))
        let start = Date()
        let r = try certs(["request", "flaky.example", "--agree-tos", "--acme", "https://127.0.0.1:\(port)/dir", "--ca-bundle", pebble.caBundle,
                           "--store", s.file("store"), "--verbose"] + standalone(pebble))
        #expect(r.status == 0, "\(r.stderr)\(s.read("flaky.log"))")
        #expect(s.read("dir.json.count") == "3")
        #expect(r.stderr.contains("HTTP 503"))
        #expect(Date().timeIntervalSince(start) >= 2)
    }

    @Test func aChallengeNobodyServesFailsClearlyAndLeavesLiveEmpty() throws {
        let pebble = try Pebble(), s = Scratch()
        try FileManager.default.createDirectory(atPath: s.file("www"), withIntermediateDirectories: true)
        let r = try request(pebble, s, ["unserved.example", "--agree-tos", "--webroot", s.file("www")])
        expectOneLineError(r, exit: 4, mentioning: "validation of unserved.example failed")
        #expect(r.stderr.contains("connection"))
        #expect(!s.exists("store/live/unserved.example"))
        #expect(!s.exists("store/renewal/unserved.example.json"))
        #expect(s.listing("www/.well-known/acme-challenge") == [])
    }

    @Test func termsMustBeAgreedToCreateAnAccount() throws {
        let pebble = try Pebble(), s = Scratch()
        let r = try request(pebble, s, ["t.example"] + standalone(pebble))
        expectOneLineError(r, exit: 2, mentioning: "--agree-tos")
        #expect(!s.exists("store/live/t.example"))
    }

    @Test func externalAccountBindingFromAnEnvironmentVariableNeverShowsTheKey() throws {
        let mac = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W"
        let pebble = try Pebble(config: ["externalAccountBindingRequired": true, "externalAccountMACKeys": ["kid-1": mac]]), s = Scratch()
        let without = try request(pebble, s, ["e.example", "--agree-tos"] + standalone(pebble))
        expectOneLineError(without, exit: 2, mentioning: "External Account Binding")
        let wrong = try request(pebble, s, ["e.example", "--agree-tos", "--eab-kid", "kid-1", "--eab-hmac-key-env", "EAB_MAC"] + standalone(pebble),
                                environment: ["EAB_MAC": "AAAA" + mac.dropFirst(4)])
        #expect(wrong.status == 4, "\(wrong.stderr)")
        #expect(!wrong.stderr.contains(mac.dropFirst(4)))
        let s2 = Scratch()
        let ok = try request(pebble, s2, ["e.example", "--agree-tos", "--eab-kid", "kid-1", "--eab-hmac-key-env", "EAB_MAC", "--verbose"] + standalone(pebble),
                             environment: ["EAB_MAC": mac])
        #expect(ok.status == 0, "\(ok.stderr)\n\(pebble.log)")
        #expect(!ok.stdout.contains(mac) && !ok.stderr.contains(mac))
        #expect(!s2.read("store/renewal/e.example.json").contains(mac))
    }

    @Test func preferredChainPicksPebblesAlternateRoot() throws {
        let pebble = try Pebble(environment: ["PEBBLE_ALTERNATE_ROOTS": "1"]), s = Scratch()
        let alternate = try pebble.rootFile(index: 1)
        let cn = try openssl("x509", "-in", alternate, "-noout", "-subject", "-nameopt", "multiline").stdout
            .split(separator: "\n").first { $0.contains("commonName") }.map { String($0.split(separator: "=").last!).trimmingCharacters(in: .whitespaces) } ?? ""
        #expect(!cn.isEmpty)
        let r = try request(pebble, s, ["alt.example", "--agree-tos", "--preferred-chain", cn, "--json"] + standalone(pebble))
        #expect(r.status == 0, "\(r.stderr)")
        let json = try parseJSONObject(r.stdout)
        #expect(json["chainTop"] as? String == cn)
        #expect((json["alternateChains"] as? Int ?? 0) >= 1)
        let live = s.file("store/live/alt.example")
        #expect(try openssl("verify", "-CAfile", alternate, "-untrusted", "\(live)/chain.pem", "\(live)/cert.pem").status == 0)
    }

    @Test func revokeMarksTheCertificateRevokedAtTheCA() throws {
        let pebble = try Pebble(), s = Scratch()
        let r = try request(pebble, s, ["r.example", "--agree-tos", "--json"] + standalone(pebble))
        #expect(r.status == 0, "\(r.stderr)")
        let serial = try #require(try parseJSONObject(r.stdout)["serial"] as? String)
        #expect(try pebble.certificateStatus(serialHex: serial) == "Valid")
        let v = try certs("revoke", "r.example", "--reason", "4", "--store", s.file("store"), "--json")
        #expect(v.status == 0, "\(v.stderr)")
        #expect(try parseJSONObject(v.stdout)["serial"] as? String == serial)
        #expect(try pebble.certificateStatus(serialHex: serial) == "Revoked")
        let again = try certs("revoke", "r.example", "--store", s.file("store"))
        expectOneLineError(again, exit: 4, mentioning: "alreadyRevoked")
        expectOneLineError(try certs("revoke", "r.example", "--reason", "7", "--store", s.file("store")), exit: 2, mentioning: "--reason")
    }
}

/// Refusals that need no CA, and an unreachable one.
@Suite struct RequestRefusalTests {
    @Test func helpListsOnlyTheKeyTypesACMECAsIssueForAndEd25519IsRefusedClearly() throws {
        let help = try certs("request", "--help")
        #expect(help.status == 0)
        let text = help.stdout.replacingOccurrences(of: "\n", with: " ")
        #expect(text.contains("ec-p256") && text.contains("rsa-2048"), "\(help.stdout)")
        #expect(!text.contains("ed25519"), "\(help.stdout)")
        let s = Scratch()
        let r = try certs("request", "x.example", "--key-type", "ed25519", "--acme", "https://127.0.0.1:\(Loopback.freePort())/dir", "--webroot", s.path, "--store", s.file("store"))
        expectOneLineError(r, exit: 2, mentioning: "EC and RSA")
    }

    @Test func anUnreachableServerIsARemoteError() throws {
        let s = Scratch()
        let port = Loopback.freePort()
        let r = try certs("request", "x.example", "--acme", "https://127.0.0.1:\(port)/dir", "--standalone", "--http-port", String(Loopback.freePort()),
                          "--http-address", "127.0.0.1", "--store", s.file("store"))
        expectOneLineError(r, exit: 4, mentioning: "127.0.0.1:\(port)")
        #expect(!s.exists("store/live"))
    }

    @Test(arguments: [["bad_domain!.example"], ["a.example", "A.example."], ["-x.example"], ["*.example.com"]])
    func invalidOrDuplicateNamesAreRefusedBeforeAnyNetwork(_ names: [String]) throws {
        let s = Scratch()
        // The directory URL is unreachable: the refusal must come first.
        let r = try certs(["request"] + names + ["--acme", "https://127.0.0.1:\(Loopback.freePort())/dir", "--webroot", s.path, "--store", s.file("store")])
        expectOneLineError(r, exit: 2)
        #expect(!r.stderr.contains("connect"), "\(r.stderr)")
    }

    @Test func thereIsNoDefaultCA() throws {
        let s = Scratch()
        let r = try certs("request", "x.example", "--standalone", "--store", s.file("store"))
        expectOneLineError(r, exit: 2, mentioning: "--acme")
    }

    @Test func exactlyOneChallengeMethod() throws {
        let s = Scratch()
        expectOneLineError(try certs("request", "x.example", "--acme", "letsencrypt-staging", "--store", s.file("store")), exit: 2, mentioning: "--webroot")
        expectOneLineError(try certs("request", "x.example", "--acme", "letsencrypt-staging", "--standalone", "--dns-hook", "true", "--store", s.file("store")),
                           exit: 2, mentioning: "exactly one")
    }

    @Test func csrOnlyWritesAPrivateKeyAndAVerifiedCSRAndTheNextStep() throws {
        let s = Scratch()
        let r = try certs("request", "shop.example", "www.shop.example", "--csr-only", "--key-type", "rsa-2048", "--out-dir", s.path)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(s.mode("shop.example.key") == 0o600)
        #expect(r.stdout.contains("certs install shop.example"))
        let check = try openssl("req", "-in", s.file("shop.example.csr"), "-noout", "-verify", "-text")
        #expect(check.status == 0)
        #expect(check.stdout.contains("DNS:shop.example") && check.stdout.contains("DNS:www.shop.example"))
        #expect(check.stdout.contains("CN = shop.example") || check.stdout.contains("CN=shop.example"))
        let pub1 = try openssl("req", "-in", s.file("shop.example.csr"), "-noout", "-pubkey").stdout
        let pub2 = try openssl("pkey", "-in", s.file("shop.example.key"), "-pubout").stdout
        #expect(pub1 == pub2)
        expectOneLineError(try certs("request", "shop.example", "--csr-only", "--out", s.path), exit: 3, mentioning: "--force")
    }
}
