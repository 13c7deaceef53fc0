import Foundation
import Testing

/// `certs emit k8s`: manifests kubernetes-validate accepts in strict mode, TLS Secrets that hold
/// exactly the store's files (and only in the 0600 file), and the stack's routes in the Ingress.
@Suite struct EmitK8sTests {
    struct Tree {
        let scratch = Scratch()
        var stack: String { scratch.file("stack.yaml") }
        var store: String { scratch.file("certs") }
        var out: String { scratch.file("k8s") }

        init() throws {
            _ = try EmitComposeTests.exampleTree(scratch)
            #expect(try certs("ca", "init", "--store", store).status == 0)
            #expect(try certs("ca", "issue", "--store", store, "example.com", "www.example.com").status == 0)
            #expect(try certs("ca", "issue", "--store", store, "api.example.com").status == 0)
        }

        func emit(_ extra: String...) throws -> RunResult {
            try certs(["emit", "k8s", "--stack", stack, "--store", store, "--out", out] + extra)
        }

        func documents(_ file: String) throws -> [[String: Any]] {
            try #require(try pipelineYAML("\(out)/\(file)", allDocuments: true) as? [[String: Any]])
        }
    }

    static func kind(_ docs: [[String: Any]], _ kind: String) -> [[String: Any]] { docs.filter { $0["kind"] as? String == kind } }

    @Test(.enabled(if: pipelineToolAvailable("kubernetes-validate"), "kubernetes-validate is not installed (pip install kubernetes-validate)"))
    func manifestsPassKubernetesValidateStrict() throws {
        let t = try Tree()
        let r = try t.emit()
        #expect(r.status == 0, "\(r.stderr)")
        let v = try run("/usr/bin/env", ["kubernetes-validate", "--strict", "\(t.out)/stack.yaml", "\(t.out)/tls-secrets.yaml"])
        #expect(v.status == 0, "kubernetes-validate: \(v.stdout) \(v.stderr)")
        #expect(!v.stdout.contains("ERROR") && !v.stderr.contains("ERROR"))
    }

    @Test func theTLSSecretHoldsTheStoresFullchainAndKeyOnlyInA0600File() throws {
        let t = try Tree()
        #expect(try t.emit().status == 0)
        #expect(t.scratch.mode("k8s/tls-secrets.yaml") == 0o600)
        #expect(t.scratch.mode("k8s/stack.yaml") == 0o644)
        let secrets = Self.kind(try t.documents("tls-secrets.yaml"), "Secret")
        #expect(secrets.count == 2)
        let secret = try #require(secrets.first { ($0["metadata"] as? [String: Any])?["name"] as? String == "example.com-tls" })
        #expect(secret["type"] as? String == "kubernetes.io/tls")
        let data = try #require(secret["data"] as? [String: String])
        let crt = try #require(Data(base64Encoded: data["tls.crt"] ?? ""))
        let key = try #require(Data(base64Encoded: data["tls.key"] ?? ""))
        #expect(crt == (try Data(contentsOf: URL(fileURLWithPath: "\(t.store)/live/example.com/fullchain.pem"))))
        #expect(key == (try Data(contentsOf: URL(fileURLWithPath: "\(t.store)/live/example.com/privkey.pem"))))
        // No key material anywhere else, nor on stdout.
        let workloads = t.scratch.read("k8s/stack.yaml")
        #expect(!workloads.contains(data["tls.key"] ?? "-"))
        #expect(!workloads.contains("PRIVATE KEY"))
    }

    @Test func theIngressHasTLSHostsAndTheStacksRoutes() throws {
        let t = try Tree()
        #expect(try t.emit().status == 0)
        let ingresses = Self.kind(try t.documents("stack.yaml"), "Ingress")
        #expect(ingresses.count == 2)
        let ing = try #require(ingresses.first { ($0["metadata"] as? [String: Any])?["name"] as? String == "example.com" })
        let spec = try #require(ing["spec"] as? [String: Any])
        let tls = try #require((spec["tls"] as? [[String: Any]])?.first)
        #expect(tls["hosts"] as? [String] == ["example.com", "www.example.com"])
        #expect(tls["secretName"] as? String == "example.com-tls")
        let rules = try #require(spec["rules"] as? [[String: Any]])
        #expect(rules.compactMap { $0["host"] as? String } == ["example.com", "www.example.com"])
        let paths = try #require(((rules[0]["http"] as? [String: Any])?["paths"]) as? [[String: Any]])
        let routes = paths.map { p -> String in
            let svc = ((p["backend"] as? [String: Any])?["service"] as? [String: Any]) ?? [:]
            return "\(p["path"] ?? "") \(svc["name"] ?? "") \((svc["port"] as? [String: Any])?["number"] ?? "")"
        }
        #expect(routes == ["/ backend 8080", "/ai/ ai 8000"])
        // Each routed service has a Service on that port and a Deployment.
        let docs = try t.documents("stack.yaml")
        let services = Self.kind(docs, "Service").compactMap { ($0["metadata"] as? [String: Any])?["name"] as? String }
        #expect(Set(services) == ["backend", "ai"])
        let deployments = Self.kind(docs, "Deployment").compactMap { ($0["metadata"] as? [String: Any])?["name"] as? String }
        #expect(Set(deployments) == ["backend", "ai", "db"])
    }

    @Test func theInitScriptComesFromAConfigMapMountedWithMode0644() throws {
        let t = try Tree()
        #expect(try t.emit().status == 0)
        let docs = try t.documents("stack.yaml")
        let cm = try #require(Self.kind(docs, "ConfigMap").first)
        #expect((cm["data"] as? [String: String])?["init.sql"] == t.scratch.read("db/init.sql"))
        let db = try #require(Self.kind(docs, "Deployment").first { ($0["metadata"] as? [String: Any])?["name"] as? String == "db" })
        let pod = try #require(((db["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any])
        let volume = try #require((pod["volumes"] as? [[String: Any]])?.first?["configMap"] as? [String: Any])
        #expect(volume["defaultMode"] as? Int == 0o644)
    }

    @Test func certManagerReplacesTheSecretsWithAnIssuerAndCertificates() throws {
        let t = try Tree()
        let r = try t.emit("--cert-manager")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!t.scratch.exists("k8s/tls-secrets.yaml"))
        let docs = try t.documents("cert-manager.yaml")
        let issuer = try #require(Self.kind(docs, "Issuer").first)
        let acme = try #require((issuer["spec"] as? [String: Any])?["acme"] as? [String: Any])
        #expect(acme["email"] as? String == "ops@example.com")
        #expect((acme["solvers"] as? [[String: Any]])?.first?["http01"] != nil)
        let certificates = Self.kind(docs, "Certificate")
        #expect(certificates.count == 2)
        let spec = try #require(certificates.first?["spec"] as? [String: Any])
        #expect(spec["dnsNames"] as? [String] == ["example.com", "www.example.com"])
        #expect(spec["secretName"] as? String == "example.com-tls")  // the Secret the Ingress names
        #expect(!t.scratch.read("k8s/cert-manager.yaml").contains("tls.key"))
    }

    @Test func aMissingCertificateIsBadInputAndWritesNothing() throws {
        let t = try Tree()
        try FileManager.default.removeItem(atPath: "\(t.store)/live/api.example.com")
        let r = try t.emit()
        #expect(r.status == 2, "\(r.stderr)")
        #expect(!t.scratch.exists("k8s/stack.yaml") && !t.scratch.exists("k8s/tls-secrets.yaml"))
    }
}
