import Testing
@testable import CertsCore

@Suite struct BatchVerificationTests {
    @Test func parallelVerificationGivesTheSequentialVerdictsInInputOrder() throws {
        let pki = try VerifyPKI()
        let expired = try pki.makeLeaf(from: VerifyPKI.now - 200 * 86400, days: 30)
        let wrongHost = try pki.makeLeaf(names: [.dns("other.example.test")])
        var inputs: [ChainVerifier.FileInput] = []
        for i in 0..<300 {
            let leaf = i == 17 ? expired : (i == 250 ? wrongHost : try pki.makeLeaf())
            inputs.append(.init(source: "f\(i).pem", certificates: [leaf, pki.intermediate]))
        }
        let verifier = try pki.verifier()
        let parallel = try verifier.verifyAll(inputs, workers: 4)
        let sequential = try verifier.verifyAll(inputs, workers: 1)
        #expect(parallel.map(\.source) == inputs.map(\.source))
        #expect(parallel.map(\.codes) == sequential.map(\.codes))
        #expect(parallel.filter { !$0.valid }.map(\.source) == ["f17.pem", "f250.pem"])
        #expect(parallel[17].errors.contains { $0.code == "expired" })
        #expect(parallel[250].errors.contains { $0.code == "hostname-mismatch" })
    }
}
