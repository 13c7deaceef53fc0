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
