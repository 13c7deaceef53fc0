import Foundation
import Testing
@testable import CertsCore

/// DER-encodes raw r||s as an ECDSA-Sig-Value, written here independently of the code under test.
func derECDSASignature(raw: [UInt8]) -> [UInt8] {
    func integer(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        var b = Array(bytes.drop { $0 == 0 })
        if b.isEmpty { b = [0] }
        if b[0] & 0x80 != 0 { b.insert(0, at: 0) }
        return [0x02, UInt8(b.count)] + b
    }
    let half = raw.count / 2
    let body = integer(raw[0..<half]) + integer(raw[half...])
    return body.count < 128 ? [0x30, UInt8(body.count)] + body : [0x30, 0x81, UInt8(body.count)] + body
}

@Suite struct JWSTests {
    /// Splits a flattened JWS and checks its signature with `openssl dgst -verify`.
    func opensslVerifies(_ jws: JSON, key: PrivateKey, ecdsa: Bool, in s: CoreScratch) throws -> Bool {
        let input = "\(jws["protected"]!.stringValue!).\(jws["payload"]!.stringValue!)"
        var signature = try #require(Base64.decode(jws["signature"]!.stringValue!))
        if ecdsa { signature = derECDSASignature(raw: signature) }
        FileManager.default.createFile(atPath: s.file("pub.pem"), contents: Data(try key.publicKey.pem()))
        FileManager.default.createFile(atPath: s.file("sig.der"), contents: Data(signature))
        FileManager.default.createFile(atPath: s.file("input"), contents: Data(input.utf8))
        let r = try opensslCLI(["dgst", "-sha256", "-verify", s.file("pub.pem"), "-signature", s.file("sig.der"), s.file("input")])
        return r.status == 0 && r.stdout.contains("Verified OK")
    }

    @Test func es256SignaturesAreRawRAndSAndVerifyWithTheOpenSSLCLI() throws {
        let s = CoreScratch()
        // Many signatures, so r or s with leading zero bytes (left padding) is exercised too.
        for i in 0..<40 {
            let key = try PrivateKey.generate(.ecP256)
            let jws = try JWS.sign(payload: .object([("n", .int(i))]), protected: [("nonce", .string("abc")), ("url", .string("https://x/acme"))], key: key)
            #expect(Base64.decode(jws["signature"]!.stringValue!)?.count == 64)
            #expect(try opensslVerifies(jws, key: key, ecdsa: true, in: s))
        }
    }

    @Test func aTamperedPayloadDoesNotVerify() throws {
        let s = CoreScratch()
        let key = try PrivateKey.generate(.ecP256)
        let jws = try JWS.sign(payload: .object([("a", .int(1))]), protected: [], key: key)
        let forged = JSON.object([("protected", jws["protected"]!), ("payload", .string(Base64.urlEncode("{\"a\":2}"))), ("signature", jws["signature"]!)])
        #expect(try !opensslVerifies(forged, key: key, ecdsa: true, in: s))
    }

    @Test func rs256SignaturesVerifyWithTheOpenSSLCLI() throws {
        let s = CoreScratch()
        let key = try PrivateKey.generate(.rsa2048)
        let jws = try JWS.sign(payload: nil, protected: [("kid", .string("https://x/acct/1"))], key: key)
        #expect(jws["payload"]?.stringValue == "")
        #expect(try opensslVerifies(jws, key: key, ecdsa: false, in: s))
        let header = try JSONParser.parse(Base64.decode(jws["protected"]!.stringValue!)!)
        #expect(header["alg"]?.stringValue == "RS256")
        #expect(header["kid"]?.stringValue == "https://x/acct/1")
    }

    @Test func protectedHeaderCarriesAlgFirstThenTheGivenFields() throws {
        let key = try PrivateKey.generate(.ecP256)
        let jwk = try JWS.jwk(for: key)
        let jws = try JWS.sign(payload: .object([]), protected: [("jwk", jwk), ("nonce", .string("n1")), ("url", .string("u"))], key: key)
        let header = try JSONSerialization.jsonObject(with: Data(Base64.decode(jws["protected"]!.stringValue!)!)) as! [String: Any]
        #expect(header["alg"] as? String == "ES256")
        #expect(header["nonce"] as? String == "n1")
        #expect((header["jwk"] as? [String: Any])?["crv"] as? String == "P-256")
    }

