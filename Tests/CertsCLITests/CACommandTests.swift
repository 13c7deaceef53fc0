import Foundation
import Testing

/// `certs ca init` and `certs ca issue`, checked with `openssl verify` and `openssl x509`.
@Suite struct CACommandTests {
    /// A scratch dir with an initialised CA in `<scratch>/store`. Keep the Scratch bound to a
    /// name for the whole test: it deletes the directory when released.
    struct CAStore {
        let scratch: Scratch
        let store: String
    }

    func initialisedStore(keyType: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws -> CAStore {
        let s = Scratch()
        let store = s.file("store")
        var args = ["ca", "init", "--store", store]
        if let keyType { args += ["--key-type", keyType] }
        let r = try certs(args)
        #expect(r.status == 0, "ca init: \(r.stderr)", sourceLocation: sourceLocation)
        return CAStore(scratch: s, store: store)
    }

    @discardableResult
    func issue(_ store: String, _ extra: String..., sourceLocation: SourceLocation = #_sourceLocation) throws -> RunResult {
        let r = try certs(["ca", "issue", "--store", store] + extra)
        #expect(r.status == 0, "ca issue: \(r.stderr)", sourceLocation: sourceLocation)
        return r
    }

    func mode(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions]) as? Int) ?? -1
    }

    func read(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    func extensionValue(_ pem: String, _ name: String) throws -> String? {
        let lines = try run("/usr/bin/openssl", ["x509", "-in", pem, "-noout", "-ext", name]).stdout.split(separator: "\n")
        return lines.count >= 2 ? lines[1].trimmingCharacters(in: .whitespaces) : nil
    }

    @Test func caInitCreatesRootAndIntermediateWithPrivateKeysAndPublicCertificates() throws {
        let s = Scratch()
        let store = s.file("store")
        let r = try shell("umask 000; exec \(shQuote(certsBinary)) ca init --store \(shQuote(store))")
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let ca = "\(store)/ca"
        #expect(directoryListing(ca) == ["intermediate-key.pem", "intermediate.pem", "root-key.pem", "root.pem"])
        #expect(mode("\(ca)/root-key.pem") == 0o600)
        #expect(mode("\(ca)/intermediate-key.pem") == 0o600)
        #expect(mode("\(ca)/root.pem") == 0o644)
        #expect(mode("\(ca)/intermediate.pem") == 0o644)
        for key in ["root-key.pem", "intermediate-key.pem"] {
            #expect(try openssl("pkey", "-in", "\(ca)/\(key)", "-check", "-noout").status == 0)
        }
        // The root is a self-signed CA; the intermediate is a CA it issued.
        let rootSelf = try openssl("verify", "-CAfile", "\(ca)/root.pem", "\(ca)/root.pem")
        #expect(rootSelf.status == 0, "\(rootSelf.stdout) \(rootSelf.stderr)")
        let int = try openssl("verify", "-CAfile", "\(ca)/root.pem", "\(ca)/intermediate.pem")
        #expect(int.status == 0, "\(int.stdout) \(int.stderr)")
        #expect(try extensionValue("\(ca)/root.pem", "basicConstraints")?.hasPrefix("CA:TRUE") == true)
        #expect(try extensionValue("\(ca)/intermediate.pem", "basicConstraints") == "CA:TRUE, pathlen:0")
        // Each key belongs to its certificate.
        for (cert, key) in [("root.pem", "root-key.pem"), ("intermediate.pem", "intermediate-key.pem")] {
            let fromCert = try run("/usr/bin/openssl", ["x509", "-in", "\(ca)/\(cert)", "-pubkey", "-noout"]).stdout
            let fromKey = try run("/usr/bin/openssl", ["pkey", "-in", "\(ca)/\(key)", "-pubout"]).stdout
            #expect(!fromCert.isEmpty && fromCert == fromKey, "\(cert)")
        }
    }

    @Test func issuedChainVerifiesAsATLSServerForItsName() throws {
        let ca = try initialisedStore()
        let store = ca.store
        try issue(store, "app.example.test", "www.example.test")
        let live = "\(store)/live/app.example.test"
        let root = "\(store)/ca/root.pem"
        let plain = try openssl("verify", "-CAfile", root, "-untrusted", "\(live)/chain.pem", "\(live)/cert.pem")
        #expect(plain.status == 0, "\(plain.stdout) \(plain.stderr)")
        for name in ["app.example.test", "www.example.test"] {
            let v = try openssl("verify", "-CAfile", root, "-untrusted", "\(live)/chain.pem", "-purpose", "sslserver",
                                "-verify_hostname", name, "\(live)/cert.pem")
            #expect(v.status == 0, "\(name): \(v.stdout) \(v.stderr)")
        }
        // …and not for a name it does not carry (the check can fail).
        let other = try openssl("verify", "-CAfile", root, "-untrusted", "\(live)/chain.pem", "-verify_hostname", "evil.example.test", "\(live)/cert.pem")
        #expect(other.status != 0)
        // Without the intermediate there is no path to the root.
        let noChain = try openssl("verify", "-CAfile", root, "\(live)/cert.pem")
        #expect(noChain.status != 0)
    }

    @Test func ipSANVerifiesWithVerifyIP() throws {
        let ca = try initialisedStore()
        let store = ca.store
        try issue(store, "--cert-name", "local", "localhost", "127.0.0.1", "::1")
        let live = "\(store)/live/local"
        let root = "\(store)/ca/root.pem"
        for ip in ["127.0.0.1", "::1"] {
            let v = try openssl("verify", "-CAfile", root, "-untrusted", "\(live)/chain.pem", "-purpose", "sslserver", "-verify_ip", ip, "\(live)/cert.pem")
            #expect(v.status == 0, "\(ip): \(v.stdout) \(v.stderr)")
        }
        let wrong = try openssl("verify", "-CAfile", root, "-untrusted", "\(live)/chain.pem", "-verify_ip", "127.0.0.2", "\(live)/cert.pem")
        #expect(wrong.status != 0)
        #expect(try extensionValue("\(live)/cert.pem", "subjectAltName") == "DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1")
    }

    @Test func leafIsAServerCertificateWithKeyIdentifiersChainingToTheIntermediate() throws {
        let ca = try initialisedStore()
        let store = ca.store
        try issue(store, "leaf.example.test")
        let cert = "\(store)/live/leaf.example.test/cert.pem"
        let int = "\(store)/ca/intermediate.pem"
        #expect(try extensionValue(cert, "extendedKeyUsage") == "TLS Web Server Authentication")
        #expect(try extensionValue(cert, "basicConstraints") == "CA:FALSE")
        #expect(try extensionValue(cert, "keyUsage") == "Digital Signature")
        let ski = try #require(try extensionValue(cert, "subjectKeyIdentifier"))
        let aki = try #require(try extensionValue(cert, "authorityKeyIdentifier"))
        let intSKI = try #require(try extensionValue(int, "subjectKeyIdentifier"))
        #expect(aki == intSKI)
        #expect(ski != intSKI)
        let subject = try run("/usr/bin/openssl", ["x509", "-in", cert, "-noout", "-subject"]).stdout
        #expect(subject.contains("CN = leaf.example.test"))
        // The leaf's key is the private key next to it, mode 0600.
        let key = "\(store)/live/leaf.example.test/privkey.pem"
        #expect(mode(key) == 0o600)
        for file in ["cert.pem", "chain.pem", "fullchain.pem"] { #expect(mode("\(store)/live/leaf.example.test/\(file)") == 0o644, "\(file)") }
        let fromCert = try run("/usr/bin/openssl", ["x509", "-in", cert, "-pubkey", "-noout"]).stdout
        let fromKey = try run("/usr/bin/openssl", ["pkey", "-in", key, "-pubout"]).stdout
        #expect(!fromCert.isEmpty && fromCert == fromKey)
    }

    @Test func fullchainIsTheCertificateFollowedByTheChain() throws {
        let ca = try initialisedStore()
        let store = ca.store
        try issue(store, "full.example.test")
        let live = "\(store)/live/full.example.test"
        let cert = read("\(live)/cert.pem"), chain = read("\(live)/chain.pem"), full = read("\(live)/fullchain.pem")
        #expect(!cert.isEmpty && !chain.isEmpty)
        #expect(full == cert + chain)
        #expect(chain == read("\(store)/ca/intermediate.pem"))
        #expect(!chain.contains(read("\(store)/ca/root.pem")))
    }

    @Test func liveNameIsASymlinkToTheArchivedVersionAndReissueAddsTheNext() throws {
        let ca = try initialisedStore()
        let store = ca.store
        try issue(store, "v.example.test")
        let fm = FileManager.default
        let live = "\(store)/live/v.example.test"
        #expect(try fm.destinationOfSymbolicLink(atPath: live) == "../archive/v.example.test/0001")
        let first = read("\(live)/cert.pem")
        try issue(store, "v.example.test")
        #expect(try fm.destinationOfSymbolicLink(atPath: live) == "../archive/v.example.test/0002")
        #expect(directoryListing("\(store)/archive/v.example.test") == ["0001", "0002"])
        #expect(read("\(store)/archive/v.example.test/0001/cert.pem") == first)
        #expect(read("\(live)/cert.pem") != first)
        for version in ["0001", "0002"] {
            #expect(directoryListing("\(store)/archive/v.example.test/\(version)") == ["cert.pem", "chain.pem", "fullchain.pem", "privkey.pem"])
        }
        #expect(directoryListing("\(store)/live") == ["v.example.test"])
    }

    @Test func caInitTwiceIsRefusedWithExit3UnlessForced() throws {
        let ca = try initialisedStore()
        let store = ca.store
        let root = read("\(store)/ca/root.pem"), rootKey = read("\(store)/ca/root-key.pem")
        let again = try certs("ca", "init", "--store", store)
        expectOneLineError(again, exit: 3, mentioning: "--force")
        #expect(read("\(store)/ca/root.pem") == root)
        #expect(read("\(store)/ca/root-key.pem") == rootKey)
        let forced = try certs("ca", "init", "--force", "--store", store)
        #expect(forced.status == 0, "stderr: \(forced.stderr)")
        #expect(read("\(store)/ca/root.pem") != root)
        #expect(read("\(store)/ca/root-key.pem") != rootKey)
        #expect(mode("\(store)/ca/root-key.pem") == 0o600)
        #expect(directoryListing("\(store)/ca") == ["intermediate-key.pem", "intermediate.pem", "root-key.pem", "root.pem"])
    }

    @Test func issueWithoutAnInitialisedCAIsExit2NamingCaInit() throws {
        let s = Scratch()
        let r = try certs("ca", "issue", "--store", s.file("store"), "x.example.test")
        expectOneLineError(r, exit: 2, mentioning: "certs ca init")
        #expect(!FileManager.default.fileExists(atPath: s.file("store/live")))
    }

    @Test func daysSetsTheValidityPeriod() throws {
        let ca = try initialisedStore()
        let store = ca.store
        let r = try issue(store, "--days", "10", "--json", "days.example.test")
        let doc = try parseJSONObject(r.stdout)
        let f = ISO8601DateFormatter()
        let nb = try #require(f.date(from: doc["notBefore"] as? String ?? ""))
        let na = try #require(f.date(from: doc["notAfter"] as? String ?? ""))
        // --days counts from now; notBefore is backdated 60 s for clock skew.
        #expect(na.timeIntervalSince(nb) == 10 * 86400 + 60)
        // What openssl sees agrees with what certs reported.
        let end = try run("/usr/bin/openssl", ["x509", "-in", "\(store)/live/days.example.test/cert.pem", "-noout", "-enddate", "-dateopt", "iso_8601"]).stdout
        #expect(end.trimmingCharacters(in: .whitespacesAndNewlines) == "notAfter=" + (doc["notAfter"] as? String ?? "").replacingOccurrences(of: "T", with: " "))
        let check = try openssl("x509", "-in", "\(store)/live/days.example.test/cert.pem", "-noout", "-checkend", String(11 * 86400))
        #expect(check.status != 0, "valid for more than 10 days")
        for bad in ["0", "3651"] {
            expectOneLineError(try certs("ca", "issue", "--store", store, "--days", bad, "bad.example.test"), exit: 2, mentioning: "--days")
        }
        #expect(!FileManager.default.fileExists(atPath: "\(store)/live/bad.example.test"))
    }

    @Test func validFromInThePastMakesAnExpiredCertificate() throws {
        let ca = try initialisedStore()
        let store = ca.store
        try issue(store, "--valid-from", "2020-01-01T00:00:00Z", "--days", "30", "old.example.test")
        let cert = "\(store)/live/old.example.test/cert.pem"
        let start = try run("/usr/bin/openssl", ["x509", "-in", cert, "-noout", "-startdate", "-dateopt", "iso_8601"]).stdout
        let end = try run("/usr/bin/openssl", ["x509", "-in", cert, "-noout", "-enddate", "-dateopt", "iso_8601"]).stdout
        #expect(start.contains("2020-01-01 00:00:00Z"))
        #expect(end.contains("2020-01-31 00:00:00Z"))
        let doc = try #require((try parseJSONObject(try certs("inspect", "--json", cert).stdout)["files"] as? [[String: Any]])?.first)
        let c = try #require((doc["certificates"] as? [[String: Any]])?.first)
        #expect(c["expired"] as? Bool == true)
        #expect((c["daysLeft"] as? Int).map { $0 < 0 } == true)
        #expect(try certs("inspect", cert).stdout.contains("EXPIRED"))
        let v = try openssl("verify", "-CAfile", "\(store)/ca/root.pem", "-untrusted", "\(store)/live/old.example.test/chain.pem", cert)
        #expect(v.status != 0 && (v.stdout + v.stderr).contains("expired"))
        expectOneLineError(try certs("ca", "issue", "--store", store, "--valid-from", "last tuesday", "x.example.test"), exit: 2, mentioning: "--valid-from")
    }

    @Test func wildcardIsStoredAsUnderscoreWildcard() throws {
        let ca = try initialisedStore()
        let store = ca.store
        try issue(store, "*.example.com")
        #expect(directoryListing("\(store)/live") == ["_wildcard.example.com"])
        let live = "\(store)/live/_wildcard.example.com"
        #expect(try extensionValue("\(live)/cert.pem", "subjectAltName") == "DNS:*.example.com")
        let v = try openssl("verify", "-CAfile", "\(store)/ca/root.pem", "-untrusted", "\(live)/chain.pem", "-purpose", "sslserver",
                            "-verify_hostname", "api.example.com", "\(live)/cert.pem")
        #expect(v.status == 0, "\(v.stdout) \(v.stderr)")
    }

    @Test(arguments: ["../../etc", "..", ".hidden", "a/b", "-x"])
    func unsafeCertNameIsExit2AndWritesNothingOutsideTheStore(_ name: String) throws {
        let ca = try initialisedStore()
        let s = ca.scratch, store = ca.store
        let r = try certs("ca", "issue", "--store", store, "--cert-name", name, "x.example.test")
        #expect(r.status == 2, "stderr: \(r.stderr)")
        #expect(r.stderrLines.count == 1 && r.stderr.hasPrefix("error: "), "stderr: \(r.stderr)")
        #expect(directoryListing(store) == ["ca"], "store: \(directoryListing(store))")
        #expect(s.listing() == ["store"])
    }

    @Test func keyTypeRSA2048GivesAnRSALeafKey() throws {
        let ca = try initialisedStore()
        let store = ca.store
        try issue(store, "--key-type", "rsa-2048", "rsa.example.test")
        let live = "\(store)/live/rsa.example.test"
        let text = try opensslOK("pkey", "-in", "\(live)/privkey.pem", "-text", "-noout")
        #expect(text.contains("Private-Key: (2048 bit"))
        #expect(try extensionValue("\(live)/cert.pem", "keyUsage") == "Digital Signature, Key Encipherment")
        let v = try openssl("verify", "-CAfile", "\(store)/ca/root.pem", "-untrusted", "\(live)/chain.pem", "-purpose", "sslserver",
                            "-verify_hostname", "rsa.example.test", "\(live)/cert.pem")
        #expect(v.status == 0, "\(v.stdout) \(v.stderr)")
    }

    @Test func caKeyTypeAppliesToRootAndIntermediate() throws {
        let ca = try initialisedStore(keyType: "ec-p384")
        let store = ca.store
        for key in ["root-key.pem", "intermediate-key.pem"] {
            #expect(try opensslOK("pkey", "-in", "\(store)/ca/\(key)", "-text", "-noout").contains("NIST CURVE: P-384"), "\(key)")
        }
        try issue(store, "p384.example.test")
        let v = try openssl("verify", "-CAfile", "\(store)/ca/root.pem", "-untrusted", "\(store)/live/p384.example.test/chain.pem",
                            "\(store)/live/p384.example.test/cert.pem")
        #expect(v.status == 0, "\(v.stdout) \(v.stderr)")
    }

    @Test func issuedFilesKeepTheirModesWhateverTheUmask() throws {
        let ca = try initialisedStore()
        let store = ca.store
        for umask in ["000", "077"] {
            let name = "u\(umask).example.test"
            let r = try shell("umask \(umask); exec \(shQuote(certsBinary)) ca issue --store \(shQuote(store)) \(name)")
            #expect(r.status == 0, "stderr: \(r.stderr)")
            let live = "\(store)/live/\(name)"
            #expect(mode("\(live)/privkey.pem") == 0o600, "umask \(umask)")
            for file in ["cert.pem", "chain.pem", "fullchain.pem"] { #expect(mode("\(live)/\(file)") == 0o644, "umask \(umask) \(file)") }
        }
    }

    @Test func issueJSONNamesEveryFile() throws {
        let ca = try initialisedStore()
        let store = ca.store
        let r = try issue(store, "--json", "j.example.test", "192.0.2.44")
        let doc = try parseJSONObject(r.stdout)
        #expect(doc["version"] as? Int == 1)
        #expect(doc["name"] as? String == "j.example.test")
        #expect(doc["names"] as? [String] == ["DNS:j.example.test", "IP:192.0.2.44"])
        let serial = try run("/usr/bin/openssl", ["x509", "-in", "\(store)/live/j.example.test/cert.pem", "-noout", "-serial"]).stdout
        #expect("serial=" + ((doc["serial"] as? String) ?? "").uppercased() == serial.trimmingCharacters(in: .whitespacesAndNewlines))
        for (field, file) in [("key", "privkey.pem"), ("certificate", "cert.pem"), ("chain", "chain.pem"), ("fullchain", "fullchain.pem")] {
            #expect(doc[field] as? String == "\(store)/live/j.example.test/\(file)")
            #expect(FileManager.default.fileExists(atPath: "\(store)/live/j.example.test/\(file)"))
        }
    }

    @Test func invalidNameToIssueForIsExit2() throws {
        let ca = try initialisedStore()
        let store = ca.store
        for bad in ["bad..name", "IP:300.1.1.1", "*.com"] {
            expectOneLineError(try certs("ca", "issue", "--store", store, bad), exit: 2)
        }
        #expect(directoryListing(store) == ["ca"])
    }
}
