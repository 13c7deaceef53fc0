/// Every parser that reads untrusted bytes, behind one entry point: the libFuzzer target
/// (Fuzz/CertsFuzz, scripts/fuzz) drives it, and the regression test replays the inputs the
/// fuzzer and the bad-input corpus once broke us with (Tests/Fixtures/fuzz-regressions).
///
/// The first byte chooses the parser, so one corpus exercises all of them. Each must return or
/// throw: never trap, hang or leak.
public enum ParsingSurface {
    public static func exercise(_ input: [UInt8]) {
        guard let selector = input.first else { return }
        let bytes = Array(input.dropFirst())
        let text = String(decoding: bytes, as: UTF8.self)
        switch selector % 7 {
        case 0:
            // PEM / DER / PKCS#7 / PKCS#12 (with a passphrase, so PKCS#12 MACs and decryption run).
            guard let document = try? CryptoDocument(bytes: bytes, source: "fuzz", passphrase: Passphrase("fuzz")) else { return }
            for certificate in document.certificates {
                _ = certificate.subject.description
                _ = certificate.issuer.description
                _ = certificate.subjectAlternativeNames
                _ = certificate.publicKey.algorithm
                _ = certificate.notAfter
                _ = certificate.signatureAlgorithm
            }
            // The Web PKI rules read extensions OpenSSL's decoder does not (nameConstraints, AIA
            // DER, serial encoding, SAN forms): run them on whatever chain the input holds.
            if let leaf = document.certificates.first {
                for policy in VerificationPolicy.allCases {
                    _ = ServerPolicies.evaluate(PolicyContext(leaf: leaf, chain: document.certificates, time: 0, key: nil, policy: policy))
                }
            }
            for request in document.requests {
                _ = request.subject.description
                _ = request.subjectAlternativeNames
                _ = request.signatureIsValid
            }
            for key in document.privateKeys { _ = key.algorithm }
        case 1:
            _ = try? CertificateParser().certificates(in: bytes, source: "fuzz")
        case 2:
            _ = try? Stack.parse(bytes, source: "fuzz.yaml")
        case 3:
            _ = try? JSONParser.parse(bytes)
        case 4:
            _ = RFC3339.parse(text)
            _ = try? Endpoint(parsing: text)
            _ = try? HTTPURL(text)
        case 6:
            // DNS answers (Sources/CertsCore/DNS): any server, or a spoofer, writes these bytes.
            if let message = try? DNSMessage(decoding: bytes) {
                for r in message.answers + message.authority + message.additional { _ = r.description; _ = r.text }
                _ = CAACheck.evaluate(message.answers, wildcard: true, caaIdentities: ["ca.example"])
            }
        default:
            _ = try? HostName.validate(text)
            _ = IPAddress.parse(text)
            _ = try? GeneralName(parsing: text)
            _ = NameConstraintsShape(der: bytes, critical: true)
            _ = AuthorityInfoAccessShape.defect(bytes)
            _ = Punycode.toASCII(text)
        }
    }
}