    @Test func ecJWKCoordinatesAreThoseOpenSSLPrints() throws {
        let key = try PrivateKey.generate(.ecP256)
        let jwk = try JWS.jwk(for: key)
        // openssl prints the uncompressed point 04||x||y as hex.
        let text = try opensslCLI(["pkey", "-pubin", "-noout", "-text"], stdin: try key.publicKey.pem()).stdout
        let hex = text.split(separator: "\n").filter { $0.hasPrefix("    ") }.joined().replacingOccurrences(of: " ", with: "").replacingOccurrences(of: ":", with: "")
        let x = Base64.decode(jwk["x"]!.stringValue!)!, y = Base64.decode(jwk["y"]!.stringValue!)!
        #expect(x.count == 32 && y.count == 32)
        #expect(hex == "04" + x.hexString + y.hexString)
        #expect(jwk["kty"]?.stringValue == "EC")
    }

    @Test func rsaJWKModulusIsTheKeysModulus() throws {
        let key = try PrivateKey.generate(.rsa2048)
        let jwk = try JWS.jwk(for: key)
        let modulus = try opensslCLI(["rsa", "-pubin", "-noout", "-modulus"], stdin: try key.publicKey.pem()).stdout
        #expect(modulus.trimmingCharacters(in: .whitespacesAndNewlines) == "Modulus=" + Base64.decode(jwk["n"]!.stringValue!)!.hexString.uppercased())
        #expect(jwk["e"]?.stringValue == "AQAB")
    }

    /// RFC 7638 §3.1's worked example.
    @Test func thumbprintMatchesRFC7638Example() throws {
        let jwk = try JSONParser.parse("""
        {"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}
        """)
        #expect(JWS.thumbprint(jwk: jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
    }

    @Test func keyAuthorizationAndDNSValueFollowRFC8555() throws {
        let key = try PrivateKey.generate(.ecP256)
        let ka = try JWS.keyAuthorization(token: "tok", accountKey: key)
        #expect(ka == "tok." + (try JWS.thumbprint(for: key)))
        let digest = try opensslCLI(["dgst", "-sha256", "-hex", "-r"], stdin: Array(ka.utf8)).stdout.prefix(64)
        #expect(Base64.decode(JWS.dnsValue(keyAuthorization: ka))!.hexString == String(digest))
    }

    @Test func externalAccountBindingIsAnHS256MACOverTheAccountJWK() throws {
        let account = try PrivateKey.generate(.ecP256)
        let macKey: [UInt8] = (0..<32).map { UInt8($0 * 7 & 255) }
        let eab = try JWS.externalAccountBinding(keyID: "kid-1", macKey: macKey, accountKey: account, url: "https://ca/new-acct")
        let header = try JSONParser.parse(Base64.decode(eab["protected"]!.stringValue!)!)
        #expect(header["alg"]?.stringValue == "HS256")
        #expect(header["kid"]?.stringValue == "kid-1")
        #expect(header["url"]?.stringValue == "https://ca/new-acct")
        #expect(try JSONParser.parse(Base64.decode(eab["payload"]!.stringValue!)!) == (try JWS.jwk(for: account)))
        let input = "\(eab["protected"]!.stringValue!).\(eab["payload"]!.stringValue!)"
        let mac = try opensslCLI(["mac", "-digest", "SHA256", "-macopt", "hexkey:" + macKey.hexString, "HMAC"], stdin: Array(input.utf8))
        #expect(mac.status == 0)
        #expect(mac.stdout.trimmingCharacters(in: .whitespacesAndNewlines).lowercased() == Base64.decode(eab["signature"]!.stringValue!)!.hexString)
    }

    @Test func ed25519AccountKeysAreRefusedWithAClearMessage() throws {
        let key = try PrivateKey.generate(.ed25519)
        #expect(throws: JWSError.self) { try JWS.sign(payload: nil, protected: [], key: key) }
    }
}

@Suite struct Base64Tests {
    @Test(arguments: [0, 1, 2, 3, 4, 5, 31, 32, 33, 100])
    func encodingMatchesFoundationAndRoundTrips(_ n: Int) throws {
        let bytes = (0..<n).map { UInt8(($0 * 131 + 7) & 255) }
        #expect(Base64.encode(bytes) == Data(bytes).base64EncodedString())
        let url = Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        #expect(Base64.urlEncode(bytes) == url)
        #expect(Base64.decode(Base64.urlEncode(bytes)) == bytes)
        #expect(Base64.decode(Base64.encode(bytes)) == bytes)
    }

    @Test func malformedInputIsRejected() {
        #expect(Base64.decode("A") == nil)
        #expect(Base64.decode("AB=C") == nil)
        #expect(Base64.decode("AB$C") == nil)
    }
}
