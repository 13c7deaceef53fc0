import Foundation
import Testing

/// `certs verify --policy webpki|rfc5280` on openssl-made leaves (docs/verification.md).
@Suite struct VerifyPolicyCommandTests {
    @Test func leafWithoutEKUIsInvalidForTheWebPKIAndValidUnderRFC5280() throws {
        let s = Scratch(), f = try VerifyFixture(s)
        try f.opensslLeaf("noeku", extensions: "subjectAltName=DNS:www.example.test\nkeyUsage=critical,digitalSignature\nbasicConstraints=critical,CA:FALSE")
        let web = try certs("verify", f.full("noeku"), "--trust", f.root, "--host", "www.example.test", "--json")
        #expect(web.status == 1, "\(web.stdout)")
        #expect(verifyCodes(try #require(try verifyJSON(web).first), "errors") == ["missing-eku"])
        let explicit = try certs("verify", f.full("noeku"), "--trust", f.root, "--policy", "webpki")
        #expect(explicit.status == 1 && explicit.stdout.contains("- missing-eku: the leaf has no extendedKeyUsage"), "\(explicit.stdout)")
        let rfc = try certs("verify", f.full("noeku"), "--trust", f.root, "--host", "www.example.test", "--policy", "rfc5280")
        #expect(rfc.status == 0, "\(rfc.stdout)\(rfc.stderr)")
        // The independent peer (RFC 5280 only) agrees with rfc5280.
        #expect(try openssl("verify", "-x509_strict", "-CAfile", f.root, "-untrusted", f.intermediate, s.file("noeku.pem")).status == 0)
    }

    @Test func commonNameThatIsNotASANIsInvalidForTheWebPKIOnly() throws {
        let s = Scratch(), f = try VerifyFixture(s)
        try f.opensslLeaf("cn", subject: "/CN=WWW.Example.Test")
        let web = try certs("verify", f.full("cn"), "--trust", f.root, "--json")
        #expect(web.status == 1)
        let result = try #require(try verifyJSON(web).first)
        #expect(verifyCodes(result, "errors") == ["cn-not-in-san"])
        #expect(verifyMessage(result, "errors", code: "cn-not-in-san").contains("in case only"))
        #expect(try certs("verify", f.full("cn"), "--trust", f.root, "--policy", "rfc5280").status == 0)
    }

    @Test func unknownPolicyIsAUsageError() throws {
        let s = Scratch(), f = try VerifyFixture(s)
        let live = try f.issue("www.example.test")
        let r = try certs("verify", "\(live)/fullchain.pem", "--trust", f.root, "--policy", "browser")
        #expect(r.status == 2)
        #expect(r.stderr.contains("--policy") || r.stderr.contains("policy"), "\(r.stderr)")
        #expect(try certs("verify", "\(live)/fullchain.pem", "--trust", f.root, "--policy", "rfc5280").status == 0)
    }
}
