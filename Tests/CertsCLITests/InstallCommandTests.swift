import Foundation
import Testing

/// The forms a CA's email attachment takes, each installed with one `certs install`.
enum Attachment: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case pemWithIntermediate, derLeafAndDERIntermediate, reversedCABundle, fullchainAsCert, p7b, pfx, legacyRC2PFX

    var testDescription: String { rawValue }

    /// Arguments after `install NAME --store STORE`, and the environment.
    func arguments(_ b: BoughtCertificate) throws -> ([String], [String: String]) {
        switch self {
        case .pemWithIntermediate:
            return (["--cert", b.leaf, "--chain", b.intermediate, "--key", b.key], [:])
        case .derLeafAndDERIntermediate:
            return (["--cert", try b.der(b.leaf, "leaf.cer"), "--chain", try b.der(b.intermediate, "inter.cer"), "--key", b.key], [:])
        case .reversedCABundle:
            return (["--cert", b.leaf, "--chain", b.concatenate([b.root, b.intermediate], into: "ca-bundle.crt"), "--key", b.key], [:])
        case .fullchainAsCert:
            return (["--cert", b.concatenate([b.leaf, b.intermediate], into: "fullchain-from-ca.pem"), "--key", b.key], [:])
        case .p7b:
            return (["--cert", try b.p7b([b.intermediate, b.leaf], "certificate.p7b"), "--key", b.key], [:])
        case .pfx:
            return (["--cert", try b.pfx("certificate.pfx", passphrase: "from the portal"), "--passphrase-env", "PFX_PASS"],
                    ["PFX_PASS": "from the portal"])
        case .legacyRC2PFX:
            return (["--cert", try b.pfx("old-windows.pfx", passphrase: "from IIS", legacy: true), "--passphrase-env", "PFX_PASS"],
                    ["PFX_PASS": "from IIS"])
        }
    }
}

@Suite struct InstallCommandTests {
    @Test(arguments: Attachment.allCases)
    func aBoughtCertificateGoesFromCAEmailAttachmentToStoreInOneCommand(_ attachment: Attachment) throws {
        let s = Scratch()
        let b = try BoughtCertificate.make(s)
        let store = s.file("store")
        let (args, env) = try attachment.arguments(b)
        let r = try certs(["install", "shop", "--store", store] + args, environment: env)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("installed shop"), "\(r.stdout)")
        #expect(r.stdout.contains("\(store)/live/shop/fullchain.pem"))

