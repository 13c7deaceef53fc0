import Foundation
import Testing
@testable import CertsCore

@Suite struct StackFileTests {
    static let example = """
    domains:
      - name: example.com
        aliases: [www.example.com]
        routes:
          - { path: /,     service: backend, port: 8080 }
          - { path: /ai/,  service: ai, port: 8000, websocket: true }
    tls: { profile: modern, source: acme, email: ops@example.com }
    services:
      backend: { build: ./backend }
      ai:      { build: ./ai, host: 10.0.2.15 }
      db:      { image: mysql:8.4, init: ./db/init.sql }
    """

    func parse(_ text: String) throws -> Stack { try Stack.parse(Array(text.utf8), source: "stack.yaml") }

    func failure(_ text: String) -> StackError? {
        do { _ = try parse(text); return nil } catch let e as StackError { return e } catch { return nil }
    }

    @Test func theDesignExampleParsesIntoDomainsRoutesAndServices() throws {
        let s = try parse(Self.example)
        #expect(s.domains.map(\.allNames) == [["example.com", "www.example.com"]])
        #expect(s.domains[0].routes.map(\.path) == ["/", "/ai/"])
        #expect(s.domains[0].routes[1].websocket)
        #expect(s.domains[0].routes[1].timeout == 3600)
        #expect(s.domains[0].routes[0].timeout == 60)
        #expect(s.tls.profile == .modern)
        #expect(s.tls.email == "ops@example.com")
        #expect(s.service(named: "ai")?.host == "10.0.2.15")
        #expect(s.service(named: "db")?.initScript == "./db/init.sql")
    }

    @Test func unknownKeyIsAnErrorWithItsLineColumnAndASuggestion() {
        let e = failure(Self.example.replacingOccurrences(of: "aliases:", with: "alias:"))
        #expect(e?.mark == YAMLNode.Mark(line: 3, column: 5))
        #expect(e?.description.contains("unknown key \"alias\"") == true)
        #expect(e?.description.contains("did you mean aliases?") == true)
    }

    @Test func routeToAnUndefinedServiceNamesTheKnownServices() {
        let e = failure(Self.example.replacingOccurrences(of: "service: backend", with: "service: backnd"))
        #expect(e?.description.contains("unknown service \"backnd\"") == true)
        #expect(e?.description.contains("backend, ai, db") == true)
        #expect(e?.mark?.line == 5)
    }

    @Test func wrongTypesAreNamed() {
        #expect(failure(Self.example.replacingOccurrences(of: "port: 8080", with: "port: eighty"))?.description.contains("whole number") == true)
        #expect(failure(Self.example.replacingOccurrences(of: "port: 8080", with: "port: 70000"))?.description.contains("between 1 and 65535") == true)
        #expect(failure(Self.example.replacingOccurrences(of: "websocket: true", with: "websocket: maybe"))?.description.contains("true or false") == true)
        #expect(failure(Self.example.replacingOccurrences(of: "profile: modern", with: "profile: ancient"))?.description.contains("modern, intermediate, legacy") == true)
        #expect(failure("domains: 3")?.description.contains("must be a list") == true)
        #expect(failure(Self.example.replacingOccurrences(of: "host: 10.0.2.15", with: "host: vm2"))?.description.contains("private IP address") == true)
    }

    @Test func invalidDomainNamesAndDuplicatesAreRejected() {
        #expect(failure(Self.example.replacingOccurrences(of: "name: example.com", with: "name: exa_mple..com")) != nil)
        #expect(failure(Self.example.replacingOccurrences(of: "[www.example.com]", with: "[example.com]"))?.description.contains("more than one domain") == true)
    }

    @Test func pathsThatWouldInjectNginxSyntaxAreRejected() {
        let e = failure(Self.example.replacingOccurrences(of: "path: /ai/", with: "path: \"/ai/; }\""))
        #expect(e?.description.contains("path must start with /") == true)
    }

    @Test func syntaxErrorsCarryTheirPosition() {
        let e = failure("domains:\n  - name: [unclosed\n")
        #expect(e?.description.hasPrefix("stack.yaml:") == true)
        #expect(e?.description.contains("YAML syntax") == true)
    }

    @Test func anAliasBombIsRefusedInsteadOfExpanded() {
        var yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for i in 1..<9 { yaml += "a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 10).joined(separator: ", ") + "]\n" }
        #expect(failure(yaml)?.description.contains("more than 100000 nodes") == true)
    }

    @Test func deepNestingIsRefused() {
        let yaml = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        #expect(failure(yaml)?.description.contains("nested deeper") == true)
    }

