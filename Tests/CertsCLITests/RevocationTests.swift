import Foundation
import Testing

/// `certs check --revocation crl`: the CRL named by each certificate, served by a loopback HTTP
/// server (Tests/Fixtures/http_fixture.py --files), made with `openssl ca -gencrl` over the local
/// CA's intermediate (and, for the wrong-signer case, its root).
@Suite(.serialized) struct RevocationTests {
    struct CRLFixture {
        let s: Scratch
        let f: VerifyFixture
        let files: String
        let http: PortPrintingServer

        init() throws {
            s = Scratch()
            f = try VerifyFixture(s)
            files = s.file("crls")
            try FileManager.default.createDirectory(atPath: files, withIntermediateDirectories: true)
            http = try PortPrintingServer("/usr/bin/env", ["python3", "\(startTLSFixtures)/http_fixture.py", "--files", files])
        }

        /// A leaf whose crlDistributionPoints is `path` on the loopback server; returns its fullchain.
        func leaf(_ name: String, crlPath: String) throws -> String {
            try f.opensslLeaf(name, extensions: "subjectAltName=DNS:www.example.test\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nbasicConstraints=critical,CA:FALSE\ncrlDistributionPoints=URI:http://127.0.0.1:\(http.port)\(crlPath)")
            return f.full(name)
        }

        /// `openssl ca -gencrl` by `signer` (the intermediate unless told), revoking `revoked` leaves.
        func crl(_ file: String, revoking revoked: [String] = [], signer: (cert: String, key: String)? = nil, hours: Int = 24) throws {
            let dir = s.file("ca-\(file)")
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            var index = ""
            for name in revoked {
                let serial = try opensslOK("x509", "-in", name.contains("/") ? name : s.file("\(name).pem"), "-noout", "-serial")
                    .trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "serial=", with: "")
                index += "R\t301231000000Z\t251201120000Z,keyCompromise\t\(serial)\tunknown\t/CN=www.example.test\n"
            }
            try index.write(toFile: "\(dir)/index.txt", atomically: true, encoding: .utf8)
            try "01\n".write(toFile: "\(dir)/crlnumber", atomically: true, encoding: .utf8)
            let conf = "[ca]\ndefault_ca = d\n[d]\ndatabase = \(dir)/index.txt\ncrlnumber = \(dir)/crlnumber\ndefault_md = sha256\n"
            try conf.write(toFile: "\(dir)/ca.cnf", atomically: true, encoding: .utf8)
            let (cert, key) = signer ?? (f.intermediate, f.intermediateKey)
            _ = try opensslOK("ca", "-gencrl", "-config", "\(dir)/ca.cnf", "-cert", cert, "-keyfile", key,
                              "-crlhours", String(hours), "-out", "\(dir)/crl.pem")
            _ = try opensslOK("crl", "-in", "\(dir)/crl.pem", "-outform", "DER", "-out", "\(files)/\(file)")
        }