        let live = "\(store)/live/shop"
        // fullchain = leaf, intermediate (in that order); chain = intermediate; cert = leaf.
        #expect(try fingerprints(ofPEMFile: "\(live)/fullchain.pem") == [try sha256Fingerprint(file: b.leaf), try sha256Fingerprint(file: b.intermediate)])
        #expect(try fingerprints(ofPEMFile: "\(live)/chain.pem") == [try sha256Fingerprint(file: b.intermediate)])
        #expect(try fingerprints(ofPEMFile: "\(live)/cert.pem") == [try sha256Fingerprint(file: b.leaf)])
        let verify = try openssl("verify", "-CAfile", b.root, "-untrusted", "\(live)/chain.pem", "\(live)/cert.pem")
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        // The installed key is the certificate's, mode 0600.
        let keyPub = try openssl("pkey", "-in", "\(live)/privkey.pem", "-pubout").stdout
        let certPub = try openssl("x509", "-in", "\(live)/cert.pem", "-noout", "-pubkey").stdout
        #expect(!keyPub.isEmpty && keyPub == certPub)
        #expect(s.mode("store/live/shop/privkey.pem") == 0o600)
        #expect(s.mode("store/live/shop/fullchain.pem") == 0o644)
        let link = try FileManager.default.destinationOfSymbolicLink(atPath: live)
        #expect(link == "../archive/shop/0001")
    }

    @Test func aKeyThatDoesNotMatchIsRefusedAndNothingReachesLive() throws {
        let s = Scratch()
        let b = try BoughtCertificate.make(s)
        let other = try BoughtCertificate.make(s, host: "api.shop.example")
        let store = s.file("store")
        let r = try certs("install", "shop", "--store", store, "--cert", b.leaf, "--chain", b.intermediate, "--key", other.key)
        expectOneLineError(r, exit: 2, mentioning: "does not match")
        #expect(!FileManager.default.fileExists(atPath: "\(store)/live/shop"))
        #expect(directoryListing("\(store)/archive/shop").isEmpty)
    }

    @Test func aWrongKeyForARenewalLeavesTheLiveVersionAlone() throws {
        let s = Scratch()
        let b = try BoughtCertificate.make(s)
        let store = s.file("store")
        #expect(try certs("install", "shop", "--store", store, "--cert", b.leaf, "--chain", b.intermediate, "--key", b.key).status == 0)
        let before = try sha256Fingerprint(file: "\(store)/live/shop/cert.pem")
        let renewed = try BoughtCertificate.make(s, host: "www.shop.example")  // new key, new cert, same name
        let r = try certs("install", "shop", "--store", store, "--cert", renewed.leaf, "--chain", renewed.intermediate,
                          "--key", s.file("ca/archive/www.shop.example/0001/privkey.pem"))
        expectOneLineError(r, exit: 2, mentioning: "does not match")
        #expect(try sha256Fingerprint(file: "\(store)/live/shop/cert.pem") == before)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: "\(store)/live/shop") == "../archive/shop/0001")
    }

    @Test func aMissingIntermediateIsNamedAndRefusedUnlessAllowed() throws {
        let s = Scratch()
        let b = try BoughtCertificate.make(s)
        let store = s.file("store")
        let r = try certs("install", "shop", "--store", store, "--cert", b.leaf, "--key", b.key)
        expectOneLineError(r, exit: 1, mentioning: "CN=ca Trust Services intermediate")
        #expect(r.stderr.contains("--allow-incomplete"))
        #expect(!FileManager.default.fileExists(atPath: "\(store)/live/shop"))
        let allowed = try certs("install", "shop", "--store", store, "--cert", b.leaf, "--key", b.key, "--allow-incomplete")
        #expect(allowed.status == 0, "\(allowed.stderr)")
        #expect(allowed.stderr.contains("warning: missing intermediate"))
        #expect(try fingerprints(ofPEMFile: "\(store)/live/shop/fullchain.pem").count == 1)
    }

    @Test func withTrustTheChainMustEndInOneOfThoseRoots() throws {
        let s = Scratch()
        let b = try BoughtCertificate.make(s)
        let other = try BoughtCertificate.make(s, host: "other.example", caName: "otherca")
        let store = s.file("store")
        let wrong = try certs("install", "shop", "--store", store, "--cert", b.leaf, "--chain", b.intermediate, "--key", b.key, "--trust", other.root)
        expectOneLineError(wrong, exit: 1, mentioning: "\"CN=ca Trust Services root, O=ca Trust Services\"")
        #expect(wrong.stderr.contains("nor among the trusted roots"), "\(wrong.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(store)/live/shop"))
        // A root sent along by the CA is not trusted just because it is there.
        let selfSent = try certs("install", "shop", "--store", store, "--cert", b.leaf, "--chain", b.intermediate, "--chain", b.root,
                                 "--key", b.key, "--trust", other.root)
        expectOneLineError(selfSent, exit: 1, mentioning: "does not end in a root")
        let both = b.concatenate([other.root, b.root], into: "roots.pem")
        let right = try certs("install", "shop", "--store", store, "--cert", b.leaf, "--chain", b.intermediate, "--key", b.key, "--trust", both)
        #expect(right.status == 0, "\(right.stderr)")
    }

    @Test func anExpiredCertificateIsRefusedUnlessForced() throws {
        let s = Scratch()
        let old = Int(Date().timeIntervalSince1970) - 10 * 86400
        let b = try BoughtCertificate.make(s, host: "old.shop.example", days: 2, validFrom: String(old))
        let store = s.file("store")
        let r = try certs("install", "old", "--store", store, "--cert", b.leaf, "--chain", b.intermediate, "--key", b.key)
        expectOneLineError(r, exit: 1, mentioning: "expired")
        #expect(!FileManager.default.fileExists(atPath: "\(store)/live/old"))
        let forced = try certs("install", "old", "--store", store, "--cert", b.leaf, "--chain", b.intermediate, "--key", b.key, "--force")
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(forced.stderr.contains("expired"))
    }

    @Test func installTwiceThenRollbackRestoresTheFirstCertificate() throws {
        let s = Scratch()
        let first = try BoughtCertificate.make(s)
        let store = s.file("store")
        #expect(try certs("install", "shop", "--store", store, "--cert", first.leaf, "--chain", first.intermediate, "--key", first.key).status == 0)
        let firstFingerprint = try sha256Fingerprint(file: first.leaf)
        let second = try BoughtCertificate.make(s)  // renewal: new key and certificate, same host
        #expect(try sha256Fingerprint(file: second.leaf) != firstFingerprint)
        let r2 = try certs("install", "shop", "--store", store, "--cert", second.leaf, "--chain", second.intermediate, "--key", second.key, "--json")
        #expect(r2.status == 0, "\(r2.stderr)")
        let j = try parseJSONObject(r2.stdout)
        #expect(j["installedVersion"] as? Int == 2)
        #expect(j["previousVersion"] as? Int == 1)
        #expect(try sha256Fingerprint(file: "\(store)/live/shop/cert.pem") == (try sha256Fingerprint(file: second.leaf)))

        let back = try certs("rollback", "shop", "--store", store)
        #expect(back.status == 0, "\(back.stderr)")
        #expect(back.stdout.contains("version 1"), "\(back.stdout)")
        #expect(try sha256Fingerprint(file: "\(store)/live/shop/cert.pem") == firstFingerprint)
        // The restored version is whole: its key matches its certificate.
        let keyPub = try openssl("pkey", "-in", "\(store)/live/shop/privkey.pem", "-pubout").stdout
        let certPub = try openssl("x509", "-in", "\(store)/live/shop/cert.pem", "-noout", "-pubkey").stdout
        #expect(keyPub == certPub)
        // Nothing earlier than version 1.
        let none = try certs("rollback", "shop", "--store", store)
        expectOneLineError(none, exit: 3, mentioning: "no earlier version")
    }

    @Test func aRenewalWithoutKeyReusesTheInstalledKeyWhenItMatches() throws {
        let s = Scratch()
        let b = try BoughtCertificate.make(s)
        let store = s.file("store")
        #expect(try certs("install", "shop", "--store", store, "--cert", b.leaf, "--chain", b.intermediate, "--key", b.key).status == 0)
        let r = try certs("install", "shop", "--store", store, "--cert", b.leaf, "--chain", b.intermediate)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("key from the key installed under shop"))
        let fresh = try certs("install", "fresh", "--store", store, "--cert", b.leaf, "--chain", b.intermediate)
        expectOneLineError(fresh, exit: 2, mentioning: "--key")
    }

    @Test(arguments: ["../../etc", "a/b", ".hidden", ""])
    func aNameThatIsNotOneSafePathComponentIsRejected(_ name: String) throws {
        let s = Scratch()
        let b = try BoughtCertificate.make(s)
        let store = s.file("deep/store")
        try FileManager.default.createDirectory(atPath: store, withIntermediateDirectories: true)
        let r = try certs("install", name, "--store", store, "--cert", b.leaf, "--chain", b.intermediate, "--key", b.key)
        expectOneLineError(r, exit: 2, mentioning: "certificate name")
        #expect(directoryListing(store).isEmpty)
        #expect(directoryListing(s.file("deep")) == ["store"])
        let rb = try certs("rollback", name, "--store", store)
        #expect(rb.status == 2)
    }

    @Test func aPFXWithTheWrongPassphraseIsBadInputAndSaysSo() throws {
        let s = Scratch()
        let b = try BoughtCertificate.make(s)
        let pfx = try b.pfx("c.pfx", passphrase: "right one")
        let r = try certs("install", "shop", "--store", s.file("store"), "--cert", pfx, "--passphrase-env", "P", environment: ["P": "wrong one"])
        expectOneLineError(r, exit: 2, mentioning: "wrong passphrase")
        #expect(!r.stderr.contains("wrong one") && !r.stderr.contains("right one"))
    }

    @Test func theJSONResultHasVersionOneFirstAndThePaths() throws {
        let s = Scratch()
        let b = try BoughtCertificate.make(s)
        let store = s.file("store")
        let r = try certs("install", "shop", "--store", store, "--cert", b.leaf, "--chain", b.intermediate, "--key", b.key, "--json")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("{\n  \"version\": 1,"))
        let j = try parseJSONObject(r.stdout)
        #expect(j["name"] as? String == "shop")
        #expect(j["fullchain"] as? String == "\(store)/live/shop/fullchain.pem")
        #expect(j["names"] as? [String] == ["DNS:www.shop.example"])
        #expect(j["complete"] as? Bool == true)
        #expect(j["installedVersion"] as? Int == 1)
        #expect(j["previousVersion"] is NSNull)
        #expect((j["notAfter"] as? String)?.hasSuffix("Z") == true)
    }

    @Test func rollingBackANameThatWasNeverInstalledIsBadInput() throws {
        let s = Scratch()
        let r = try certs("rollback", "nothing", "--store", s.file("store"))
        expectOneLineError(r, exit: 2, mentioning: "no certificate named nothing")
    }
}
