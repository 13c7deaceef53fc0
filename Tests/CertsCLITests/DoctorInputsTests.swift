import Foundation
import Testing

/// doctor reads what compose and nginx read: a service's `env_file:` contents, and nginx server
/// blocks written on one line. Each pitfall is planted, found, fixed as the finding says, and gone.
@Suite struct DoctorInputsTests {
    func upstreamFindings(_ t: DoctorTests.Tree) throws -> [[String: Any]] {
        try t.findings().findings.filter { $0["code"] as? String == "upstream-by-ip" }
    }

    @Test(arguments: ["    env_file: ./backend.env\n", "    env_file:\n      - path: ./backend.env\n        required: false\n"])
    func aContainerIPInAnEnvFileIsFoundAndItsPasswordsAreNotShown(entry: String) throws {
        let t = try DoctorTests.Tree()
        _ = t.scratch.write("backend.env", "# the backend's settings\nDB_PASSWORD=hunter2-not-shown\nexport DB_HOST=172.18.0.3\n")
        t.replace("compose.yaml", "    restart: unless-stopped\n", "    restart: unless-stopped\n" + entry)
        let found = try upstreamFindings(t)
        #expect(found.count == 1, "\(found)")
        let location = found.first?["location"] as? String ?? ""
        #expect(location.hasSuffix("backend.env:3 (env_file of services.backend)") || location.contains("backend.env:3 (env_file of services."), "\(location)")
        #expect((found.first?["message"] as? String)?.hasPrefix("DB_HOST names the container address 172.18.0.3") == true, "\(found)")
        #expect(!(try t.doctor().stdout).contains("hunter2"), "doctor printed an env file's password")

        // The fix: the service name on the shared network instead of the address.
        t.replace("backend.env", "172.18.0.3", "db")
        #expect(try upstreamFindings(t).isEmpty)
    }

    @Test func aMissingEnvFileIsNotAFinding() throws {
        let t = try DoctorTests.Tree()
        t.replace("compose.yaml", "    restart: unless-stopped\n", "    restart: unless-stopped\n    env_file: [./absent.env]\n")
        #expect(try upstreamFindings(t).isEmpty)
    }

    @Test func aContainerIPInAOneLineServerBlockIsFound() throws {
        let t = try DoctorTests.Tree()
        _ = t.scratch.write("nginx/conf.d/extra.conf",
                            "server { listen 8443 ssl; server_name extra.example.com; ssl_certificate /etc/certs/x.pem; location / { proxy_pass http://172.18.0.7:80; } }\n")
        let found = try upstreamFindings(t)
        #expect(found.count == 1, "\(found)")
        #expect((found.first?["location"] as? String)?.hasSuffix("extra.conf:1") == true, "\(found)")

        t.replace("nginx/conf.d/extra.conf", "http://172.18.0.7:80", "http://backend:80")
        #expect(try upstreamFindings(t).isEmpty)
    }

    @Test func aOneLineUpstreamBlockIsFound() throws {
        let t = try DoctorTests.Tree()
        _ = t.scratch.write("nginx/conf.d/pool.conf", "upstream pool { server 172.18.0.9:8080; server backend:8080; }\n")
        let found = try upstreamFindings(t)
        #expect(found.count == 1 && (found.first?["location"] as? String)?.hasSuffix("pool.conf:1") == true, "\(found)")
    }
}