        func check(_ path: String, _ extra: String...) throws -> (RunResult, [String: Any]) {
            let r = try certs(["check", path, "--revocation", "crl", "--trust", f.root, "--json"] + extra)
            let doc = try parseJSONObject(r.stdout)
            let result = try #require((doc["results"] as? [[String: Any]])?.first)
            return (r, result)
        }
    }

    static func codes(_ result: [String: Any]) -> [String] {
        ((result["problems"] as? [[String: Any]]) ?? []).compactMap { $0["code"] as? String }
    }
    static func messages(_ result: [String: Any]) -> String {
        ((result["problems"] as? [[String: Any]]) ?? []).compactMap { $0["message"] as? String }.joined(separator: "\n")
    }

    @Test func revokedGoodStaleWrongSignerHugeAndHangingCRLs() throws {
        let x = try CRLFixture()
        defer { x.http.stop() }

        // Good: the CRL is signed by the issuer and does not list the leaf.
        let good = try x.leaf("good", crlPath: "/files/good.crl")
        try x.crl("good.crl")
        var (r, result) = try x.check(good)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(Self.codes(result).isEmpty, "\(Self.codes(result))")

        // Without --revocation nothing is fetched and the revoked leaf below would pass: the
        // default is off (documented).
        let revoked = try x.leaf("revoked", crlPath: "/files/revoked.crl")
        try x.crl("revoked.crl", revoking: ["revoked"])
        let unchecked = try certs("check", revoked, "--trust", x.f.root)
        #expect(unchecked.status == 0, "\(unchecked.stdout)")

        // Revoked: CRITICAL, with the date and the reason.
        (r, result) = try x.check(revoked)
        #expect(r.status == 2, "\(r.stdout)\(r.stderr)")
        #expect(Self.codes(result) == ["revoked"])
        #expect(Self.messages(result).contains("revoked on 2025-12-01T12:00:00Z (keyCompromise)"), "\(Self.messages(result))")
        // The per-certificate series carries the verdict: chain[0].revoked and x509_cert_revoked.
        #expect(((result["chain"] as? [[String: Any]])?.first?["revoked"] as? Bool) == true, "\(result)")
        let metrics = try certs("check", revoked, "--revocation", "crl", "--trust", x.f.root, "--format", "prometheus").stdout
        #expect(metrics.split(separator: "\n").contains { $0.hasPrefix("x509_cert_revoked{") && $0.hasSuffix(" 1") }, "\(metrics)")
        let goodMetrics = try certs("check", good, "--revocation", "crl", "--trust", x.f.root, "--format", "prometheus").stdout
        #expect(goodMetrics.split(separator: "\n").contains { $0.hasPrefix("x509_cert_revoked{") && $0.hasSuffix(" 0") }, "\(goodMetrics)")

        // Stale: judged after the CRL's nextUpdate (24 h) it is a WARNING, not an OK.
        let later = String(Int(Date().timeIntervalSince1970) + 3 * 86_400)
        (r, result) = try x.check(good, "--at", later)
        #expect(Self.codes(result).contains("crl-stale"), "\(r.stdout)\(r.stderr)")
        #expect(r.status == 1, "\(r.stdout)")

        // Signed by someone else (the root, not the leaf's issuer): UNKNOWN, never OK.
        let other = try x.leaf("other", crlPath: "/files/other.crl")
        try x.crl("other.crl", signer: (x.f.root, "\(x.f.store)/ca/root-key.pem"))
        (r, result) = try x.check(other)
        #expect(r.status == 3, "\(r.stdout)\(r.stderr)")
        #expect(Self.codes(result) == ["revocation-unknown"])
        #expect(Self.messages(result).contains("not signed by the certificate's issuer"))

        // 100 MiB: refused at the size limit, in bounded time.
        let huge = try x.leaf("huge", crlPath: "/huge")
        var start = Date()
        (r, result) = try x.check(huge)
        #expect(Date().timeIntervalSince(start) < 10)
        #expect(r.status == 3, "\(r.stdout)\(r.stderr)")
        #expect(Self.codes(result) == ["revocation-unknown"], "\(Self.messages(result))")

        // A server that hangs (5 s) against --timeout 2: UNKNOWN within the timeout.
        let slow = try x.leaf("slow", crlPath: "/slow")
        start = Date()
        (r, result) = try x.check(slow, "--timeout", "2")
        #expect(Date().timeIntervalSince(start) < 4.5)
        #expect(r.status == 3, "\(r.stdout)\(r.stderr)")
        #expect(Self.codes(result) == ["revocation-unknown"])

        // Unreachable (404): UNKNOWN with the URL.
        let missing = try x.leaf("missing", crlPath: "/files/absent.crl")
        (r, result) = try x.check(missing)
        #expect(r.status == 3)
        #expect(Self.messages(result).contains("/files/absent.crl: HTTP 404"), "\(Self.messages(result))")
    }

    @Test func aCRLIsCachedUntilItsNextUpdate() throws {
        let x = try CRLFixture()
        defer { x.http.stop() }
        let revoked = try x.leaf("revoked", crlPath: "/files/revoked.crl")
        try x.crl("revoked.crl", revoking: ["revoked"])
        let state = x.s.file("state/check-state.json")
        try FileManager.default.createDirectory(atPath: x.s.file("state"), withIntermediateDirectories: true)
        var (r, result) = try x.check(revoked, "--state", state)
        #expect(Self.codes(result) == ["revoked"], "\(r.stdout)\(r.stderr)")
        // The server no longer has it: the cached copy (still current) answers.
        try FileManager.default.removeItem(atPath: "\(x.files)/revoked.crl")
        (r, result) = try x.check(revoked, "--state", state)
        #expect(Self.codes(result) == ["revoked"], "\(r.stdout)\(r.stderr)")
        // Past its nextUpdate the cache is not used: the fetch fails, and says so.
        (r, result) = try x.check(revoked, "--state", state, "--at", String(Int(Date().timeIntervalSince1970) + 2 * 86_400))
        #expect(Self.codes(result) == ["revocation-unknown"], "\(r.stdout)")
    }

    @Test func anEndpointsServedChainSuppliesTheIssuer() throws {
        let x = try CRLFixture()
        defer { x.http.stop() }
        // `certs ca issue --crl-url` names the distribution point.
        let live = try x.f.issue("localhost", "127.0.0.1", options: ["--crl-url", "http://127.0.0.1:\(x.http.port)/files/served.crl"])
        try x.crl("served.crl", revoking: ["\(live)/cert.pem"])
        let server = try VerifyTLSServer(cert: "\(live)/cert.pem", key: "\(live)/privkey.pem", chain: "\(live)/chain.pem")
        let r = try certs("check", "--endpoint", "\(server.endpoint)@localhost", "--revocation", "crl", "--trust", x.f.root)
        #expect(r.status == 2, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("revoked"), "\(r.stdout)")
        // Its good twin, the same CRL: OK.
        let other = try x.f.issue("good.test", options: ["--crl-url", "http://127.0.0.1:\(x.http.port)/files/served.crl"])
        let goodServer = try VerifyTLSServer(cert: "\(other)/cert.pem", key: "\(other)/privkey.pem", chain: "\(other)/chain.pem")
        let ok = try certs("check", "--endpoint", "\(goodServer.endpoint)@good.test", "--revocation", "crl", "--trust", x.f.root)
        #expect(ok.status == 0, "\(ok.stdout)\(ok.stderr)")
        let bad = try certs("ca", "issue", "--store", x.f.store, "x.test", "--crl-url", "https://127.0.0.1/x.crl")
        expectOneLineError(bad, exit: 2, mentioning: "--crl-url")
    }
}

