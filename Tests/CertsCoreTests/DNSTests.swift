import Foundation
import Testing
@testable import CertsCore

/// A real authoritative DNS server (Debian's NSD, scripts/setup) on a loopback address of its
/// own, port 53 as in the real world (the test runs as root, as CI does). Zones are zone-file
/// text; `update` rewrites one and makes NSD reload it (SIGHUP rereads files whose mtime moved),
/// then waits until the new serial is served.
final class NSDServer: @unchecked Sendable {
    let dir: String
    let address: String
    let process: Process
    private var serials: [String: UInt32] = [:]
    private var mtime = Date().addingTimeInterval(10)

    /// Loopback networks handed out in this process (127.0.N.0, one N per test), from a start
    /// that differs between runs; one where something already answers on .1 is skipped.
    nonisolated(unsafe) static var lastNetwork = 40 + Int(getpid() % 150)
    static let lock = NSLock()
    static func network() -> Int {
        while true {
            let n: Int = { lock.lock(); defer { lock.unlock() }; lastNetwork = lastNetwork >= 250 ? 41 : lastNetwork + 1; return lastNetwork }()
            let taken = (1...3).contains { host in
                (try? DNSClient(timeout: 0.1, attempts: 1).query("probe.test", .soa, server: DNSServer(address: "127.0.\(n).\(host)"))) != nil
            }
            if !taken { return n }
        }
    }

