import Foundation
import Testing
@testable import CertsCore

/// The decisions `certs request`, `ca issue`, `ca crl` and `doctor` took in their commands, now in
/// the core: which CA, bindings, bundle and profile a request uses (given, or its previous record),
/// what it refuses before any CA is contacted, and validity and CRL dates at a pinned clock.
@Suite struct IssuanceWorkflowTests {
    final class Directory {
        let root = FileManager.default.temporaryDirectory.path + "/certs-issuance-\(UUID().uuidString.prefix(8))"
        var store: CertificateStore { CertificateStore(root: root) }
        init() throws { try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(atPath: root) }
    }

    static let pebble = "https://127.0.0.1:14000/dir", other = "https://127.0.0.1:15000/dir"

    func request(_ d: Directory, _ names: [String] = ["shop.example"], _ change: (inout IssuanceRun.Options) -> Void = { _ in }) -> IssuanceRun {
        var challenge = IssuanceRun.Challenge()
        challenge.webroot = d.root
        var options = IssuanceRun.Options(names: names, challenge: challenge)
        change(&options)
        return IssuanceRun(store: d.store, options: options, clock: .fixed(1_790_000_000)) { _ in
            Issue.record("the request contacted a CA")
            throw HTTPError.connect(host: "nowhere", detail: "no CA in this test")
        }
    }