/// `certs check --revocation ocsp|auto` against `openssl ocsp` as the responder on loopback (it binds
/// port 0 and prints the port): good, revoked, unknown to the responder, signed by a key the issuer
/// never authorised, unreachable and hanging responders. The responder rereads its index file when
/// it changes, so the leaves (which must name its URL) are made after it started.
@Suite(.serialized) struct OCSPTests {
    /// `openssl ocsp` as a responder on port 0; it prints "ACCEPT [::]:PORT PID=N" on stdout.
    static func responder(index: String, signer: String, key: String, issuer: String) throws -> PortPrintingServer {
        try PortPrintingServer("/usr/bin/openssl", ["ocsp", "-port", "0", "-index", index, "-CA", issuer, "-rsigner", signer, "-rkey", key, "-nmin", "60"],
                               mergeStderr: true) { line in
            guard line.hasPrefix("ACCEPT"), let colon = line.range(of: "]:") ?? line.range(of: ":") else { return nil }
            return Int(line[colon.upperBound...].prefix { $0.isNumber })
        }
    }

    static func serial(_ cert: String) throws -> String {
        try opensslOK("x509", "-in", cert, "-noout", "-serial").trimmingCharacters(in: .whitespacesAndNewlines)
            .replacingOccurrences(of: "serial=", with: "")
    }

    @Test func goodRevokedUnknownForeignSignerUnreachableAndHangingResponders() throws {
        let s = Scratch()
        let f = try VerifyFixture(s)
        let index = s.write("index.txt", "")
        let responder = try Self.responder(index: index, signer: f.intermediate, key: f.intermediateKey, issuer: f.intermediate)
        defer { responder.stop() }
        // The root answering for the intermediate's certificates: not an authorised responder.
        let foreignIndex = s.write("foreign-index.txt", "")
        let foreign = try Self.responder(index: foreignIndex, signer: f.root, key: "\(f.store)/ca/root-key.pem", issuer: f.intermediate)
        defer { foreign.stop() }
        // Accepts connections and never answers.
        let hang = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(hang) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(hang, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(hang, $0, &len) } }
        listen(hang, 8)
        let hangPort = Int(UInt16(bigEndian: addr.sin_port))