    init(address: String, zones: [String: String]) throws {
        self.address = address
        dir = NSTemporaryDirectory() + "certs-nsd-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var conf = """
        server:
          ip-address: \(address)@53
          username: ""
          chroot: ""
          zonesdir: "\(dir)"
          database: ""
          pidfile: "\(dir)/nsd.pid"
          xfrdfile: "\(dir)/xfrd.state"
          zonelistfile: "\(dir)/zone.list"
          logfile: "\(dir)/nsd.log"
          server-count: 1
          hide-version: yes
        remote-control:
          control-enable: no

        """
        for (name, text) in zones {
            conf += "zone:\n  name: \(name)\n  zonefile: \"\(name).zone\"\n"
            try text.write(toFile: "\(dir)/\(name).zone", atomically: true, encoding: .utf8)
            serials[name] = 1
        }
        try conf.write(toFile: "\(dir)/nsd.conf", atomically: true, encoding: .utf8)
        process = Process()
        // Through python3: the test thread's blocked signal mask is inherited by spawned
        // processes, and NSD would never see SIGHUP (reload) or SIGTERM; a session of its own
        // lets `stop` end NSD's forked children with it.
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", "import os, signal, sys\nsignal.pthread_sigmask(signal.SIG_SETMASK, [])\ntry: os.setsid()\nexcept OSError: pass\nos.execv(sys.argv[1], sys.argv[1:])",
                             "/usr/sbin/nsd", "-d", "-c", "\(dir)/nsd.conf"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Ready once the first zone's SOA is served.
        let first = zones.keys.sorted()[0]
        for _ in 0..<100 {
            guard process.isRunning else { break }
            if let m = try? DNSClient(timeout: 0.2, attempts: 1).query(first, .soa, server: DNSServer(address: address), recursionDesired: false),
               m.answers.contains(where: { $0.type == DNSType.soa.rawValue }) { return }
            usleep(50_000)
        }
        let log = (try? String(contentsOfFile: "\(dir)/nsd.log", encoding: .utf8)) ?? ""
        stop()
        throw NSDFailed(description: "nsd on \(address) did not start: \(log)")
    }

    struct NSDFailed: Error, CustomStringConvertible { let description: String }

    /// A server on a fresh 127.0.N.`host`; a few tries when the address is taken.
    static func start(host: Int, network: Int, zones: [String: String]) throws -> NSDServer {
        try NSDServer(address: "127.0.\(network).\(host)", zones: zones)
    }

    /// Replaces zone `name` with `records` (SOA and serial added) and waits until it is served.
    func update(_ name: String, _ text: (UInt32) -> String) throws {
        let serial = (serials[name] ?? 1) + 1
        serials[name] = serial
        let path = "\(dir)/\(name).zone"
        try text(serial).write(toFile: path, atomically: true, encoding: .utf8)
        mtime = mtime.addingTimeInterval(5)
        try FileManager.default.setAttributes([.modificationDate: mtime], ofItemAtPath: path)
        kill(process.processIdentifier, SIGHUP)
        for _ in 0..<200 {
            if let m = try? DNSClient(timeout: 0.2, attempts: 1).query(name, .soa, server: DNSServer(address: address), recursionDesired: false),
               m.answers.contains(where: { if case .soa(_, _, let s) = $0.data { return s == serial }; return false }) { return }
            usleep(20_000)
        }
        throw NSDFailed(description: "nsd on \(address) did not load serial \(serial) of \(name)")
    }

    func stop() {
        if process.isRunning {
            kill(-process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: dir)
    }

    deinit { stop() }

    static func zone(_ origin: String, serial: UInt32 = 1, _ records: [String]) -> String {
        "$ORIGIN \(origin).\n$TTL 60\n@ SOA ns1 hostmaster \(serial) 60 60 600 60\n" + records.joined(separator: "\n") + "\n"
    }
}

let nsdInstalled = FileManager.default.isExecutableFile(atPath: "/usr/sbin/nsd") && getuid() == 0

/// Lines logged by a check, collected across threads.
final class LogLines: @unchecked Sendable {
    let lines = Locked<[String]>([])
    func add(_ s: String) { lines.withValue { $0.append(s) } }
    var all: String { lines.current.joined(separator: "\n") }
}

@Suite struct DNSMessageTests {
    @Test func aQueryEncodesTheNameAsLabelsAndRecursionAsAsked() throws {
        let q = try DNSMessage.query(id: 0x1234, name: "WWW.Example.test.", type: .txt, recursionDesired: false)
        #expect(q == [0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3] + Array("WWW".utf8) + [7] + Array("Example".utf8) + [4] + Array("test".utf8) + [0, 0, 16, 0, 1])
        #expect(try DNSMessage.query(id: 1, name: "a.test", type: .a, recursionDesired: true)[2] == 1)
    }

    @Test func namesThatDoNotFitTheWireFormatAreRefused() {
        #expect(throws: DNSError.invalidName(String(repeating: "a", count: 64) + ".test")) {
            try DNSMessage.query(id: 1, name: String(repeating: "a", count: 64) + ".test", type: .a, recursionDesired: true)
        }
        #expect(throws: DNSError.self) { try DNSMessage.query(id: 1, name: "a..test", type: .a, recursionDesired: true) }
        let long = Array(repeating: String(repeating: "a", count: 60), count: 5).joined(separator: ".")
        #expect(throws: DNSError.self) { try DNSMessage.query(id: 1, name: long, type: .a, recursionDesired: true) }
    }

    static let header: [UInt8] = [0xab, 0xcd, 0x84, 0x00, 0, 1, 0, 1, 0, 0, 0, 0]

    @Test func aCompressedAnswerDecodes() throws {
        // question www.example.test A; answer name = pointer to the question name (offset 12).
        let question: [UInt8] = [3] + Array("www".utf8) + [7] + Array("example".utf8) + [4] + Array("test".utf8) + [0, 0, 1, 0, 1]
        let answer: [UInt8] = [0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 7]
        let m = try DNSMessage(decoding: Self.header + question + answer)
        #expect(m.id == 0xabcd && m.isResponse && m.authoritative && !m.truncated)
        #expect(m.questions == [DNSQuestion(name: "www.example.test", type: 1)])
        #expect(m.answers == [DNSRecord(name: "www.example.test", type: 1, ttl: 60, data: .a([192, 0, 2, 7]))])
    }

    @Test func pointerLoopsForwardPointersAndOverrunsAreMalformedNotHangs() {
        let q: [UInt8] = [0, 0, 1, 0, 1]
        // A name that points at itself, one that points forward, a label past the end, a
        // record whose length runs past the end, an A record of 3 bytes.
        let cases: [[UInt8]] = [
            Self.header + [0xc0, 12] + q,
            Self.header + [0xc0, 14, 0] + q,
            Self.header + [9, 0x61, 0x62],
            Self.header + [0] + q + [0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 9, 1, 2],
            Self.header + [0] + q + [0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 3, 1, 2, 3],
            Self.header + [0x40] + q,
            [0xab],
        ]
        for bytes in cases {
            #expect(throws: DNSError.self) { try DNSMessage(decoding: bytes) }
        }
        // Two pointers pointing at each other (a loop through two names).
        let loop: [UInt8] = [0xab, 0xcd, 0x84, 0x00, 0, 2, 0, 0, 0, 0, 0, 0, 1, 0x61, 0xc0, 18, 0, 1, 0, 1, 1, 0x62, 0xc0, 12, 0, 1, 0, 1]
        #expect(throws: DNSError.self) { try DNSMessage(decoding: loop) }
    }

    @Test func caaAndTXTRecordsDecodeAndPrintInZoneFileForm() throws {
        let caa: [UInt8] = [0x80, 5] + Array("issue".utf8) + Array("ca.example".utf8)
        let txt: [UInt8] = [3] + Array("abc".utf8) + [2] + Array("de".utf8)
        let bytes: [UInt8] = [0, 1, 0x84, 0, 0, 0, 0, 2, 0, 0, 0, 0]
            + [1, 0x61, 0, 1, 1, 0, 1, 0, 0, 0, 9, 0, UInt8(caa.count)] + caa
            + [1, 0x61, 0, 0, 16, 0, 1, 0, 0, 0, 9, 0, UInt8(txt.count)] + txt
        let m = try DNSMessage(decoding: bytes)
        #expect(m.answers[0].description == "a. CAA 128 issue \"ca.example\"")
        #expect(m.answers[1].text == "abcde")
    }

    @Test func resolverAddressesParseAndNamesAreRefused() throws {
        #expect(try DNSServer(parsing: "192.0.2.1") == DNSServer(address: "192.0.2.1", port: 53))
        #expect(try DNSServer(parsing: "192.0.2.1:5353") == DNSServer(address: "192.0.2.1", port: 5353))
        #expect(try DNSServer(parsing: "[2001:db8::1]:54") == DNSServer(address: "2001:db8::1", port: 54))
        #expect(try DNSServer(parsing: "2001:db8::1") == DNSServer(address: "2001:db8::1", port: 53))
        for bad in ["dns.example", "192.0.2.1:0", "192.0.2.1:x", ""] {
            #expect(throws: DNSError.self) { try DNSServer(parsing: bad) }
        }
        let conf = NSTemporaryDirectory() + "resolv-\(UUID().uuidString)"
        try "# comment\nsearch example\nnameserver 192.0.2.53\nnameserver 2001:db8::53\noptions ndots:1\n".write(toFile: conf, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: conf) }
        #expect(DNSServer.system(resolvConf: conf) == [DNSServer(address: "192.0.2.53"), DNSServer(address: "2001:db8::53")])
        #expect(DNSServer.system(resolvConf: conf + ".missing") == [DNSServer(address: "127.0.0.1")])
    }

    @Test func anAnswerForAnotherQuestionIsNotTheAnswer() throws {
        let m = DNSMessage(id: 7, isResponse: true, authoritative: true, truncated: false, recursionDesired: false, responseCode: 0,
                           questions: [DNSQuestion(name: "a.test", type: 16)], answers: [], authority: [], additional: [])
        #expect(DNSClient.matches(m, id: 7, name: "a.test", type: .txt))
        #expect(!DNSClient.matches(m, id: 8, name: "a.test", type: .txt))
        #expect(!DNSClient.matches(m, id: 7, name: "b.test", type: .txt))
        #expect(!DNSClient.matches(m, id: 7, name: "a.test", type: .a))
    }

    @Test func aClosedPortFailsAtOnceInsteadOfWaiting() throws {
        let started = Date()
        #expect(throws: DNSError.self) { try DNSClient(timeout: 5).query("a.test", .a, server: DNSServer(address: "127.0.0.1", port: 9)) }
        #expect(Date().timeIntervalSince(started) < 2)
    }
}

@Suite(.enabled(if: nsdInstalled, "needs nsd (scripts/setup) and root for port 53")) struct DNSClientTests {
    @Test func recordsOfEveryTypeComeBackFromARealServer() throws {
        let n = NSDServer.network()
        let ns = try NSDServer.start(host: 1, network: n, zones: ["example.test": NSDServer.zone("example.test", [
            "@ NS ns1", "ns1 A 127.0.\(n).1", "www A 192.0.2.10", "www AAAA 2001:db8::10", "alias CNAME www",
            "www TXT \"hello\" \"world\"", "www CAA 0 issue \"ca.example; accounturi=x\"",
        ])])
        let c = DNSClient(timeout: 2)
        let server = DNSServer(address: ns.address)
        #expect(try c.query("www.example.test", .a, server: server).answers.map(\.data) == [.a([192, 0, 2, 10])])
        #expect(try c.query("WWW.example.test.", .aaaa, server: server).answers.map(\.data) == [.aaaa(IPAddress.parse("2001:db8::10")!)])
        #expect(try c.query("alias.example.test", .cname, server: server).answers.map(\.data) == [.cname("www.example.test")])
        #expect(try c.query("www.example.test", .txt, server: server).answers.compactMap(\.text) == ["helloworld"])
        #expect(try c.query("www.example.test", .caa, server: server).answers.map(\.data) == [.caa(flags: 0, tag: "issue", value: "ca.example; accounturi=x")])
        let soa = try c.query("nothing.example.test", .txt, server: server, recursionDesired: false)
        #expect(soa.rcodeText == "NXDOMAIN" && soa.authoritative)
        #expect(soa.authority.first?.description.hasPrefix("example.test. SOA ns1.example.test. hostmaster.example.test. 1") == true)
        #expect(try c.query("example.test", .ns, server: server).answers.map(\.data) == [.ns("ns1.example.test")])
    }

    @Test func aTruncatedAnswerIsAskedAgainOverTCP() throws {
        let n = NSDServer.network()
        // 20 TXT records of 100 bytes: over UDP's 512 bytes (certs sends no EDNS), so NSD truncates.
        let big = (0..<20).map { "big TXT \"\(String(format: "%02d", $0))\(String(repeating: "x", count: 98))\"" }
        let ns = try NSDServer.start(host: 1, network: n, zones: ["example.test": NSDServer.zone("example.test", ["@ NS ns1", "ns1 A 127.0.\(n).1"] + big)])
        let m = try DNSClient(timeout: 2).query("big.example.test", .txt, server: DNSServer(address: ns.address))
        #expect(!m.truncated)
        #expect(m.answers.count == 20)
    }
}

@Suite(.enabled(if: nsdInstalled, "needs nsd (scripts/setup) and root for port 53"), .serialized) struct DNSPropagationTests {
    /// example.test on two authoritative servers (ns1 = 127.0.N.1, ns2 = 127.0.N.2), and
    /// delegated.test on ns3 = 127.0.N.3 (the target of a challenge CNAME).
    final class Zones: @unchecked Sendable {
        let n = NSDServer.network()
        let ns1: NSDServer, ns2: NSDServer, ns3: NSDServer
        func example(_ serial: UInt32, _ extra: [String]) -> String {
            NSDServer.zone("example.test", serial: serial, ["@ NS ns1", "@ NS ns2", "ns1 A 127.0.\(n).1", "ns2 A 127.0.\(n).2", "www A 192.0.2.10",
                                                            "_acme-challenge.alias CNAME _acme-challenge.alias.delegated.test."] + extra)
        }
        func delegated(_ serial: UInt32, _ extra: [String]) -> String {
            NSDServer.zone("delegated.test", serial: serial, ["@ NS ns3", "ns3 A 127.0.\(n).3"] + extra)
        }
        init() throws {
            let n = self.n
            let a = NSDServer.zone("example.test", ["@ NS ns1", "@ NS ns2", "ns1 A 127.0.\(n).1", "ns2 A 127.0.\(n).2"])
            ns1 = try NSDServer.start(host: 1, network: n, zones: ["example.test": a])
            ns2 = try NSDServer.start(host: 2, network: n, zones: ["example.test": a])
            ns3 = try NSDServer.start(host: 3, network: n, zones: ["delegated.test": NSDServer.zone("delegated.test", ["@ NS ns3", "ns3 A 127.0.\(n).3"])])
            try ns1.update("example.test") { self.example($0, []) }
            try ns2.update("example.test") { self.example($0, []) }
        }
        /// ns1 answers for example.test, ns3 for delegated.test: together the "resolver".
        var resolver: DNSResolver { DNSResolver(servers: [DNSServer(address: ns1.address), DNSServer(address: ns3.address)]) }
    }

    @Test func theZoneCutAndItsAuthoritativeServersAreFoundThroughSOAAndNS() throws {
        let z = try Zones()
        let check = DNSPropagationCheck(resolver: z.resolver, timeout: 5)
        let t = try check.locate("_acme-challenge.www.example.test")
        #expect(t.zone == "example.test")
        #expect(t.servers.map(\.host) == ["ns1.example.test", "ns2.example.test"])
        #expect(t.servers.map(\.addresses) == [[DNSServer(address: z.ns1.address)], [DNSServer(address: z.ns2.address)]])
    }

    @Test func aChallengeCNAMEIsFollowedIntoTheOtherZone() throws {
        let z = try Zones()
        try z.ns3.update("delegated.test") { z.delegated($0, ["_acme-challenge.alias TXT \"v-cname\""]) }
        let log = LogLines()
        var check = DNSPropagationCheck(resolver: z.resolver, timeout: 5)
        check.log = log.add
        let t = try check.locate("_acme-challenge.alias.example.test")
        #expect(t.name == "_acme-challenge.alias.delegated.test" && t.zone == "delegated.test")
        #expect(t.servers.map(\.host) == ["ns3.delegated.test"])
        try check.waitUntilVisible([("_acme-challenge.alias.example.test", ["v-cname"])])
        #expect(log.all.contains("all 1 value(s) visible at ns3.delegated.test"))
    }

    @Test func theWaitLastsUntilTheLaggingSecondaryServesTheValue() throws {
        let z = try Zones()
        let name = "_acme-challenge.www.example.test"
        try z.ns1.update("example.test") { z.example($0, ["_acme-challenge.www TXT \"v-one\"", "_acme-challenge.www TXT \"v-two\""]) }
        // ns2 gets the records 1.5 s later (a secondary waiting for its NOTIFY / refresh).
        let lag = 1.5
        let updated = Locked<Date?>(nil)
        let secondary = WorkerThread { [z] in
            usleep(UInt32(lag * 1_000_000))
            try? z.ns2.update("example.test") { z.example($0, ["_acme-challenge.www TXT \"v-one\"", "_acme-challenge.www TXT \"v-two\""]) }
            updated.withValue { $0 = Date() }
        }
        defer { secondary.join() }
        let log = LogLines()
        var check = DNSPropagationCheck(resolver: z.resolver, timeout: 20)
        check.log = log.add
        try check.waitUntilVisible([(name, ["v-one"]), (name, ["v-two"])])
        let done = Date()
        // Not before ns2 had them: the check returned after the secondary's update.
        let ns2Time = try #require(updated.current, "returned before ns2 was updated\n\(log.all)")
        #expect(done >= ns2Time)
        let direct = try DNSClient().query(name, .txt, server: DNSServer(address: z.ns2.address), recursionDesired: false)
        #expect(Set(direct.answers.compactMap(\.text)) == ["v-one", "v-two"])
        #expect(log.all.contains("all 2 value(s) visible at ns1.example.test") && log.all.contains("all 2 value(s) visible at ns2.example.test"))
    }

    @Test func aSecondaryThatNeverGetsTheValueTimesOutNamingServerAndName() throws {
        let z = try Zones()
        try z.ns1.update("example.test") { z.example($0, ["_acme-challenge.www TXT \"v-one\""]) }
        let check = DNSPropagationCheck(resolver: z.resolver, timeout: 1.5)
        let started = Date()
        do {
            try check.waitUntilVisible([("_acme-challenge.www.example.test", ["v-one"])])
            Issue.record("no timeout")
        } catch let e as DNSError {
            let text = "\(e)"
            #expect(text.contains("_acme-challenge.www.example.test"), "\(text)")
            #expect(text.contains("ns2.example.test (\(z.ns2.address):53)"), "\(text)")
            #expect(text.contains("--dns-timeout") && text.contains("it answers NXDOMAIN"), "\(text)")
            #expect(!text.contains("ns1.example.test"), "\(text)")
        }
        #expect(Date().timeIntervalSince(started) < 6)
    }
}

@Suite(.enabled(if: nsdInstalled, "needs nsd (scripts/setup) and root for port 53")) struct CAACheckTests {
    static func server() throws -> NSDServer {
        let n = NSDServer.network()
        return try NSDServer.start(host: 1, network: n, zones: [
            "test": NSDServer.zone("test", ["@ NS ns1.example.test."]),
            "example.test": NSDServer.zone("example.test", [
                "@ NS ns1", "ns1 A 127.0.\(n).1",
                "forbid CAA 0 issue \"other.ca\"",
                "allow CAA 0 issue \"other.ca\"", "allow CAA 0 issue \"CA.example; validationmethods=dns-01\"",
                "wild CAA 0 issue \"ca.example\"", "wild CAA 0 issuewild \";\"",
                "crit CAA 0 issue \"ca.example\"", "crit CAA 128 tbs \"unknown\"",
                "parent CAA 0 issue \"other.ca\"",
                "nobody CAA 0 issue \";\"",
                "iodefonly CAA 0 iodef \"mailto:security@example.test\"",
                "alias CNAME allow",
            ]),
        ])
    }

    func check(_ server: NSDServer, _ name: String, identities: [String] = ["ca.example"]) throws -> String {
        let log = LogLines()
        var c = CAACheck(resolver: DNSResolver(servers: [DNSServer(address: server.address)]))
        c.log = log.add
        try c.check([try ACMEIdentifier(parsing: name)], caaIdentities: identities)
        return log.all
    }

    func refusal(_ server: NSDServer, _ name: String, identities: [String] = ["ca.example"]) -> String? {
        do { _ = try check(server, name, identities: identities); return nil } catch { return "\(error)" }
    }

    @Test func aRecordNamingAnotherCAForbidsAndTheMessageNamesIt() throws {
        let s = try Self.server()
        let text = try #require(refusal(s, "forbid.example.test"))
        #expect(text.contains("forbid.example.test. CAA 0 issue \"other.ca\"") && text.contains("caaIdentities: ca.example"), "\(text)")
    }

    @Test func aRecordNamingThisCAAllowsWhateverItsCaseAndParameters() throws {
        let s = try Self.server()
        #expect(try check(s, "allow.example.test").contains("CAA at allow.example.test allows this CA"))
        // The resolver follows a CNAME; the target's records are the relevant set.
        #expect(try check(s, "alias.example.test").contains("allows this CA"))
    }

    @Test func issuewildGovernsTheWildcardAndIssueTheBaseName() throws {
        let s = try Self.server()
        let text = try #require(refusal(s, "*.wild.example.test"))
        #expect(text.contains("issuewild \";\"") && text.contains("allows no CA"), "\(text)")
        #expect(refusal(s, "wild.example.test") == nil)
    }

    @Test func aCriticalUnknownTagForbids() throws {
        let s = try Self.server()
        let text = try #require(refusal(s, "crit.example.test"))
        #expect(text.contains("CAA 128 tbs \"unknown\"") && text.contains("critical"), "\(text)")
    }

    @Test func theParentDomainsRecordAppliesToANameWithoutItsOwn() throws {
        let s = try Self.server()
        let text = try #require(refusal(s, "www.deeper.parent.example.test"))
        #expect(text.contains("parent.example.test. CAA 0 issue \"other.ca\""), "\(text)")
    }

    @Test func noCAAAnywhereAllowsAndAnIodefOnlySetDoesNotRestrict() throws {
        let s = try Self.server()
        #expect(try check(s, "plain.example.test").contains("no CAA records up to the top-level domain"))
        #expect(try check(s, "iodefonly.example.test").contains("allows this CA"))
    }

    @Test func withoutCAAIdentitiesOnlyARecordAllowingNoCAForbids() throws {
        let s = try Self.server()
        #expect(try check(s, "forbid.example.test", identities: []).contains("lists no caaIdentities"))
        #expect(refusal(s, "nobody.example.test", identities: [])?.contains("allows no CA") == true)
    }

    @Test func aLookupThatFailsIsLoggedAndLeftToTheCA() throws {
        var c = CAACheck(resolver: DNSResolver(servers: [DNSServer(address: "127.0.0.1", port: 9)]))
        let log = LogLines()
        c.log = log.add
        try c.check([try ACMEIdentifier(parsing: "a.example.test")], caaIdentities: ["ca.example"])
        #expect(log.all.contains("could not check CAA for a.example.test"))
    }
}

@Suite struct DNSFailureTests {
    @Test func aCAARefusalPassesOverToTheNextCAButATimeoutDoesNot() {
        // Another CA may be one the records allow; DNS that does not serve the value fails everywhere.
        #expect(ACMEIssuer.isFallbackWorthy(DNSError.caaForbids(name: "a.test", record: "a.test. CAA 0 issue \"x\"", reason: "names only x")))
        #expect(!ACMEIssuer.isFallbackWorthy(DNSError.notPropagated(name: "_acme-challenge.a.test", server: "ns1", seen: "NXDOMAIN", seconds: 1)))
        #expect(!ACMEIssuer.isFallbackWorthy(DNSError.invalidServer("x")))
    }

    @Test func theCAAVerdictIsPureAndCitesTheRecord() {
        func caa(_ flags: UInt8, _ tag: String, _ value: String) -> DNSRecord {
            DNSRecord(name: "a.test", type: 257, ttl: 60, data: .caa(flags: flags, tag: tag, value: value))
        }
        #expect(CAACheck.evaluate([caa(0, "issue", "ca.example")], wildcard: false, caaIdentities: ["ca.example"]) == .allowed)
        #expect(CAACheck.evaluate([caa(0, "issuewild", ";")], wildcard: false, caaIdentities: ["ca.example"]) == .allowed)
        #expect(CAACheck.evaluate([caa(0, "issue", "ca.example"), caa(0, "issuewild", "other.ca")], wildcard: true, caaIdentities: ["ca.example"])
                == .forbidden(record: caa(0, "issuewild", "other.ca"), reason: "names only other.ca (issuewild), not this CA (its caaIdentities: ca.example)"))
        #expect(CAACheck.evaluate([caa(128, "issue", "ca.example")], wildcard: false, caaIdentities: ["ca.example"]) == .allowed)
        #expect(CAACheck.evaluate([], wildcard: false, caaIdentities: []) == .allowed)
    }
}

/// A UDP server in Python that answers each query first with a forged reply (wrong id, or
/// another question) and then, unless `forgeOnly`, with the real one: the client must skip the
/// forgery and take the real answer, or time out when only forgeries come.
@Suite struct DNSForgedAnswerTests {
    static let script = """
    import socket, struct, sys
    mode = sys.argv[1]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1], flush=True)
    while True:
        q, peer = s.recvfrom(512)
        qid = struct.unpack(">H", q[:2])[0]
        question = q[12:]
        answer = b"\\xc0\\x0c\\x00\\x01\\x00\\x01\\x00\\x00\\x00\\x3c\\x00\\x04\\xc0\\x00\\x02\\x63"
        def reply(i, qs, ip):
            return struct.pack(">HHHHHH", i, 0x8400, 1, 1, 0, 0) + qs + answer[:-1] + bytes([ip])
        other = b"\\x05other\\x04test\\x00\\x00\\x01\\x00\\x01"
        if mode in ("id", "only"):
            s.sendto(reply(qid ^ 0x5555, question, 66), peer)
        if mode == "question":
            s.sendto(reply(qid, other, 66), peer)
        if mode != "only":
            s.sendto(reply(qid, question, 99), peer)
    """

    /// SIGKILL: the test thread's blocked signal mask is inherited, so SIGTERM would never arrive.
    func stop(_ p: Process) {
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
    }

    func server(_ mode: String) throws -> (Process, UInt16) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        p.arguments = ["-c", Self.script, mode]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        var text = ""
        while !text.contains("\n") {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        return (p, UInt16(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0)
    }

    @Test(arguments: ["id", "question"]) func aForgedReplyIsSkippedForTheRealOne(mode: String) throws {
        let (p, port) = try server(mode)
        defer { stop(p) }
        let m = try DNSClient(timeout: 3).query("www.example.test", .a, server: DNSServer(address: "127.0.0.1", port: port))
        #expect(m.answers.map(\.data) == [.a([192, 0, 2, 99])])
    }

    @Test func onlyForgeriesIsATimeout() throws {
        let (p, port) = try server("only")
        defer { stop(p) }
        #expect(throws: DNSError.timeout(server: "127.0.0.1:\(port)", name: "www.example.test", type: "A", seconds: 0.5)) {
            try DNSClient(timeout: 0.5, attempts: 1).query("www.example.test", .a, server: DNSServer(address: "127.0.0.1", port: port))
        }
    }
}
