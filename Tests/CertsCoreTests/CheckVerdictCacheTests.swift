import Foundation
import Testing
@testable import CertsCore

/// `certs check`'s verdict cache: a kept verdict is used only for the same bytes, executable and
/// trust store, and only while no certificate's notBefore/notAfter lies between then and now;
/// whatever it serves is what a fresh check would say.
@Suite struct CheckVerdictCacheTests {
    func run(_ s: CheckCoreStore, cache path: String, at time: Int64? = nil, trust: TrustStore? = nil,
             inputs: [CheckScanner.FileInput]? = nil) throws -> (results: [CheckedCertificate], hits: Int, cache: CheckVerdictCache) {
        var scanner = try s.scanner(at: time)
        if let trust { scanner = CheckScanner(thresholds: scanner.thresholds, now: scanner.now, trust: trust, store: scanner.store) }
        let cache = CheckVerdictCache(path: path, trust: scanner.trust)
        scanner.verdicts = cache
        let results = try scanner.checkFiles(try inputs ?? CheckScanner.expand(["\(s.root)/live"])).results
        return (results, cache.hits, cache)
    }

    func fresh(_ s: CheckCoreStore, at time: Int64? = nil) throws -> [CheckedCertificate] {
        try s.scanner(at: time).checkFiles(try CheckScanner.expand(["\(s.root)/live"])).results
    }

    @Test func aSecondRunUsesTheKeptVerdictsAndSaysWhatAFreshCheckSays() throws {
        let s = try CheckCoreStore()
        for i in 0..<3 { try s.issue("k\(i).test", days: Int64(20 + i * 30)) }
        let path = "\(s.root)/cache/check-verdicts"
        let first = try run(s, cache: path)
        #expect(first.hits == 0)
        #expect(FileManager.default.fileExists(atPath: path))
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        // A day later: days left change, the kept chain verdicts do not.
        let later = s.now + 86400
        let second = try run(s, cache: path, at: later)
        #expect(second.hits == first.results.count, "every file was kept: chains valid, nothing expires in between")
        #expect(second.results.map(\.json) == (try fresh(s, at: later)).map(\.json))
        #expect(second.results.contains { $0.status == .warning }, "k0.test is within 30 days")
    }

    @Test func aCertificateExpiringInBetweenIsVerifiedAfresh() throws {
        let s = try CheckCoreStore()
        let short = try s.issue("short.test", days: 2).fingerprint().hexString
        try s.issue("long.test", days: 300)
        let path = "\(s.root)/check-verdicts"
        _ = try run(s, cache: path)
        let later = s.now + 3 * 86400  // short.test expired in between
        let second = try run(s, cache: path, at: later)
        let results = second.results.filter { $0.fingerprint == short }
        #expect(results.count == 2 && results.allSatisfy { $0.status == .critical }, "cert.pem and fullchain.pem")
        #expect(second.results.map(\.json) == (try fresh(s, at: later)).map(\.json))
        #expect(second.hits == second.results.count - results.count)
    }

    @Test func changedBytesAnotherTrustStoreOrADamagedFileAreMisses() throws {
        let s = try CheckCoreStore()
        try s.issue("a.test", days: 90)
        try s.issue("b.test", days: 90)
        let path = "\(s.root)/check-verdicts"
        let first = try run(s, cache: path)
        // b.test is renewed: its files change, a.test's do not.
        let renewed = try s.issue("b.test", days: 60).fingerprint().hexString
        let second = try run(s, cache: path)
        #expect(second.hits == second.results.count - second.results.filter { $0.fingerprint == renewed }.count)
        #expect(first.hits == 0)
        #expect(second.results.map(\.json) == (try fresh(s)).map(\.json))
        // Other roots: nothing kept applies.
        let other = try LocalCA.create(store: "\(s.root)/other", now: s.now - 86400)
        let third = try run(s, cache: path, trust: try TrustStore.certificates([other.root], origin: "test root"))
        #expect(third.hits == 0)
        #expect(third.results.contains { $0.chainValid == false })
        // A damaged file is no cache, not a crash.
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        for i in stride(from: 60, to: bytes.count, by: 7) { bytes[i] ^= 0x5a }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let fourth = try run(s, cache: path)
        #expect(fourth.results.map(\.json) == (try fresh(s)).map(\.json))
    }

    @Test func workerThreadsShareOneCache() throws {
        let s = try CheckCoreStore()
        try s.issue("many.test", days: 90)
        let inputs = try CheckScanner.expand([try s.copies(of: "many.test", count: 300)])
        let path = "\(s.root)/check-verdicts"
        let first = try run(s, cache: path, inputs: inputs)
        let second = try run(s, cache: path, inputs: inputs)
        #expect(first.hits == 0 && second.hits == 300, "each path is its own entry")
        #expect(second.results.map(\.json) == first.results.map(\.json))
    }

    @Test func aVerdictJudgedOnAnInstantOfTheChainIsNotKept() throws {
        let s = try CheckCoreStore()
        let cert = try s.issue("edge.test", days: 30)
        let path = "\(s.root)/check-verdicts"
        let inputs = [CheckScanner.FileInput(path: "\(s.root)/live/edge.test/fullchain.pem", explicit: true)]
        _ = try run(s, cache: path, at: cert.notAfter, inputs: inputs)  // valid through its notAfter second
        let again = try run(s, cache: path, at: cert.notAfter + 1, inputs: inputs)
        #expect(again.hits == 0)
        #expect(again.results[0].status == .critical)
    }
}
