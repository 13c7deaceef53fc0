import Foundation
import Testing
@testable import CertsCore

/// The emitted TLS directives against Mozilla's published guideline 6.0 JSON (a copy of
/// ssl-config.mozilla.org/guidelines/6.0.json in Tests/Fixtures), for the nginx and OpenSSL
/// versions users actually run.
@Suite struct MozillaGuidelineTests {
    nonisolated(unsafe) static let guideline: [String: Any] = {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/mozilla/guidelines-6.0.json").path
        let data = try! Data(contentsOf: URL(fileURLWithPath: path))
        return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    }()

    static func configuration(_ name: String) -> [String: Any] {
        (guideline["configurations"] as! [String: Any])[name] as! [String: Any]
    }

    /// (nginx, OpenSSL) as shipped: Debian 11/12, Ubuntu 22.04/24.04/26.04, nginx.org images.
    static let matrix: [(String, String)] = [
        ("1.18.0", "1.1.1"), ("1.22.1", "3.0.2"), ("1.24.0", "3.0.13"), ("1.25.1", "3.4.1"),
        ("1.27.4", "3.5.0"), ("1.28.0", "3.5.4"), ("1.29.1", "3.6.0"), ("1.29.1", "4.0.0"),
    ]

    static func stack(_ profile: String) throws -> Stack {
        try Stack.parse(Array("""
        domains:
          - name: example.com
            routes: [{ path: /, service: web, port: 8080 }]
        tls: { profile: \(profile) }
        services:
          web: { image: nginx }
        """.utf8), source: "stack.yaml")
    }

    /// The value of a directive in the domain's server block, nil when absent.
    static func directive(_ name: String, in conf: String) -> String? {
        for line in conf.split(separator: "\n") {
            let t = line.trimmingCharacters(in: .whitespaces)
            if t.hasPrefix(name + " ") { return String(t.dropFirst(name.count + 1).dropLast()) }
        }
        return nil
    }

    @Test(arguments: ["modern", "intermediate"])
    func protocolsCiphersAndGroupsAreTheGuidelinesForEveryTargetVersion(profile: String) throws {
        let c = Self.configuration(profile)
        let versions = c["tls_versions"] as! [String]
        let ciphers = (c["ciphers"] as! [String: Any])["openssl"] as! [String]
        let curves = c["tls_curves"] as! [String]
        #expect(curves.first == "X25519MLKEM768")
        for (nginx, openssl) in Self.matrix {
            let target = NginxEmitter.Target(nginxVersion: SoftwareVersion(parsing: nginx)!, openSSLVersion: SoftwareVersion(parsing: openssl)!)
            let conf = NginxEmitter(stack: try Self.stack(profile), target: target).files().first { $0.path == "conf.d/example.com.conf" }!.contents
            let label = "nginx \(nginx) / OpenSSL \(openssl) / \(profile)"
            #expect(Self.directive("ssl_protocols", in: conf) == versions.joined(separator: " "), "\(label)")
            if ciphers.isEmpty {
                #expect(Self.directive("ssl_ciphers", in: conf) == nil, "\(label)")
            } else {
                #expect(Self.directive("ssl_ciphers", in: conf) == ciphers.joined(separator: ":"), "\(label)")
            }
            // X25519MLKEM768 first from OpenSSL 3.5 on, and nowhere before (nginx would not start).
            let pq = SoftwareVersion(parsing: openssl)! >= SoftwareVersion(3, 5, 0)
            let expected = pq ? curves : curves.filter { $0 != "X25519MLKEM768" }
            #expect(Self.directive("ssl_ecdh_curve", in: conf) == expected.joined(separator: ":"), "\(label)")
            #expect(Self.directive("ssl_prefer_server_ciphers", in: conf) == ((c["server_preferred_order"] as! Bool) ? "on" : "off"), "\(label)")
            // http2 syntax by nginx version.
            let http2On = SoftwareVersion(parsing: nginx)! >= SoftwareVersion(1, 25, 1)
            #expect(conf.contains("    http2 on;\n") == http2On, "\(label)")
            #expect(conf.contains("# Mozilla \(profile) (guideline 6.0, for OpenSSL "), "\(label)")
        }
    }

    @Test func theConstantsAreThePublishedData() {
        for (name, ours) in [("modern", MozillaGuideline.modern), ("intermediate", MozillaGuideline.intermediate)] {
            let c = Self.configuration(name)
            #expect(ours.protocols == c["tls_versions"] as! [String])
            #expect(ours.ciphers == (c["ciphers"] as! [String: Any])["openssl"] as! [String])
            #expect(ours.ciphersuites == c["ciphersuites"] as! [String])
            #expect(ours.groups == c["tls_curves"] as! [String])
            #expect(ours.serverPreferredOrder == c["server_preferred_order"] as! Bool)
            #expect(ours.hstsMinAge == c["hsts_min_age"] as! Int)
        }
        #expect((Self.guideline["configurations"] as! [String: Any]).keys.sorted() == ["intermediate", "modern"])
    }

    @Test func aStackAskingForOldIsToldThatGuideline6HasNoOldProfile() {
        #expect(throws: StackError.self) { try Self.stack("old") }
        do { _ = try Self.stack("old") } catch {
            #expect("\(error)".contains("stack.yaml:4:"))
            #expect("\(error)".contains("not in Mozilla guideline 6.0"))
            #expect("\(error)".contains("legacy"))
        }
    }

    @Test func nginxDashVIsParsedForTheVersionsThatDecideTheConfig() {
        let debian = """
        nginx version: nginx/1.22.1
        built with OpenSSL 3.0.22 25 Aug 2026
        TLS SNI support enabled
        configure arguments: --with-cc-opt='-g -O2' --with-http_ssl_module
        """
        #expect(NginxBuild.parse(debian) == NginxBuild(nginx: SoftwareVersion(1, 22, 1), openSSL: SoftwareVersion(3, 0, 22)))
        let upgraded = "nginx version: nginx/1.27.4 (Ubuntu)\nbuilt with OpenSSL 3.0.2 15 Mar 2022 (running with OpenSSL 3.5.1 1 Jul 2025)\n"
        #expect(NginxBuild.parse(upgraded) == NginxBuild(nginx: SoftwareVersion(1, 27, 4), openSSL: SoftwareVersion(3, 5, 1)))
        let target = NginxEmitter.Target(build: NginxBuild.parse(upgraded)!)
        #expect(target.postQuantumKeyExchange)
        let old = "nginx version: nginx/1.18.0\nbuilt with OpenSSL 1.1.1w  11 Sep 2023\n"
        #expect(NginxBuild.parse(old)?.openSSL == SoftwareVersion(1, 1, 1))
        let boring = "nginx version: nginx/1.25.3\nbuilt with BoringSSL\n"
        #expect(NginxBuild.parse(boring) == NginxBuild(nginx: SoftwareVersion(1, 25, 3), openSSL: nil))
        #expect(NginxBuild.parse("bash: nginx: command not found") == nil)
    }

    @Test func theLocalNginxVIsUnderstood() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/nginx")
        p.arguments = ["-V"]
        let pipe = Pipe()
        p.standardError = pipe
        p.standardOutput = pipe
        try p.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        let build = try #require(NginxBuild.parse(text), "\(text)")
        #expect(text.contains("nginx/\(build.nginx.major).\(build.nginx.minor).\(build.nginx.patch)"))
        #expect(build.openSSL != nil)
    }
}
