import Foundation
import Testing

@Suite struct ExportCommandTests {
    /// A store with `shop` installed from a bought certificate.
    func installed(_ s: Scratch) throws -> (BoughtCertificate, String) {
        let b = try BoughtCertificate.make(s)
        let store = s.file("store")
        let r = try certs("install", "shop", "--store", store, "--cert", b.leaf, "--chain", b.intermediate, "--key", b.key)
        #expect(r.status == 0, "\(r.stderr)")
        return (b, store)
    }

    @Test func anExportedPFXOpensInOpenSSLWithAES256AndASHA256MAC() throws {
        let s = Scratch()
        let (b, store) = try installed(s)
        let out = s.file("shop.pfx")
        let r = try certs("export", "shop", "--p12", "--out", out, "--store", store, "--passphrase-env", "EXPORT_PASS",
                          environment: ["EXPORT_PASS": "for the appliance"])
        #expect(r.status == 0, "\(r.stderr)")
        let info = try run("/usr/bin/openssl", ["pkcs12", "-info", "-noout", "-in", out, "-passin", "env:EXPORT_PASS"],
                           environment: ["EXPORT_PASS": "for the appliance"])
        #expect(info.status == 0, "\(info.stderr)")
        let text = info.stdout + info.stderr
        #expect(text.contains("MAC: sha256"), "\(text)")
        #expect(text.contains("AES-256-CBC"), "\(text)")
        #expect(!text.contains("RC2") && !text.contains("3DES") && !text.contains("SHA1"), "\(text)")
        // Key, leaf and intermediate are inside: the key matches the leaf, the intermediate comes along.
        let certsOut = try run("/usr/bin/openssl", ["pkcs12", "-in", out, "-passin", "env:P", "-nokeys"], environment: ["P": "for the appliance"])
        let inside = try pemCertificates(certsOut.stdout).map { try sha256Fingerprint(pem: $0) }
        #expect(Set(inside) == Set([try sha256Fingerprint(file: b.leaf), try sha256Fingerprint(file: b.intermediate)]))
        let keyOut = try run("/usr/bin/openssl", ["pkcs12", "-in", out, "-passin", "env:P", "-nocerts", "-nodes"], environment: ["P": "for the appliance"])
        let keyPub = try openssl("pkey", "-pubout", stdin: Array(keyOut.stdout.utf8)).stdout
        let certPub = try openssl("x509", "-in", b.leaf, "-noout", "-pubkey").stdout
        #expect(!keyPub.isEmpty && keyPub == certPub)
        // The wrong passphrase does not open it.
        let wrong = try run("/usr/bin/openssl", ["pkcs12", "-info", "-noout", "-in", out, "-passin", "pass:guess"])
        #expect(wrong.status != 0)
    }

    @Test func theExportFileIsMode0600WhateverTheUmaskAndNotReplacedWithoutForce() throws {
        let s = Scratch()
        let (_, store) = try installed(s)
        let out = s.file("shop.p12")
        let passFile = s.write("pass.txt", "file passphrase\n")
        let r = try shell("umask 000; exec \(shQuote(certsBinary)) export shop --p12 --out \(shQuote(out)) --store \(shQuote(store)) --passphrase-file \(shQuote(passFile))")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(s.mode("shop.p12") == 0o600)
        let before = s.bytes("shop.p12")
        let again = try certs("export", "shop", "--p12", "--out", out, "--store", store, "--passphrase-file", passFile)
        expectOneLineError(again, exit: 3, mentioning: "--force")
        #expect(s.bytes("shop.p12") == before)
        let forced = try certs("export", "shop", "--p12", "--out", out, "--store", store, "--passphrase-file", passFile, "--force")
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(s.mode("shop.p12") == 0o600)
        #expect(s.bytes("shop.p12") != before)  // fresh salts
        let info = try openssl("pkcs12", "-info", "-noout", "-in", out, "-passin", "file:\(passFile)")
        #expect(info.status == 0, "\(info.stderr)")
    }

    @Test func anExportWithoutAPassphraseIsRefusedBeforeWritingAnything() throws {
        let s = Scratch()
        let (_, store) = try installed(s)
        let r = try certs("export", "shop", "--p12", "--out", s.file("shop.pfx"), "--store", store)
        #expect(r.status == 2)
        #expect(r.stderr.contains("passphrase"), "\(r.stderr)")
        #expect(!s.exists("shop.pfx"))
        let noFormat = try certs("export", "shop", "--out", s.file("shop.pfx"), "--store", store, "--passphrase-env", "P", environment: ["P": "x"])
        #expect(noFormat.status == 2)
        #expect(noFormat.stderr.contains("--p12"), "\(noFormat.stderr)")
        #expect(!s.exists("shop.pfx"))
    }

    @Test func anExportedPFXInstallsAgainUnderAnotherName() throws {
        let s = Scratch()
        let (b, store) = try installed(s)
        let out = s.file("shop.pfx")
        #expect(try certs("export", "shop", "--p12", "--out", out, "--store", store, "--passphrase-env", "P", environment: ["P": "round trip"]).status == 0)
        let r = try certs("install", "copy", "--store", store, "--cert", out, "--passphrase-env", "P", environment: ["P": "round trip"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try fingerprints(ofPEMFile: "\(store)/live/copy/fullchain.pem") == [try sha256Fingerprint(file: b.leaf), try sha256Fingerprint(file: b.intermediate)])
    }

    @Test func exportingAnUnknownOrUnsafeNameIsBadInput() throws {
        let s = Scratch()
        let (_, store) = try installed(s)
        let unknown = try certs("export", "nope", "--p12", "--out", s.file("x.pfx"), "--store", store, "--passphrase-env", "P", environment: ["P": "x"])
        expectOneLineError(unknown, exit: 2, mentioning: "no certificate named nope")
        let unsafe = try certs("export", "../../etc", "--p12", "--out", s.file("x.pfx"), "--store", store, "--passphrase-env", "P", environment: ["P": "x"])
        expectOneLineError(unsafe, exit: 2, mentioning: "certificate name")
        #expect(!s.exists("x.pfx"))
    }
}
