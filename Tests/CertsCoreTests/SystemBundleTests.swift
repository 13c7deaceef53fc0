import COpenSSL
import Foundation
import Testing
@testable import CertsCore

/// The system trust store reads its bundle file whole but parses only the certificates a
/// verification looks up by name (`BundleLookup`): verdicts are those of the bundle loaded whole
/// (`X509_STORE_load_file`), a run served by the verdict cache parses none, and a changed bundle
/// is a different trust store for the cache.
@Suite struct SystemBundleTests {
    /// A bundle file of the real system bundle's certificates plus `extra`, in that order.
    func bundle(_ s: CheckCoreStore, _ name: String, extra: [Certificate], before: [Certificate] = []) throws -> String {
        let path = "\(s.root)/\(name).pem"
        let system = (try? [UInt8](Data(contentsOf: URL(fileURLWithPath: "/etc/ssl/certs/ca-certificates.crt")))) ?? []
        var bytes = try before.flatMap { try $0.pem() } + system
        for cert in extra { bytes += try cert.pem() }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// The results of fullchain.pem files (cert.pem alone has no intermediate: unknown-issuer with any roots).
    func full(_ results: [CheckedCertificate]) -> [CheckedCertificate] { results.filter { $0.source.hasSuffix("fullchain.pem") } }

    func check(_ s: CheckCoreStore, trust: TrustStore, cache: String? = nil) throws -> (results: [CheckedCertificate], hits: Int) {
        var scanner = CheckScanner(thresholds: CheckThresholds(warning: .days(30), critical: .days(7)), now: s.now, trust: trust,
                                   store: CertificateStore(root: s.root))
        let verdicts = cache.map { CheckVerdictCache(path: $0, trust: trust) }
        scanner.verdicts = verdicts
        let results = try scanner.checkFiles(try CheckScanner.expand(["\(s.root)/live"])).results
        return (results, verdicts?.hits ?? 0)
    }

    @Test func aRootOnlyInTheBundleAnchorsAndVerdictsAreThoseOfTheWholeBundle() throws {
        let s = try CheckCoreStore()
        try s.issue("a.test", days: 90)
        let file = try bundle(s, "roots", extra: [s.ca.root])
        let lazy = try TrustStore.system(file: file, directory: nil)
        #expect(lazy.bundle != nil)
        let results = try check(s, trust: lazy).results
        #expect(!full(results).isEmpty && full(results).allSatisfy { $0.chainValid == true }, "\(full(results).map(\.chainErrors))")
        let whole = try TrustStore.system(file: file, directory: nil, parseWhole: true)
        #expect(whole.bundle == nil)
        #expect(results.map(\.json) == (try check(s, trust: whole)).results.map(\.json))
        // Only the names looked up were parsed: the test root, not the ~140 system roots.
        #expect(lazy.bundle?.parsed == 1)
    }

    /// Two roots with one subject name (a re-keyed CA: HASH.0 and HASH.1 in a hashed directory):
    /// the one that signed is found whichever comes first in the bundle.
    @Test func rootsSharingASubjectNameAreAllFound() throws {
        let s = try CheckCoreStore()
        try s.issue("a.test", days: 90)
        let other = try LocalCA.create(store: "\(s.root)/other", now: s.now - 86400)
        #expect(other.root.subject == s.ca.root.subject)
        let file = try bundle(s, "roots", extra: [s.ca.root], before: [other.root])
        let lazy = try TrustStore.system(file: file, directory: nil)
        let results = try check(s, trust: lazy).results
        #expect(!full(results).isEmpty && full(results).allSatisfy { $0.chainValid == true }, "\(full(results).map(\.chainErrors))")
        #expect(results.map(\.json) == (try check(s, trust: try TrustStore.system(file: file, directory: nil, parseWhole: true))).results.map(\.json))
        #expect(lazy.bundle?.parsed == 2)
    }

    @Test func aWarmRunParsesNoBundleCertificateAndAChangedBundleIsJudgedAfresh() throws {
        let s = try CheckCoreStore()
        try s.issue("a.test", days: 90)
        let cache = "\(s.root)/check-verdicts"
        let file = try bundle(s, "roots", extra: [])
        let first = try check(s, trust: try TrustStore.system(file: file, directory: nil), cache: cache)
        #expect(first.hits == 0 && full(first.results).allSatisfy { $0.chainValid == false }, "the bundle lacks the test root")
        let warm = try TrustStore.system(file: file, directory: nil)
        let second = try check(s, trust: warm, cache: cache)
        #expect(second.hits == second.results.count)
        #expect(second.results.map(\.json) == first.results.map(\.json))
        #expect(warm.bundle?.isIndexed == false, "kept verdicts need no trust-store certificate")
        // The administrator adds the root to the bundle: the kept verdicts no longer apply.
        _ = try bundle(s, "roots", extra: [s.ca.root])
        let third = try check(s, trust: try TrustStore.system(file: file, directory: nil), cache: cache)
        #expect(third.hits == 0)
        #expect(!full(third.results).isEmpty && full(third.results).allSatisfy { $0.chainValid == true }, "\(full(third.results).map(\.chainErrors))")
    }

    @Test func onlyPlainCertificateBundlesAreReadLazily() {
        let cert = Array("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".utf8)
        #expect(BundleLookup.accepts(cert))
        #expect(BundleLookup.accepts(Array("# comment\r\n".utf8) + cert + cert))
        #expect(!BundleLookup.accepts(Array("-----BEGIN TRUSTED CERTIFICATE-----\nMIIB\n-----END TRUSTED CERTIFICATE-----\n".utf8)))
        #expect(!BundleLookup.accepts(cert + Array("-----BEGIN X509 CRL-----\nMIIB\n-----END X509 CRL-----\n".utf8)))
        #expect(!BundleLookup.accepts(Array("no PEM here\n".utf8)))
    }

    @Test func theSubjectIsFoundInTheDER() throws {
        let s = try CheckCoreStore()
        for cert in [s.ca.root, s.ca.intermediate, try s.issue("a.test", days: 90)] {
            let der = try cert.der()
            let range = try #require(BundleLookup.subjectRange(der))
            // OpenSSL's own encoding of the subject is the oracle.
            var out: UnsafeMutablePointer<UInt8>? = nil
            let n = i2d_X509_NAME(X509_get_subject_name(cert.pointer), &out)
            #expect(n > 0 && Array(der[range]) == Array(UnsafeBufferPointer(start: out, count: Int(n))))
            CRYPTO_free(out, #file, #line)
        }
        #expect(BundleLookup.subjectRange([0x30, 0x03, 0x30, 0x01]) == nil)
    }
}