        func leaf(_ name: String, ocsp: String) throws -> String {
            try f.opensslLeaf(name, extensions: "subjectAltName=DNS:www.example.test\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nbasicConstraints=critical,CA:FALSE\nauthorityInfoAccess=OCSP;URI:\(ocsp)")
            return f.full(name)
        }
        let url = "http://127.0.0.1:\(responder.port)/"
        let good = try leaf("good", ocsp: url), revoked = try leaf("revoked", ocsp: url), stranger = try leaf("stranger", ocsp: url)
        let forged = try leaf("forged", ocsp: "http://127.0.0.1:\(foreign.port)/")
        let dead = try leaf("dead", ocsp: "http://127.0.0.1:\(Loopback.freePort())/")
        let slow = try leaf("slow", ocsp: "http://127.0.0.1:\(hangPort)/")
        // The responder's database (openssl ca's index.txt): good valid, revoked revoked; "stranger" absent.
        let goodSerial = try Self.serial(s.file("good.pem")), revokedSerial = try Self.serial(s.file("revoked.pem"))
        try "V\t301231000000Z\t\t\(goodSerial)\tunknown\t/CN=www.example.test\nR\t301231000000Z\t251201120000Z,keyCompromise\t\(revokedSerial)\tunknown\t/CN=www.example.test\n"
            .write(toFile: index, atomically: false, encoding: .utf8)
        try "V\t301231000000Z\t\t\(try Self.serial(s.file("forged.pem")))\tunknown\t/CN=www.example.test\n".write(toFile: foreignIndex, atomically: false, encoding: .utf8)

        // openssl ocsp notices a changed index file while answering a request (its mtime later than
        // the one it loaded, in whole seconds) and serves the new one from the next request on. The
        // rewrite can fall in the second the responder loaded the empty file, so the mtime is moved
        // ahead; then one throw-away request makes it current.
        for file in [index, foreignIndex] {
            try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(10)], ofItemAtPath: file)
        }
        _ = try run("/usr/bin/openssl", ["ocsp", "-issuer", f.intermediate, "-cert", s.file("good.pem"), "-url", url, "-noverify"])
        // The openssl CLI, as an independent client, first: the verdicts certs must give below.
        let oracle = try run("/usr/bin/openssl", ["ocsp", "-issuer", f.intermediate, "-cert", s.file("good.pem"), "-cert", s.file("revoked.pem"),
                                                   "-url", url, "-CAfile", f.root, "-verify_other", f.intermediate])
        #expect(oracle.stdout.contains("good.pem: good") || oracle.stdout.contains(": good"), "\(oracle.stdout)\(oracle.stderr)")
        #expect(oracle.stdout.contains(": revoked"), "\(oracle.stdout)\(oracle.stderr)")

        func check(_ path: String, _ mode: String = "ocsp", _ extra: String...) throws -> (RunResult, [String: Any]) {
            let r = try certs(["check", path, "--revocation", mode, "--trust", f.root, "--json"] + extra)
            let doc = try parseJSONObject(r.stdout)
            return (r, try #require((doc["results"] as? [[String: Any]])?.first))
        }

        var (r, result) = try check(good)
        #expect(r.status == 0 && RevocationTests.codes(result).isEmpty, "\(r.stdout)\(r.stderr)")
        #expect(((result["chain"] as? [[String: Any]])?.first?["revoked"] as? Bool) == false, "\(result)")

        // auto uses OCSP for a certificate that names no CRL.
        (r, result) = try check(revoked, "auto")
        #expect(r.status == 2, "\(r.stdout)\(r.stderr)")
        #expect(RevocationTests.codes(result) == ["revoked"])
        #expect(RevocationTests.messages(result).contains("revoked on 2025-12-01T12:00:00Z (keyCompromise) according to the OCSP responder"), "\(RevocationTests.messages(result))")

        (r, result) = try check(stranger)
        #expect(r.status == 3 && RevocationTests.codes(result) == ["revocation-unknown"], "\(r.stdout)")
        #expect(RevocationTests.messages(result).contains("does not know this certificate"))

        (r, result) = try check(forged)
        #expect(r.status == 3 && RevocationTests.codes(result) == ["revocation-unknown"], "\(r.stdout)")
        #expect(RevocationTests.messages(result).contains("not signed by the certificate's issuer or a responder it authorised"), "\(RevocationTests.messages(result))")

        (r, result) = try check(dead)
        #expect(r.status == 3 && RevocationTests.codes(result) == ["revocation-unknown"], "\(r.stdout)")

        let start = Date()
        (r, result) = try check(slow, "ocsp", "--timeout", "2")
        #expect(Date().timeIntervalSince(start) < 6)
        #expect(r.status == 3 && RevocationTests.codes(result) == ["revocation-unknown"], "\(r.stdout)")

    }
}

