import Foundation
import Testing

/// Whether a validator from PyPI is on PATH (scripts/setup installs it; CI always has it).
func pipelineToolAvailable(_ name: String) -> Bool {
    (try? shell("command -v \(name)"))?.status == 0
}

/// Loads a YAML file (or every document of a multi-document file) through PyYAML, independent of
/// the tool's own writer, as Foundation JSON values.
func pipelineYAML(_ path: String, allDocuments: Bool = false, sourceLocation: SourceLocation = #_sourceLocation) throws -> Any {
    let script = allDocuments
        ? "import sys, json, yaml; print(json.dumps([d for d in yaml.safe_load_all(open(sys.argv[1])) if d is not None]))"
        : "import sys, json, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))"
    let r = try run("/usr/bin/env", ["python3", "-c", script, path])
    #expect(r.status == 0, "PyYAML could not read \(path): \(r.stderr)", sourceLocation: sourceLocation)
    return try JSONSerialization.jsonObject(with: Data(r.stdout.utf8))
}

/// The repository's examples/ directory.
let examplesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("examples").path

/// `certs emit compose` on the example stack and on a stack with health checks and env files.
@Suite struct EmitComposeTests {
    /// A copy of the example stack (and its db/init.sql) in a scratch directory.
    static func exampleTree(_ s: Scratch) throws -> String {
        try FileManager.default.createDirectory(atPath: s.file("db"), withIntermediateDirectories: true)
        _ = s.write("stack.yaml", try String(contentsOfFile: "\(examplesDirectory)/stack.yaml", encoding: .utf8))
        _ = s.write("db/init.sql", try String(contentsOfFile: "\(examplesDirectory)/db/init.sql", encoding: .utf8))
        return s.file("stack.yaml")
    }

    static let healthStack = """
    domains:
      - name: example.com
        routes:
          - { path: /,    service: backend, port: 8080 }
          - { path: /ai/, service: ai, port: 8000, websocket: true }
    services:
      backend: { build: ./backend, healthcheck: "curl -fsS http://127.0.0.1:8080/health", env_file: ./backend.env }
      ai:      { build: ./ai }
      db:      { image: "mysql:8.4", init: ./db/init.sql }
    """

    func compose(_ s: Scratch, _ file: String = "compose.yaml") throws -> [String: Any] {
        try #require(try pipelineYAML(s.file(file)) as? [String: Any])
    }

    @Test(.enabled(if: pipelineToolAvailable("check-jsonschema"), "check-jsonschema is not installed (pip install check-jsonschema)"))
    func mainAndPerHostComposeFilesPassTheComposeSpecSchema() throws {
        let s = Scratch()
        let stack = try Self.exampleTree(s)
        let main = try certs("emit", "compose", "--stack", stack)
        #expect(main.status == 0, "\(main.stderr)")
        let other = try certs("emit", "compose", "--stack", stack, "--host", "10.0.2.15")
        #expect(other.status == 0, "\(other.stderr)")
        #expect(s.exists("compose.yaml") && s.exists("compose.10.0.2.15.yaml"))
        let r = try run("/usr/bin/env", ["check-jsonschema", "--builtin-schema", "vendor.compose-spec", s.file("compose.yaml"), s.file("compose.10.0.2.15.yaml")])
        #expect(r.status == 0, "check-jsonschema: \(r.stdout) \(r.stderr)")
    }

    @Test func everyServiceIsOnTheSharedUserDefinedNetwork() throws {
        let s = Scratch()
        _ = s.write("stack.yaml", Self.healthStack)
        #expect(try certs("emit", "compose", "--stack", s.file("stack.yaml")).status == 0)
        let doc = try compose(s)
        let services = try #require(doc["services"] as? [String: Any])
        #expect(Set(services.keys) == ["backend", "ai", "db", "nginx"])
        for (name, value) in services {
            let svc = try #require(value as? [String: Any])
            #expect(svc["networks"] as? [String] == ["certs"], "\(name) is not on the shared network")
            #expect(svc["restart"] as? String == "unless-stopped", "\(name)")
            #expect(svc["network_mode"] == nil)
        }
        let networks = try #require(doc["networks"] as? [String: Any])
        let certsNet = try #require(networks["certs"] as? [String: Any])
        #expect(certsNet["driver"] as? String == "bridge")
    }

    @Test func nginxPublishes80And443AndMountsTheStoreAndWebrootReadOnly() throws {
        let s = Scratch()
        _ = s.write("stack.yaml", Self.healthStack)
        #expect(try certs("emit", "compose", "--stack", s.file("stack.yaml"), "--store-path", "/srv/certs").status == 0)
        let nginx = try #require((try compose(s)["services"] as? [String: Any])?["nginx"] as? [String: Any])
        #expect(nginx["ports"] as? [String] == ["80:80", "443:443"])
        let volumes = try #require(nginx["volumes"] as? [String])
        #expect(volumes.contains("/srv/certs:/etc/certs:ro"))
        #expect(volumes.contains("./acme-webroot:/var/www/acme:ro"))
        #expect(volumes.allSatisfy { $0.hasSuffix(":ro") }, "\(volumes)")
    }