    @Test func resolverTakesAnAddressWithAnOptionalPort() throws {
        func resolver(_ v: String) throws -> String {
            try parse(Self.example + "\nnginx: { resolver: \"\(v)\" }\n").nginx.resolver
        }
        #expect(try resolver("127.0.0.11") == "127.0.0.11")
        #expect(try resolver("127.0.0.1:5353") == "127.0.0.1:5353")
        #expect(try resolver("[::1]:53") == "[::1]:53")
        #expect(try resolver("::1") == "[::1]")
        #expect(failure(Self.example + "\nnginx: { resolver: \"dns.google\" }\n")?.description.contains("resolver must be an IP address") == true)
        #expect(failure(Self.example + "\nnginx: { resolver: \"127.0.0.1:99999\" }\n") != nil)
    }

    @Test func hstsPreloadFollowsThePreloadListRules() {
        let bad = Self.example.replacingOccurrences(of: "tls: { profile: modern, source: acme, email: ops@example.com }",
                                                   with: "tls: { hsts: { preload: true } }")
        #expect(failure(bad)?.description.contains("include_subdomains") == true)
    }
}

@Suite struct NginxEmitterTests {
    func stack(_ profile: String = "intermediate") throws -> Stack {
        try Stack.parse(Array(StackFileTests.example.replacingOccurrences(of: "profile: modern", with: "profile: \(profile)").utf8), source: "s")
    }

    func domainFile(_ e: NginxEmitter) -> String { e.files().first { $0.path == "conf.d/example.com.conf" }!.contents }

    @Test func outputIsByteIdenticalOnRerun() throws {
        let a = NginxEmitter(stack: try stack()).files()
        let b = NginxEmitter(stack: try stack()).files()
        #expect(a.map(\.path) == b.map(\.path))
        #expect(a.map(\.contents) == b.map(\.contents))
    }

    @Test func httpServerServesTheChallengePathAndRedirectsTheRest() throws {
        let conf = domainFile(NginxEmitter(stack: try stack()))
        #expect(conf.contains("location ^~ /.well-known/acme-challenge/ {\n        root /var/www/acme;"))
        #expect(conf.contains("return 301 https://$host$request_uri;"))
        #expect(conf.contains("listen [::]:443 ssl;"))
        #expect(conf.contains("server_name example.com www.example.com;"))
        #expect(conf.contains("ssl_certificate     /etc/certs/live/example.com/fullchain.pem;"))
    }

    @Test func profilesFollowMozillasGuideline() throws {
        let modern = domainFile(NginxEmitter(stack: try stack("modern")))
        #expect(modern.contains("ssl_protocols TLSv1.3;"))
        #expect(!modern.contains("ssl_ciphers"))
        let intermediate = domainFile(NginxEmitter(stack: try stack("intermediate")))
        #expect(intermediate.contains("ssl_protocols TLSv1.2 TLSv1.3;"))
        #expect(intermediate.contains("ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:"))
        #expect(!intermediate.split(separator: ":").contains { $0.hasPrefix("DHE-") || $0.hasSuffix(" DHE-RSA-AES128-GCM-SHA256") })
        let legacy = domainFile(NginxEmitter(stack: try stack("legacy")))
        #expect(legacy.contains("ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;"))
        #expect(legacy.contains("ssl_prefer_server_ciphers on;"))
        #expect(legacy.contains("# legacy: NOT Mozilla guideline 6.0"))
    }

    @Test func postQuantumGroupOnlyWhenTheTargetSupportsIt() throws {
        let plain = domainFile(NginxEmitter(stack: try stack()))
        #expect(!plain.contains("MLKEM"))
        let pq = NginxEmitter(stack: try stack(), target: .init(openSSLVersion: SoftwareVersion(3, 5, 0)))
        #expect(domainFile(pq).contains("ssl_ecdh_curve X25519MLKEM768:X25519:prime256v1:secp384r1;"))
    }

    @Test func http2SyntaxFollowsTheNginxVersion() throws {
        let new = domainFile(NginxEmitter(stack: try stack(), target: .init(nginxVersion: SoftwareVersion(1, 27, 0))))
        #expect(new.contains("    http2 on;\n"))
        let old = domainFile(NginxEmitter(stack: try stack(), target: .init(nginxVersion: SoftwareVersion(1, 22, 1))))
        #expect(old.contains("listen 443 ssl http2;"))
        #expect(!old.contains("http2 on;"))
    }

    @Test func localServicesAreResolvedPerRequestAndRemoteOnesByAddress() throws {
        let e = NginxEmitter(stack: try stack())
        let conf = domainFile(e)
        #expect(conf.contains("set $certs_upstream http://backend:8080;\n        proxy_pass $certs_upstream;"))
        #expect(conf.contains("proxy_pass https://certs_ai_8000;"))
        let common = e.files()[0].contents
        #expect(common.contains("resolver 127.0.0.11 valid=10s"))
        #expect(common.contains("server 10.0.2.15:8000;"))
    }

    @Test func websocketRoutesUpgradeAndOthersKeepAlive() throws {
        let conf = domainFile(NginxEmitter(stack: try stack()))
        let ai = conf.components(after: "location /ai/ {")
        #expect(ai.contains("proxy_set_header Upgrade $http_upgrade;"))
        #expect(ai.contains("proxy_read_timeout 3600s;"))
        let root = conf.components(after: "location / {\n        set")
        #expect(root.contains("proxy_set_header Connection \"\";"))
        #expect(conf.contains("proxy_set_header X-Forwarded-Proto $scheme;"))
    }

