import Foundation
import Testing

/// The encrypted hop between two VMs, on one machine: two network namespaces joined by a veth pair
/// stand in for the front VM (nginx) and the second VM (the AI service behind its terminator), with
/// addresses from the documentation range 192.0.2.0/24 that exist only inside them. One nginx per
/// namespace, from the emitted files (only the main nginx.conf around them is the test's), and a
/// Python HTTP backend on 127.0.0.1 of the second namespace, found by name through a DNS server
/// there (pebble-challtestsrv, standing in for Docker's). Without `ip netns` (not root), two loopback
/// addresses stand in, and the test says so.
@Suite(.serialized) struct HopTwoVMTests {
    /// Where each "VM" runs its processes: a namespace, or (fallback) this host's loopback.
    final class Topology {
        let front: String?
        let second: String?
        let frontIP: String
        let secondIP: String
        let backendIP: String
        let usesNamespaces: Bool
        var created: [String] = []

        init() throws {
            let id = UUID().uuidString.prefix(8).lowercased()
            let a = "certs-\(id)-front", b = "certs-\(id)-vm2"
            let probe = try? run("/usr/sbin/ip", ["netns", "add", a])
            guard probe?.status == 0 else {
                front = nil; second = nil
                frontIP = "127.0.0.1"; secondIP = "127.0.0.2"; backendIP = "127.0.0.3"
                usesNamespaces = false
                print("HopTwoVMTests: `ip netns` is not available (\(probe?.stderr.trimmingCharacters(in: .whitespacesAndNewlines) ?? "no ip")); using two loopback addresses instead (127.0.0.1 front, 127.0.0.2 second VM)")
                return
            }
            created.append(a)
            front = a; second = b
            frontIP = "192.0.2.1"; secondIP = "192.0.2.2"; backendIP = "127.0.0.1"
            usesNamespaces = true
            // From here on a failure leaves nothing behind: deinit deletes what was created.
            try Self.ip("netns", "add", b); created.append(b)
            let va = "cv\(id)a", vb = "cv\(id)b"   // interface names: 15 characters at most
            try Self.ip("link", "add", va, "type", "veth", "peer", "name", vb)
            try Self.ip("link", "set", va, "netns", a)   // moved: deleting the namespace deletes the pair
            try Self.ip("link", "set", vb, "netns", b)
            for (ns, dev, addr) in [(a, va, frontIP), (b, vb, secondIP)] {
                try Self.ip("-n", ns, "link", "set", "lo", "up")
                try Self.ip("-n", ns, "addr", "add", "\(addr)/24", "dev", dev)
                try Self.ip("-n", ns, "link", "set", dev, "up")
            }
            print("HopTwoVMTests: network namespaces \(a) (\(frontIP)) and \(b) (\(secondIP)) joined by a veth pair")
        }

        struct IPFailed: Error, CustomStringConvertible { let description: String }

        static func ip(_ args: String...) throws {
            let r = try run("/usr/sbin/ip", args)
            guard r.status == 0 else { throw IPFailed(description: "ip \(args.joined(separator: " ")): \(r.stderr)") }
        }

        func delete() {
            for ns in created.reversed() { _ = try? run("/usr/sbin/ip", ["netns", "delete", ns]) }
            created = []
        }

        deinit { delete() }

        /// argv run inside `ns` (or here, without namespaces).
        func argv(_ ns: String?, _ command: [String]) -> (String, [String]) {
            guard let ns else { return (command[0], Array(command.dropFirst())) }
            return ("/usr/sbin/ip", ["netns", "exec", ns] + command)
        }

        func exec(in ns: String?, _ command: String...) throws -> RunResult { try exec(in: ns, command) }

        func exec(in ns: String?, _ command: [String]) throws -> RunResult {
            let (exe, args) = argv(ns, command)
            return try run(exe, args)
        }

        func start(in ns: String?, _ command: [String], log: String) throws -> ServerProcess {
            // `ip netns exec` execs the command: the pid is the server's own, stopped by pid.
            let (exe, args) = argv(ns, command)
            return try ServerProcess(exe, args, log: log)
        }