    @Test func withoutACAAndWithoutAPreviousRequestThereIsNoDefaultCA() throws {
        let d = try Directory()
        #expect(throws: InputError.invalidValue(option: "--acme", value: "",
                                                reason: "give the CA's ACME directory URL (or letsencrypt / letsencrypt-staging); certs has no default CA")) {
            try request(d).plan()
        }
    }

    @Test func aRepeatedRequestUsesThePreviousCAsBundleAndProfileUnlessGivenAgain() throws {
        let d = try Directory()
        var previous = RenewalConfig(name: "shop.example", directoryURL: Self.other, names: ["shop.example"], method: .webroot(d.root),
                                     keyType: .ecP256, reuseKey: false, email: nil, account: nil, preferredChain: nil,
                                     caBundle: "/etc/pebble.pem", profile: "shortlived")
        previous.acmeList = [Self.pebble, Self.other]
        try previous.save(store: d.store)

        let again = try request(d).plan()
        #expect(again.directories == [Self.pebble, Self.other])
        #expect(again.caBundle == "/etc/pebble.pem" && again.profile == "shortlived")
        #expect(again.name == "shop.example" && again.method == .webroot(d.root))

        let given = try request(d) { ($0.acme, $0.caBundle, $0.profile) = ([Self.other], "/tmp/ca.pem", "tlsserver") }.plan()
        #expect(given.directories == [Self.other])
        #expect(given.caBundle == "/tmp/ca.pem" && given.profile == "tlsserver")
        // Another name has no previous request.
        #expect(throws: InputError.self) { try request(d, ["other.example"]).plan() }
    }

    @Test func aCAGivenTwiceEvenAsAShortcutIsRefused() throws {
        let d = try Directory()
        #expect(throws: InputError.invalidValue(option: "--acme", value: "https://acme-v02.api.letsencrypt.org/directory", reason: "given twice")) {
            try request(d) { $0.acme = ["letsencrypt", "https://acme-v02.api.letsencrypt.org/directory"] }.plan()
        }
        #expect(try request(d) { $0.acme = ["le-staging"] }.plan().directories == ["https://acme-staging-v02.api.letsencrypt.org/directory"])
    }

    @Test func aBindingGoesToItsOwnCAOnlyAndOnlyOnce() throws {
        let d = try Directory()
        let key: [UInt8] = [1, 2, 3]
        let plan = try request(d) {
            $0.acme = [Self.pebble, Self.other]
            $0.bindings = [.init(directory: Self.other, keyID: "kid-2", macKey: key)]
        }.plan()
        #expect(plan.bindings.count == 1 && plan.bindings[Self.other]?.keyID == "kid-2" && plan.bindings[Self.pebble] == nil)
        #expect(throws: InputError.invalidValue(option: "--eab", value: "https://127.0.0.1:1/dir", reason: "not one of the --acme CAs")) {
            try request(d) { ($0.acme, $0.bindings) = ([Self.pebble], [.init(directory: "https://127.0.0.1:1/dir", keyID: "k", macKey: key)]) }.plan()
        }
        #expect(throws: InputError.invalidValue(option: "--eab", value: Self.pebble, reason: "given twice")) {
            try request(d) { ($0.acme, $0.bindings) = ([Self.pebble], [.init(directory: Self.pebble, keyID: "a", macKey: key), .init(directory: Self.pebble, keyID: "b", macKey: key)]) }.plan()
        }
    }

    @Test func whatNoCAIssuesIsRefusedBeforeAnyCAIsContacted() throws {
        let d = try Directory()
        #expect(throws: InputError.invalidValue(option: "--key-type", value: "ed25519", reason: "ACME CAs issue for EC and RSA keys only; use ec-p256 (default), ec-p384 or rsa-2048…")) {
            try request(d) { ($0.acme, $0.keyType) = ([Self.pebble], .ed25519) }.run()
        }
        for bad in ["mailto:a@example.com", "a@example.com,b@example.com", "nobody"] {
            #expect(throws: InputError.invalidValue(option: "--email", value: bad, reason: "give one plain address (name@example.com)")) {
                try request(d) { ($0.acme, $0.email) = ([Self.pebble], bad) }.run()
            }
        }
        // A wildcard needs DNS-01; two challenge methods are one too many.
        #expect(throws: (any Error).self) { try request(d, ["*.shop.example"]) { $0.acme = [Self.pebble] }.run() }
        #expect(throws: InputError.invalidValue(option: "challenge", value: "several",
                                                reason: "choose exactly one of --webroot DIR, --standalone, --tls-alpn or --dns-hook CMD")) {
            try request(d) { ($0.acme, $0.challenge.standalone) = ([Self.pebble], true) }.run()
        }
        #expect(!FileManager.default.fileExists(atPath: "\(d.root)/renewal/shop.example.json"))
    }

    @Test func csrOnlyWritesAKeyAndCSRAndRefusesToOverwriteEitherWithoutForce() throws {
        let d = try Directory()
        let r = try IssuanceRun.writeKeyAndCSR(names: ["shop.example", "www.shop.example"], certName: nil, keyType: .ecP256, directory: d.root, force: false)
        #expect(r.keyPath == "\(d.root)/shop.example.key" && r.csrPath == "\(d.root)/shop.example.csr")
        #expect(FileSystem.mode(of: r.keyPath).map { $0 & 0o777 } == 0o600)
        let csr = try #require(try CryptoDocument(bytes: try FileSystem.read(r.csrPath), source: r.csrPath).requests.first)
        #expect(csr.subjectAlternativeNames.map(\.description) == ["DNS:shop.example", "DNS:www.shop.example"])
        let key = try FileSystem.read(r.keyPath)
        #expect(throws: OutputError.exists(path: r.keyPath)) {
            try IssuanceRun.writeKeyAndCSR(names: ["shop.example"], certName: nil, keyType: .ecP256, directory: d.root, force: false)
        }
        #expect(try FileSystem.read(r.keyPath) == key)
        _ = try IssuanceRun.writeKeyAndCSR(names: ["shop.example"], certName: nil, keyType: .ecP256, directory: d.root, force: true)
        #expect(try FileSystem.read(r.keyPath) != key)
    }

    @Test func aLocalCACertificateIsValidFromAMinuteBeforeThePinnedClockForItsDays() throws {
        let d = try Directory()
        _ = try LocalCA.create(store: d.root, now: 1_789_000_000)
        let t: Int64 = 1_790_000_000
        let issued = try LocalCAIssuance(names: ["a.example"], days: 6).run(store: d.root, clock: .fixed(t))
        #expect(issued.certificate.notBefore == t - 60 && issued.certificate.notAfter == t + 6 * 86400)
        #expect(daysBetween(t, issued.certificate.notAfter) == 6)
        var backdated = LocalCAIssuance(names: ["b.example"], days: 2)
        backdated.validFrom = t - 10 * 86400
        let old = try backdated.run(store: d.root, clock: .fixed(t))
        #expect(old.certificate.notBefore == t - 10 * 86400 && old.certificate.notAfter == t - 8 * 86400)
        var https = LocalCAIssuance(names: ["c.example"], days: 2)
        https.crlURL = "https://crl.example/ca.crl"
        #expect(throws: InputError.invalidValue(option: "--crl-url", value: "https://crl.example/ca.crl", reason: "CRLs are fetched over http:// (RFC 5280 4.2.1.13)")) {
            try https.run(store: d.root, clock: .fixed(t))
        }
    }

    @Test func theCRLIsDatedByThePinnedClockAndReplacesOnlyThisCAsCRL() throws {
        let d = try Directory()
        _ = try LocalCA.create(store: d.root, now: 1_789_000_000)
        let t: Int64 = 1_790_000_000
        let path = "\(d.root)/ca.crl"
        let first = try LocalCACRLPublishing(path: path).run(store: d.root, clock: .fixed(t))
        #expect(first.thisUpdate == t && first.nextUpdate == t + 7 * 86400 && first.revoked == 0)
        let crl = try RevocationList(bytes: try FileSystem.read(path), source: path)
        #expect(crl.isSigned(by: try LocalCA.open(store: d.root).intermediate))
        // Its own CRL is replaced; a file it did not sign only with force.
        _ = try LocalCACRLPublishing(path: path).run(store: d.root, clock: .fixed(t + 1))
        let foreign = "\(d.root)/notes.txt"
        try FileSystem.writeAtomically(Array("mine\n".utf8), to: foreign, mode: 0o644, existing: .refuse)
        #expect(throws: OutputError.exists(path: foreign)) { try LocalCACRLPublishing(path: foreign).run(store: d.root, clock: .fixed(t)) }
        #expect(try FileSystem.read(foreign) == Array("mine\n".utf8))
        var forced = LocalCACRLPublishing(path: foreign)
        forced.force = true
        _ = try forced.run(store: d.root, clock: .fixed(t))
        #expect(try FileSystem.read(foreign) != Array("mine\n".utf8))
    }

    @Test func doctorFindsTheComposeFilesAndTheNginxConfigNextToTheStack() throws {
        let d = try Directory()
        let stack = "\(d.root)/stack.yaml"
        try FileSystem.writeAtomically(Array("""
        domains:
          - name: example.com
            routes:
              - { path: /, service: app, port: 8000 }
        services:
          app: { image: app }
        """.utf8), to: stack, mode: 0o644, existing: .refuse)
        for f in ["compose.yaml", "docker-compose.override.yml", "notes.yaml"] {
            try FileSystem.writeAtomically(Array("services: {}\n".utf8), to: "\(d.root)/\(f)", mode: 0o644, existing: .refuse)
        }
        try FileSystem.makeDirectories("\(d.root)/nginx/conf.d", mode: 0o755)
        var run = DoctorRun()
        run.stackPath = stack
        let report = try run.run(store: d.store, clock: .fixed(1_790_000_000))
        #expect(report.stack == stack)
        #expect(report.composeFiles == ["\(d.root)/compose.yaml", "\(d.root)/docker-compose.override.yml"])
        #expect(report.nginxDirectory == "\(d.root)/nginx/conf.d")
        run.composeFiles = ["\(d.root)/missing.yaml"]
        #expect(throws: InputError.notFound(path: "\(d.root)/missing.yaml")) { try run.run(store: d.store) }
    }
}
