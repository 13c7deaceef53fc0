import Testing
@testable import CertsCore

@Suite struct KeyGenerationTests {
    @Test(arguments: KeyType.allCases)
    func generatedKeysPassOpenSSLsConsistencyCheck(type: KeyType) throws {
        let key = try PrivateKey.generate(type)
        #expect(key.check())
        let reread = try PrivateKey(bytes: try key.pem(), source: "memory")
        #expect(reread.matches(key.publicKey))
    }
}

/// `key new` writes PKCS#8 itself for the keys it generates (`PrivateKeyInfo`); these pin that the
/// bytes are OpenSSL's own, so nothing downstream can tell the difference.
@Suite struct PrivateKeyInfoTests {
    /// Offset of d in a P-256 PrivateKeyInfo: 30 81 87 | 02 01 00 | 30 13 (21) | 04 6D | 30 6B | 02 01 01 | 04 20.
    static let p256ScalarOffset = 36

    func expectOpenSSLsBytes(_ key: PrivateKey, _ type: KeyType) throws {
        let own = try #require(key.ownDER(), "\(type) should take certs' own encoder")
        #expect(try key.der() == own)
        #expect(own == (try key.opensslDER()))
        #expect(try key.pem() == (try key.opensslPEM()))
        let reread = try PrivateKey(bytes: own, source: "memory")
        #expect(reread.generated == nil && reread.matches(key.publicKey))
        #expect(try reread.der() == own)  // OpenSSL's encoder over OpenSSL's parse
    }

    /// A thousand keys make d < 2^248 (a leading zero byte OpenSSL pads) likely; the loop goes on
    /// until it has seen one, so the padded case is always covered.
    @Test func p256KeysAreByteForByteOpenSSLsIncludingZeroPaddedScalars() throws {
        var padded: [PrivateKey] = []
        var generated = 0
        while generated < 1_000 || padded.isEmpty {
            let key = try PrivateKey.generate(.ecP256)
            try expectOpenSSLsBytes(key, .ecP256)
            if try key.der()[Self.p256ScalarOffset] == 0 { padded.append(key) }
            generated += 1
            try #require(generated < 20_000, "no P-256 scalar with a leading zero byte in 20,000 keys")
        }
        for key in padded.prefix(3) {
            let pem = try key.pem()
            let cli = try opensslCLI(["pkey"], stdin: pem)
            #expect(cli.status == 0 && Array(cli.stdout.utf8) == pem)
            #expect(try opensslCLI(["pkey", "-check", "-noout"], stdin: pem).status == 0)
        }
    }

    @Test(arguments: [KeyType.ecP384, .ed25519])
    func p384AndEd25519KeysAreByteForByteOpenSSLs(type: KeyType) throws {
        for index in 0..<25 {
            let key = try PrivateKey.generate(type)
            try expectOpenSSLsBytes(key, type)
            if index < 3 {
                let pem = try key.pem()
                let cli = try opensslCLI(["pkey"], stdin: pem)
                #expect(cli.status == 0 && Array(cli.stdout.utf8) == pem)
                #expect(try opensslCLI(["pkey", "-check", "-noout"], stdin: pem).status == 0 || type == .ed25519)
            }
        }
    }

    @Test(arguments: [KeyType.rsa2048])
    func rsaKeysKeepOpenSSLsEncoder(type: KeyType) throws {
        let key = try PrivateKey.generate(type)
        #expect(key.ownDER() == nil)
        #expect(try key.der() == (try key.opensslDER()))
    }

    /// A key read from a file keeps its own form (here explicit curve parameters, which certs
    /// never writes): only OpenSSL's encoder knows it.
    @Test func aKeyReadFromAFileIsWrittenBackInItsOwnForm() throws {
        let made = try opensslCLI(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                                   "-pkeyopt", "ec_param_enc:explicit", "-pkeyopt", "point-format:compressed"])
        try #require(made.status == 0)
        let key = try PrivateKey(bytes: Array(made.stdout.utf8), source: "memory")
        #expect(key.ownDER() == nil)
        #expect(Array(try opensslCLI(["pkey"], stdin: Array(made.stdout.utf8)).stdout.utf8) == (try key.pem()))
        #expect(try key.der().count > 300)  // the curve spelled out, not certs' 138-byte named-curve form
    }
}