        /// Polls (from inside `ns`) until something accepts on host:port, 10 s at most.
        func waitForListener(in ns: String?, host: String, port: Int) throws -> Bool {
            let script = """
            import socket, sys, time
            deadline = time.time() + 10
            while time.time() < deadline:
                try:
                    socket.create_connection((sys.argv[1], int(sys.argv[2])), 0.5).close(); sys.exit(0)
                except OSError:
                    time.sleep(0.05)
            sys.exit(1)
            """
            return try exec(in: ns, "/usr/bin/python3", "-c", script, host, String(port)).status == 0
        }
    }

    static func mainConfig(_ dir: String, include: String, accessLog: String? = nil) -> String {
        """
        pid \(dir)/nginx.pid;
        error_log \(dir)/nginx-error.log info;
        worker_processes 1;
        events { worker_connections 64; }
        http {
            log_format hop '$ssl_protocol $ssl_client_verify $ssl_client_fingerprint $status';
            access_log \(accessLog ?? "off")\(accessLog == nil ? "" : " hop");
            client_body_temp_path \(dir)/tmp-body;
            proxy_temp_path \(dir)/tmp-proxy;
            fastcgi_temp_path \(dir)/tmp-fcgi;
            uwsgi_temp_path \(dir)/tmp-uwsgi;
            scgi_temp_path \(dir)/tmp-scgi;
            include \(include);
        }
        """
    }

    static func fingerprint(_ pem: String, _ digest: String) throws -> String {
        let r = try openssl("x509", "-noout", "-fingerprint", "-\(digest)", stdin: Array(pem.utf8))
        return String(r.stdout.split(separator: "=").last ?? "").replacingOccurrences(of: ":", with: "")
            .trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
    }