/// The local CA's own revocation: `ca revoke` records, `ca crl` signs the CRL its certificates'
/// `--crl-url` names; served over loopback HTTP it makes `check --revocation crl` say revoked, and
/// `openssl verify -crl_check` (an independent reader of the same CRL) agrees.
@Suite struct LocalCACRLTests {
    @Test func theLocalCARevokesAndPublishesACRLThatCheckAndOpenSSLRead() throws {
        let s = Scratch()
        let store = s.file("store"), files = s.file("www")
        try FileManager.default.createDirectory(atPath: files, withIntermediateDirectories: true)
        let http = try PortPrintingServer("/usr/bin/env", ["python3", "\(startTLSFixtures)/http_fixture.py", "--files", files])
        defer { http.stop() }
        let url = "http://127.0.0.1:\(http.port)/files/ca.crl"
        #expect(try certs("ca", "init", "--store", store).status == 0)
        #expect(try certs("ca", "issue", "--store", store, "bad.example", "--crl-url", url).status == 0)
        #expect(try certs("ca", "issue", "--store", store, "good.example", "--crl-url", url).status == 0)
        let revoke = try certs("ca", "revoke", "--store", store, "bad.example", "--reason", "keyCompromise", "--json")
        #expect(revoke.status == 0, "\(revoke.stderr)")
        #expect(try parseJSONObject(revoke.stdout)["reason"] as? String == "keyCompromise")
        // A file that is not this CA's CRL is never replaced without --force; the CA's own CRL is.
        let foreign = s.write("www/ca.crl", "someone else's file\n")
        expectOneLineError(try certs("ca", "crl", "--store", store, "--out", foreign), exit: 3, mentioning: "ca.crl")
        #expect(s.read("www/ca.crl") == "someone else's file\n")
        #expect(try certs("ca", "crl", "--store", store, "--out", foreign, "--force").status == 0)
        let crl = try certs("ca", "crl", "--store", store, "--out", "\(files)/ca.crl")
        #expect(crl.status == 0, "\(crl.stderr)")

        func check(_ name: String) throws -> (Int32, [String]) {
            let r = try certs("check", "\(store)/live/\(name)/fullchain.pem", "--revocation", "crl", "--trust", "\(store)/ca/root.pem", "--json")
            let result = try #require((try parseJSONObject(r.stdout)["results"] as? [[String: Any]])?.first)
            return (r.status, RevocationTests.codes(result))
        }
        #expect(try check("bad.example") == (2, ["revoked"]))
        #expect(try check("good.example") == (0, []))
        // verify --revocation: revoked makes the chain invalid (exit 1), good stays valid.
        func verify(_ name: String) throws -> RunResult {
            try certs("verify", "\(store)/live/\(name)/fullchain.pem", "--trust", "\(store)/ca/root.pem", "--host", name, "--revocation", "crl")
        }
        let bad = try verify("bad.example")
        #expect(bad.status == 1 && bad.stdout.contains("revoked"), "\(bad.stdout)\(bad.stderr)")
        #expect(try verify("good.example").status == 0)
        #expect(try certs("verify", "\(store)/live/bad.example/fullchain.pem", "--trust", "\(store)/ca/root.pem", "--host", "bad.example").status == 0)

        // openssl reads the same CRL: signature, issuer and the revoked entry with its reason.
        _ = try opensslOK("crl", "-in", "\(files)/ca.crl", "-inform", "DER", "-out", s.file("ca.pem"))
        let text = try opensslOK("crl", "-in", s.file("ca.pem"), "-noout", "-text")
        #expect(text.contains("Key Compromise") && text.contains("CRL Number"), "\(text)")
        func opensslVerify(_ name: String) throws -> RunResult {
            try run("/usr/bin/openssl", ["verify", "-crl_check", "-CRLfile", s.file("ca.pem"), "-CAfile", "\(store)/ca/root.pem",
                                          "-untrusted", "\(store)/ca/intermediate.pem", "\(store)/live/\(name)/cert.pem"])
        }
        #expect(try opensslVerify("bad.example").stdout.contains("revoked") || (try opensslVerify("bad.example").stderr.contains("revoked")))
        #expect(try opensslVerify("good.example").status == 0)

        // A bad reason and a certificate from another CA are one-line errors.
        expectOneLineError(try certs("ca", "revoke", "--store", store, "good.example", "--reason", "bogus"), exit: 2, mentioning: "--reason")
        let other = s.file("other")
        #expect(try certs("ca", "init", "--store", other).status == 0)
        #expect(try certs("ca", "issue", "--store", other, "x.example").status == 0)
        expectOneLineError(try certs("ca", "revoke", "--store", store, "\(other)/live/x.example/cert.pem"), exit: 2, mentioning: "not issued by this CA")
    }
}