    @Test func nginxWaitsForHealthyServicesAndServicesGetHealthchecksAndEnvFiles() throws {
        let s = Scratch()
        _ = s.write("stack.yaml", Self.healthStack)
        #expect(try certs("emit", "compose", "--stack", s.file("stack.yaml")).status == 0)
        let services = try #require(try compose(s)["services"] as? [String: Any])
        let nginx = try #require(services["nginx"] as? [String: Any])
        let depends = try #require(nginx["depends_on"] as? [String: [String: String]])
        #expect(depends["backend"]?["condition"] == "service_healthy")
        #expect(depends["ai"]?["condition"] == "service_started")  // no health check known for it
        let backend = try #require(services["backend"] as? [String: Any])
        #expect(backend["env_file"] as? [String] == ["./backend.env"])
        #expect(backend["build"] as? String == "./backend")
        #expect((backend["image"] as? String)?.hasSuffix("/backend:${CERTS_TAG:-latest}") == true)
        let health = try #require(backend["healthcheck"] as? [String: Any])
        #expect(health["test"] as? [String] == ["CMD-SHELL", "curl -fsS http://127.0.0.1:8080/health"])
        let db = try #require(services["db"] as? [String: Any])
        #expect(((db["healthcheck"] as? [String: Any])?["test"] as? [String])?.last?.contains("mysqladmin ping") == true)
    }

    @Test func theDatabaseInitScriptIsMountedReadOnlyWithAModeNote() throws {
        let s = Scratch()
        _ = s.write("stack.yaml", Self.healthStack)
        #expect(try certs("emit", "compose", "--stack", s.file("stack.yaml")).status == 0)
        let db = try #require((try compose(s)["services"] as? [String: Any])?["db"] as? [String: Any])
        #expect(db["volumes"] as? [String] == ["./db/init.sql:/docker-entrypoint-initdb.d/init.sql:ro"])
        #expect(s.read("compose.yaml").contains("chmod 0644 ./db/init.sql"))
    }

    @Test func aServiceOnAnotherVMIsOnlyInThatHostsFileAndNginxReachesItByAddress() throws {
        let s = Scratch()
        let stack = try Self.exampleTree(s)
        #expect(try certs("emit", "compose", "--stack", stack).status == 0)
        #expect(try certs("emit", "compose", "--stack", stack, "--host", "10.0.2.15").status == 0)
        let main = try #require(try compose(s)["services"] as? [String: Any])
        #expect(main["ai"] == nil)
        #expect(main["backend"] != nil && main["db"] != nil && main["nginx"] != nil)
        #expect(((main["nginx"] as? [String: Any])?["depends_on"] as? [String: Any])?["ai"] == nil)
        let other = try #require(try compose(s, "compose.10.0.2.15.yaml")["services"] as? [String: Any])
        // The hop is mutual TLS by default: the terminator publishes on the private address, the service nothing.
        #expect(Set(other.keys) == ["ai", "certs-hop"])
        let ai = try #require(other["ai"] as? [String: Any])
        #expect(ai["ports"] == nil)
        #expect(ai["networks"] as? [String] == ["certs"])
        let terminator = try #require(other["certs-hop"] as? [String: Any])
        #expect(terminator["ports"] as? [String] == ["10.0.2.15:8000:8000"])
        #expect(terminator["networks"] as? [String] == ["certs"])
        // The nginx emitted from the same stack proxies to that address and port.
        #expect(try certs("emit", "nginx", "--stack", stack, "--out", s.file("nginx"), "--store", s.file("store")).status == 0)
        let common = s.read("nginx/conf.d/00-certs-common.conf")
        #expect(common.contains("server 10.0.2.15:8000;"), "\(common)")
    }

    @Test func rerunningIsByteIdenticalAndAForeignFileIsNotReplaced() throws {
        let s = Scratch()
        let stack = try Self.exampleTree(s)
        #expect(try certs("emit", "compose", "--stack", stack).status == 0)
        let first = s.bytes("compose.yaml")
        #expect(try certs("emit", "compose", "--stack", stack).status == 0)
        #expect(s.bytes("compose.yaml") == first && !first.isEmpty)
        #expect(s.mode("compose.yaml") == 0o644)
        _ = s.write("compose.yaml", "services: {}\n")
        expectOneLineError(try certs("emit", "compose", "--stack", stack), exit: 3, mentioning: "already exists")
        #expect(try certs("emit", "compose", "--stack", stack, "--force").status == 0)
        #expect(s.bytes("compose.yaml") == first)
    }

    @Test func anUnknownHostIsBadInput() throws {
        let s = Scratch()
        let stack = try Self.exampleTree(s)
        expectOneLineError(try certs("emit", "compose", "--stack", stack, "--host", "10.9.9.9"), exit: 2, mentioning: "10.0.2.15")
        expectOneLineError(try certs("emit", "compose", "--stack", stack, "--host", "not-an-ip"), exit: 2, mentioning: "--host")
        #expect(!s.exists("compose.10.9.9.9.yaml"))
    }

    @Test func awkwardStringsSurviveTheYAMLWriterExactly() throws {
        let s = Scratch()
        let check = #"test "$(cat /tmp/x)" = 'a: b' # not a comment \ yes"#
        _ = s.write("stack.yaml", """
        domains:
          - name: example.com
            routes: [{ path: /, service: backend, port: 8080 }]
        services:
          backend: { build: ./backend, healthcheck: '\(check.replacing("'", with: "''"))' }
        """)
        let r = try certs("emit", "compose", "--stack", s.file("stack.yaml"))
        #expect(r.status == 0, "\(r.stderr)")
        let backend = try #require((try compose(s)["services"] as? [String: Any])?["backend"] as? [String: Any])
        #expect(((backend["healthcheck"] as? [String: Any])?["test"] as? [String]) == ["CMD-SHELL", check])
    }
}
