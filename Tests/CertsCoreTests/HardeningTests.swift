import Foundation
import Testing
@testable import CertsCore

/// Inputs that once broke a parser (found by scripts/fuzz or the bad-input corpus), replayed on
/// every run: each must return or throw — a trap here kills the test process.
@Suite struct ParsingSurfaceRegressionTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/fuzz-regressions").path

    @Test func everyRecordedInputIsHandledWithoutATrap() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.directory).sorted()
        #expect(!names.isEmpty)
        for name in names {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(Self.directory)/\(name)")))
            ParsingSurface.exercise(bytes)
        }
    }

    @Test func theUndecodableKeyInputIsRefusedNotJustSurvived() throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(Self.directory)/corpus-undecodable-public-key-pem")))
        #expect(throws: InputError.self) { _ = try CryptoDocument(bytes: Array(bytes.dropFirst()), source: "x.pem") }
    }
}

/// No leaks in the OpenSSL layer: 10,000 rounds of parse + keygen + CSR + sign leave the resident
/// set flat. Measured in a child process running only this test, so other tests' allocations in
/// the shared test process cannot blur the figure.
@Suite struct MemoryTests {
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        return (fields.count > 1 ? Int(fields[1]) ?? 0 : 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    static func round(_ i: Int, pem: [UInt8], issuer: PrivateKey, issuerCert: Certificate) throws {
        let doc = try CryptoDocument(bytes: pem, source: "leaf.pem")
        _ = doc.certificates[0].subjectAlternativeNames
        _ = doc.certificates[0].publicKey.algorithm
        let key = try PrivateKey.generate(.ecP256)
        let csr = try CertificateSigningRequest.create(key: key, subject: DistinguishedName(commonName: "m\(i).example"),
                                                       subjectAlternativeNames: [.dns("m\(i).example")])
        _ = try csr.der()
        let now = currentUnixTime()
        let cert = try CertificateBuilder.server(names: [.dns("m\(i).example")], publicKey: key.publicKey, notBefore: now,
                                                 notAfter: now + 86400, issuer: issuerCert).sign(with: issuer)
        _ = try cert.pem()
        _ = try key.pem(passphrase: i % 100 == 0 ? Passphrase("loop") : nil)
        _ = try? CryptoDocument(bytes: Array(pem.prefix(pem.count / 2)), source: "half.pem")  // the error path too
    }

    @Test func tenThousandRoundsOfParseKeygenAndSignKeepRSSFlat() throws {
        let env = ProcessInfo.processInfo.environment
        if env["CERTS_RSS_LOOP"] == "1" {
            let caKey = try PrivateKey.generate(.ecP256)
            let now = currentUnixTime()
            var b = CertificateBuilder(subject: DistinguishedName(commonName: "Loop CA"), publicKey: caKey.publicKey, notBefore: now, notAfter: now + 86400)
            b.isCA = true
            let ca = try b.sign(with: caKey)
            let leafKey = try PrivateKey.generate(.ecP256)
            let pem = try CertificateBuilder.server(names: [.dns("leaf.example")], publicKey: leafKey.publicKey, notBefore: now,
                                                    notAfter: now + 86400, issuer: ca).sign(with: caKey).pem()
            for i in 0..<1_000 { try Self.round(i, pem: pem, issuer: caKey, issuerCert: ca) }  // warm-up: caches, arenas
            let before = Self.residentBytes()
            for i in 0..<10_000 { try Self.round(i, pem: pem, issuer: caKey, issuerCert: ca) }
            let growth = Self.residentBytes() - before
            print("RSS growth over 10,000 rounds: \(growth / 1024) KiB")
            // One leaked X509 or EVP_PKEY per round would be 10+ MiB.
            #expect(growth < 3 * 1024 * 1024, "RSS grew by \(growth / 1024) KiB over 10,000 rounds")
            return
        }
        let child = Process()
        child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        child.arguments = ["--testing-library", "swift-testing", "--filter", "MemoryTests"]
        var childEnv = env
        childEnv["CERTS_RSS_LOOP"] = "1"
        child.environment = childEnv
        let out = Pipe()
        child.standardOutput = out
        child.standardError = out
        try child.run()
        let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        child.waitUntilExit()
        #expect(child.terminationStatus == 0, "\(output.suffix(2000))")
        #expect(output.contains("RSS growth over 10,000 rounds"), "the loop did not run: \(output.suffix(1000))")
    }
}

/// `verifyAll` on many threads (64+ files): the workers share one verifier and its name cache,
/// which once was not locked and crashed `certs verify` and `certs check` on big trees of chains
/// with distinct intermediates (every chain adds cache entries while others read).
@Suite struct ParallelVerificationTests {
    @Test func manyThreadsGiveTheSameReportsAsOneThread() throws {
        let pki = try VerifyPKI()
        let now = VerifyPKI.now
        var inputs: [ChainVerifier.FileInput] = []
        for i in 0..<2000 {
            let caKey = try PrivateKey.generate(.ecP256)
            var b = CertificateBuilder(subject: DistinguishedName(commonName: "Intermediate \(i)", organization: "Verify"), publicKey: caKey.publicKey,
                                       notBefore: now - 86400, notAfter: now + 86400 * 30)
            b.isCA = true
            b.pathLength = 0
            b.issuer = pki.root
            let intermediate = try b.sign(with: pki.rootKey)
            let leaf = try CertificateBuilder.server(names: [.dns("w\(i).example.test")], publicKey: pki.leafKey.publicKey, notBefore: now - 60,
                                                     notAfter: now + 86400, issuer: intermediate).sign(with: caKey)
            inputs.append(ChainVerifier.FileInput(source: "chain\(i).pem", certificates: i % 4 == 0 ? [leaf] : [leaf, intermediate]))
        }
        for _ in 0..<3 {
            let verifier = try pki.verifier(host: nil)  // a fresh, empty name cache each round
            let parallel = try verifier.verifyAll(inputs, workers: 8)
            #expect(parallel.count == 2000)
            #expect(parallel.filter(\.valid).count == 1500, "chains with their intermediate verify, bare leaves do not")
            let serial = try pki.verifier(host: nil).verifyAll(Array(inputs.suffix(63)))  // below 64: one thread
            #expect(parallel.suffix(63).map { $0.chain.map(\.subject) } == serial.map { $0.chain.map(\.subject) })
        }
    }
}