    /// A service on another VM is reached over the mutual-TLS hop unless `tls: plain`.
    @Test func servicesOnAnotherVMAreReachedOverMutualTLSWithKeepalive() throws {
        let e = NginxEmitter(stack: try stack())
        let ai = domainFile(e).components(after: "location /ai/ {")
        for line in ["proxy_pass https://certs_ai_8000;",
                     "proxy_ssl_certificate     /etc/certs/live/hop-client/fullchain.pem;",
                     "proxy_ssl_certificate_key /etc/certs/live/hop-client/privkey.pem;",
                     "proxy_ssl_trusted_certificate /etc/certs/hop-ca/root.pem;",
                     "proxy_ssl_verify on;", "proxy_ssl_name ai.internal;", "proxy_ssl_server_name on;",
                     "proxy_ssl_protocols TLSv1.3;", "proxy_ssl_session_reuse on;"] {
            #expect(ai.contains(line), "\(line)")
        }
        #expect(e.files()[0].contents.contains("server 10.0.2.15:8000;\n    keepalive 16;"))
        let plain = try Stack.parse(Array(StackFileTests.example.replacingOccurrences(of: "host: 10.0.2.15 }", with: "host: 10.0.2.15, tls: plain, tls_name: ai.corp.test }").utf8), source: "s")
        #expect(plain.service(named: "ai")?.usesHop == false)
        let plainConf = domainFile(NginxEmitter(stack: plain))
        #expect(plainConf.contains("proxy_pass http://certs_ai_8000;"))
        #expect(!plainConf.contains("proxy_ssl"))
        let named = try Stack.parse(Array(StackFileTests.example.replacingOccurrences(of: "host: 10.0.2.15 }", with: "host: 10.0.2.15, tls_name: ai.corp.test }").utf8), source: "s")
        #expect(domainFile(NginxEmitter(stack: named)).contains("proxy_ssl_name ai.corp.test;"))
        #expect(HopPKI.entries(for: named).map(\.names) == [["ai.corp.test", "10.0.2.15"], [HopPKI.clientIdentity]])
        #expect(throws: StackError.self) { try Stack.parse(Array(StackFileTests.example.replacingOccurrences(of: "backend: { build: ./backend }", with: "backend: { build: ./backend, tls: plain }").utf8), source: "s") }
    }

    /// The second VM's compose file: a terminator on the private address; the service publishes nothing.
    @Test func theOtherVMsComposeFileHasATerminatorAndTheServicePublishesNothing() throws {
        let text = try ComposeEmitter(stack: try stack(), host: "10.0.2.15").contents()
        let ai = text.components(separatedBy: "  certs-hop:")[0]
        #expect(!ai.contains("ports:"), "\(ai)")
        let terminator = text.components(separatedBy: "  certs-hop:")[1]
        #expect(terminator.contains("- \"10.0.2.15:8000:8000\""))
        #expect(terminator.contains("networks:\n      - certs"))
        #expect(terminator.contains("./hop/10.0.2.15/tls:/etc/certs-hop:ro"))
        let conf = try HopBundleEmitter(stack: try stack(), host: "10.0.2.15").terminatorConfig()
        for line in ["listen 8000 ssl;", "ssl_verify_client on;", "ssl_client_certificate /etc/certs-hop/hop-ca.pem;",
                     "ssl_protocols TLSv1.3;", "set $certs_hop_upstream http://ai:8000;", "server_name ai.internal 10.0.2.15;"] {
            #expect(conf.contains(line), "\(line)")
        }
        let files = try HopBundleEmitter(stack: try stack(), host: "10.0.2.15")
            .files(.init(caRoot: Array("ROOT".utf8), servers: ["ai": (Array("CHAIN".utf8), Array("KEY".utf8))]))
        #expect(files.map(\.path) == ["conf.d/certs-hop.conf", "tls/hop-ca.pem", "tls/hop-ai/fullchain.pem", "tls/hop-ai/privkey.pem"])
        #expect(files.map(\.mode) == [0o644, 0o644, 0o644, 0o600])
    }

    @Test func staplingOnlyForCertificatesWithAnOCSPURL() throws {
        let without = domainFile(NginxEmitter(stack: try stack()))
        let with = domainFile(NginxEmitter(stack: try stack(), ocspCertificates: ["example.com"]))
        #expect(!without.contains("ssl_stapling"))
        #expect(with.contains("ssl_stapling on;"))
    }
}

extension String {
    /// The text after the first occurrence of `marker` up to the next closing brace at 4 spaces.
    func components(after marker: String) -> String {
        guard let r = range(of: marker) else { return "" }
        let rest = self[r.upperBound...]
        guard let end = rest.range(of: "\n    }") else { return String(rest) }
        return String(rest[..<end.lowerBound])
    }
}
