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

    /// The cache's shard files (a directory of them), with their paths.
    func shardFiles(_ path: String) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else { return [] }
        return try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.count == 2 }.sorted().map { "\(path)/\($0)" }
    }

    /// Each shard file's inode: a rewritten shard (temporary file and rename) has a new one.
    func inodes(_ path: String) throws -> [String: Int] {
        Dictionary(uniqueKeysWithValues: try shardFiles(path).map { ($0, try FileManager.default.attributesOfItem(atPath: $0)[.systemFileNumber] as! Int) })
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
        let shards = try shardFiles(path)
        #expect(!shards.isEmpty)
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int == 0o700)
        for shard in shards { #expect(try FileManager.default.attributesOfItem(atPath: shard)[.posixPermissions] as? Int == 0o600) }
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
        // A damaged shard is no cache, not a crash.
        for shard in try shardFiles(path) {
            var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: shard)))
            for i in stride(from: 60, to: bytes.count, by: 7) { bytes[i] ^= 0x5a }
            try Data(bytes).write(to: URL(fileURLWithPath: shard))
        }
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

    /// What a run writes is proportional to what it changed: one new verdict rewrites one shard,
    /// and the shards it did not touch keep their files (`find -exec certs check {} \\;` is not O(N) per file).
    @Test func aRunWithOneNewVerdictRewritesOnlyItsShard() throws {
        let s = try CheckCoreStore()
        try s.issue("many.test", days: 90)
        let dir = try s.copies(of: "many.test", count: 300)
        let path = "\(s.root)/check-verdicts"
        _ = try run(s, cache: path, inputs: try CheckScanner.expand([dir]))
        let before = try inodes(path)
        #expect(before.count > 100, "300 keys spread over the shards")
        // One new file, checked alone.
        try FileManager.default.copyItem(atPath: "\(dir)/c0.pem", toPath: "\(s.root)/extra.pem")
        let one = try run(s, cache: path, inputs: [CheckScanner.FileInput(path: "\(s.root)/extra.pem", explicit: true)])
        #expect(one.hits == 0)
        let after = try inodes(path)
        let changed = after.filter { before[$0.key] != $0.value }
        #expect(changed.count == 1, "only the new verdict's shard is rewritten: \(changed.keys.sorted())")
        // And every verdict is still there, the new one included.
        let all = try CheckScanner.expand([dir]) + [CheckScanner.FileInput(path: "\(s.root)/extra.pem", explicit: true)]
        #expect(try run(s, cache: path, inputs: all).hits == 301)
    }

    /// Two runs that read the cache before either saved (two cron jobs, two `find -exec` processes)
    /// both keep their verdicts: a save merges with the shard as it is on disk, not as it was read.
    @Test func twoRunsOpenedTogetherLoseNoVerdict() throws {
        let s = try CheckCoreStore()
        try s.issue("many.test", days: 90)
        let dir = try s.copies(of: "many.test", count: 200)
        let inputs = try CheckScanner.expand([dir])
        let path = "\(s.root)/check-verdicts"
        let a = try s.scanner(), b = try s.scanner()
        var first = a, second = b
        first.verdicts = CheckVerdictCache(path: path, trust: a.trust)
        second.verdicts = CheckVerdictCache(path: path, trust: b.trust)
        _ = try first.checkFiles(Array(inputs[..<100]))  // saves its 100
        _ = try second.checkFiles(Array(inputs[100...]))  // opened before that save: saves the other 100
        #expect(try run(s, cache: path, inputs: inputs).hits == 200)
    }

    /// The same on threads at once (ThreadSanitizer runs this suite): saves under the cache's lock
    /// never leave a torn shard and never drop the other run's verdicts.
    @Test func concurrentRunsSavingAtOnceKeepEveryVerdict() throws {
        let s = try CheckCoreStore()
        try s.issue("many.test", days: 90)
        let inputs = try CheckScanner.expand([try s.copies(of: "many.test", count: 400)])
        let path = "\(s.root)/check-verdicts"
        let parts = 4
        let scanner = try s.scanner()
        let failures = Locked<[String]>([])
        runConcurrently(count: parts, width: parts) { p in
            var mine = scanner
            mine.verdicts = CheckVerdictCache(path: path, trust: scanner.trust)
            let slice = Array(inputs[(p * inputs.count / parts)..<((p + 1) * inputs.count / parts)])
            do { _ = try mine.checkFiles(slice) } catch { failures.withValue { $0.append("\(error)") } }
        }
        #expect(failures.current.isEmpty)
        let again = try run(s, cache: path, inputs: inputs)
        #expect(again.hits == 400, "every run's verdicts were kept")
        #expect(again.results.map(\.json) == (try s.scanner().checkFiles(inputs)).results.map(\.json))
    }
}