    @Test func theSecondVMsServiceIsReachedOnlyOverMutualTLSAndRenewalReachesBothSides() throws {
        let topo = try Topology()
        defer { topo.delete() }
        let s = Scratch()
        let store = s.file("store"), stack = s.file("stack.yaml")
        let ns = topo.usesNamespaces
        // Inside fresh namespaces every port is free; on the shared loopback they are chosen.
        let httpPort = ns ? 80 : Loopback.freePort(), httpsPort = ns ? 443 : Loopback.freePort()
        let servicePort = ns ? 8000 : Loopback.freePort(), dnsPort = ns ? 5353 : Loopback.freePort()
        let mgmtPort = ns ? 8055 : Loopback.freePort()
        try FileManager.default.createDirectory(atPath: s.file("www"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: s.file("backend"), withIntermediateDirectories: true)
        try "hello from the AI service\n".write(toFile: s.file("backend/hello.txt"), atomically: true, encoding: .utf8)
        _ = s.write("stack.yaml", """
        domains:
          - name: example.com
            routes:
              - { path: /, service: ai, port: \(servicePort) }
        tls: { source: local }
        services:
          ai: { build: ./ai, host: \(topo.secondIP) }
        nginx: { certificates: \(store), webroot: \(s.file("www")), http_port: \(httpPort), https_port: \(httpsPort), resolver: "127.0.0.1:\(dnsPort)" }
        """)
        #expect(try certs("ca", "init", "--store", store).status == 0)
        #expect(try certs("ca", "issue", "--store", store, "example.com").status == 0)
        let hop = try certs("ca", "hop", "--stack", stack, "--store", store)
        #expect(hop.status == 0, "\(hop.stderr)")
        let emitFront = try certs("emit", "nginx", "--stack", stack, "--store", store, "--out", s.file("front"), "--nginx-version", installedNginxVersion)
        #expect(emitFront.status == 0, "\(emitFront.stderr)")
        let bundleArgs = ["emit", "bundle", "--stack", stack, "--store", store, "--host", topo.secondIP, "--out", s.file("bundle"),
                          "--mount", s.file("bundle/tls"), "--listen-address", topo.secondIP]
        let bundle = try certs(bundleArgs)
        #expect(bundle.status == 0, "\(bundle.stderr)")
        // Exactly what the second VM needs: no CA key, no client key, no public certificate.
        let shipped = try FileManager.default.subpathsOfDirectory(atPath: s.file("bundle")).filter { !$0.hasSuffix("/") }.sorted()
        #expect(shipped == ["conf.d", "conf.d/certs-hop.conf", "tls", "tls/hop-ai", "tls/hop-ai/fullchain.pem", "tls/hop-ai/privkey.pem", "tls/hop-ca.pem"])
        #expect(s.mode("bundle/tls/hop-ai/privkey.pem") == 0o600)
        #expect(!s.read("bundle/tls/hop-ca.pem").contains("PRIVATE KEY"))

        // The second VM: DNS (names → the backend's address), the backend on loopback only, the terminator.
        try FileManager.default.createDirectory(atPath: s.file("vm2"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: s.file("vm1"), withIntermediateDirectories: true)
        let dns = try topo.start(in: topo.second, ["/usr/bin/pebble-challtestsrv", "-dns01", "127.0.0.1:\(dnsPort)", "-http01", "", "-https01", "", "-tlsalpn01", "",
                                                   "-management", "127.0.0.1:\(mgmtPort)", "-defaultIPv4", topo.backendIP, "-defaultIPv6", ""], log: s.file("dns.log"))
        defer { dns.stop() }
        let backend = try topo.start(in: topo.second, ["/usr/bin/python3", "-m", "http.server", "\(servicePort)", "--bind", topo.backendIP, "--directory", s.file("backend")],
                                     log: s.file("backend.log"))
        defer { backend.stop() }
        let vm2Conf = s.write("vm2/nginx.conf", Self.mainConfig(s.file("vm2"), include: s.file("bundle/conf.d/*.conf"), accessLog: s.file("vm2/access.log")))
        let terminator = try topo.start(in: topo.second, ["/usr/sbin/nginx", "-c", vm2Conf, "-p", s.file("vm2"), "-g", "daemon off;"], log: s.file("vm2/stderr.log"))
        defer { terminator.stop() }
        let vm1Conf = s.write("vm1/nginx.conf", Self.mainConfig(s.file("vm1"), include: s.file("front/conf.d/*.conf")))
        let front = try topo.start(in: topo.front, ["/usr/sbin/nginx", "-c", vm1Conf, "-p", s.file("vm1"), "-g", "daemon off;"], log: s.file("vm1/stderr.log"))
        defer { front.stop() }
        #expect(try topo.waitForListener(in: topo.second, host: "127.0.0.1", port: mgmtPort))
        #expect(try topo.waitForListener(in: topo.second, host: topo.backendIP, port: servicePort))
        #expect(try topo.waitForListener(in: topo.second, host: topo.secondIP, port: servicePort), "\(s.read("vm2/nginx-error.log"))")
        #expect(try topo.waitForListener(in: topo.front, host: "127.0.0.1", port: httpsPort), "\(s.read("vm1/nginx-error.log"))")

        let root = "\(store)/ca/root.pem", hopRoot = "\(store)/hop-ca/root.pem"
        func viaFront() throws -> RunResult {
            try topo.exec(in: topo.front, "/usr/bin/curl", "-sS", "--max-time", "5", "--cacert", root, "--resolve", "example.com:\(httpsPort):127.0.0.1",
                         "https://example.com:\(httpsPort)/hello.txt")
        }
        func lastHopLog() -> [String] { s.read("vm2/access.log").split(separator: "\n").last.map { $0.split(separator: " ").map(String.init) } ?? [] }
        let clientSHA1 = { try Self.fingerprint(s.read("store/live/hop-client/cert.pem"), "sha1") }

        // 1. Through the front: the backend answers, over TLS 1.3 with the front's client certificate.
        let ok = try viaFront()
        #expect(ok.stdout == "hello from the AI service\n", "\(ok.stderr) \(s.read("vm1/nginx-error.log").suffix(800))")
        #expect(lastHopLog() == ["TLSv1.3", "SUCCESS", try clientSHA1(), "200"], "\(s.read("vm2/access.log"))")

        // 2. At the terminator, straight from the front VM: no client certificate, or one from another CA, is refused.
        let direct = ["-sS", "--max-time", "5", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", hopRoot,
                      "--resolve", "ai.internal:\(servicePort):\(topo.secondIP)", "https://ai.internal:\(servicePort)/hello.txt"]
        let anonymous = try topo.exec(in: topo.front, ["/usr/bin/curl"] + direct)
        #expect(anonymous.stdout == "400", "\(anonymous.stdout) \(anonymous.stderr)")
        let other = try OpenSSLChain.make(in: s)   // a client certificate (clientAuth) from an unrelated CA
        let foreign = try topo.exec(in: topo.front, ["/usr/bin/curl", "--cert", other.leaf, "--key", other.leafKey] + direct)
        #expect(foreign.stdout == "400", "\(foreign.stdout) \(foreign.stderr)")
        #expect(lastHopLog().dropFirst().first?.hasPrefix("FAILED") == true, "\(lastHopLog())")
        // Not even the hop CA's own server certificate passes as the front's: it is not for client authentication.
        let serverAsClient = try topo.exec(in: topo.front, ["/usr/bin/curl", "--cert", "\(store)/live/hop-ai/fullchain.pem",
                                                            "--key", "\(store)/live/hop-ai/privkey.pem"] + direct)
        #expect(serverAsClient.stdout == "400", "\(serverAsClient.stdout) \(serverAsClient.stderr)")
        // The hop client certificate itself does get through (the same request as the front's).
        let asFront = try topo.exec(in: topo.front, ["/usr/bin/curl", "--cert", "\(store)/live/hop-client/fullchain.pem",
                                                     "--key", "\(store)/live/hop-client/privkey.pem"] + direct)
        #expect(asFront.stdout == "200", "\(asFront.stdout) \(asFront.stderr)")

        // 3. The backend is not reachable on the private address except through the terminator.
        let plainHTTP = try topo.exec(in: topo.front, "/usr/bin/curl", "-sS", "--max-time", "5", "http://\(topo.secondIP):\(servicePort)/hello.txt")
        #expect(!plainHTTP.stdout.contains("hello from the AI service"))
        #expect(plainHTTP.stdout.contains("400"), "\(plainHTTP.stdout)")
        if ns {
            let backendPort = try topo.exec(in: topo.front, "/usr/bin/curl", "-sS", "--max-time", "2", "http://127.0.0.1:\(servicePort)/hello.txt")
            #expect(backendPort.status != 0)   // the front VM's own loopback: nothing there
        }

        // 4. certs renew --force of the internal certificates; the deploy hook re-emits the bundle and reloads both.
        let oldServer = try Self.fingerprint(s.read("store/live/hop-ai/cert.pem"), "sha256")
        let oldClient = try clientSHA1()
        let reload = { (nsName: String?, conf: String, dir: String) -> String in
            (nsName.map { "/usr/sbin/ip netns exec \($0) " } ?? "") + "/usr/sbin/nginx -s reload -c \(conf) -p \(dir)"
        }
        let hook = ([certsBinary] + bundleArgs + ["--force"]).map(shQuote).joined(separator: " ") + " >/dev/null && "
            + reload(topo.second, vm2Conf, s.file("vm2")) + " && " + reload(topo.front, vm1Conf, s.file("vm1"))
        let renew = try certs("renew", "hop-ai", "hop-client", "--force", "--store", store, "--no-probe", "--deploy-hook", hook)
        #expect(renew.status == 0, "\(renew.stdout) \(renew.stderr)")
        #expect(renew.stdout.contains("hop-ai: renewed") && renew.stdout.contains("hop-client: renewed"), "\(renew.stdout)")
        let newServer = try Self.fingerprint(s.read("store/live/hop-ai/cert.pem"), "sha256")
        let newClient = try clientSHA1()
        #expect(newServer != oldServer && newClient != oldClient)

        // Both sides serve the new ones once their workers have taken the reload (polled, 10 s at most).
        let deadline = Date().addingTimeInterval(10)
        var served = "", presented: [String] = []
        while Date() < deadline {
            let sc = try topo.exec(in: topo.front, "/usr/bin/openssl", "s_client", "-connect", "\(topo.secondIP):\(servicePort)", "-servername", "ai.internal",
                                  "-cert", "\(store)/live/hop-client/cert.pem", "-key", "\(store)/live/hop-client/privkey.pem")
            if let r = sc.stdout.range(of: "-----BEGIN CERTIFICATE-----[^-]*-----END CERTIFICATE-----", options: .regularExpression) {
                served = try Self.fingerprint(String(sc.stdout[r]), "sha256")
            }
            _ = try viaFront()
            presented = lastHopLog()
            if served == newServer && presented.count > 2 && presented[2] == newClient { break }
            usleep(100_000)
        }
        #expect(served == newServer, "the terminator still serves \(served), the store has \(newServer)")
        #expect(presented == ["TLSv1.3", "SUCCESS", newClient, "200"], "the front presented \(presented), the store has \(newClient)")
    }
}
