import Foundation
import Testing

/// The conformance corpus (Tests/Fixtures/conformance/gen_corpus.py): for every rule of RFC 5280
/// path validation, the CA/B Forum Baseline Requirements and path building that `certs verify`
/// promises, a valid and an invalid twin generated at test time. `certs verify` must give each
/// case its expected verdict (and warning); the independent oracle (scripts/oracle: pyca's
/// verifier and `openssl verify -x509_strict`) must still run on every case, so the agreement
/// table in docs/verification.md can be remade at any time.
@Suite struct ConformanceTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let generator = repository.appendingPathComponent("Tests/Fixtures/conformance/gen_corpus.py").path
    static let oracle = repository.appendingPathComponent("scripts/oracle").path

    struct Case {
        let name: String
        let directory: String
        let expected: String
        let expectError: String?
        let expectWarning: String?
        let forbidWarning: String?
        let host: String
        let at: Int
        let policy: String?

        var arguments: [String] {
            ["verify", "leaf.pem", "--trust", "roots.pem", "--host", host, "--at", String(at), "--json"]
                + (policy.map { ["--policy", $0] } ?? [])
        }
    }

    /// Generates the corpus into the scratch directory and reads every case.json, in index order.
    static func corpus(_ s: Scratch) throws -> [Case] {
        let out = s.file("conformance")
        let made = try run("/usr/bin/env", ["python3", generator, out])
        try #require(made.status == 0, "gen_corpus.py failed: \(made.stderr)")
        let index = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(out)/index.json"))) as? [String])
        return try index.map { name in
            let dir = "\(out)/\(name)"
            let meta = try parseJSONObject(String(contentsOfFile: "\(dir)/case.json", encoding: .utf8))
            return Case(name: name, directory: dir, expected: try #require(meta["expected"] as? String),
                        expectError: meta["expect_error"] as? String, expectWarning: meta["expect_warning"] as? String, forbidWarning: meta["forbid_warning"] as? String,
                        host: try #require(meta["host"] as? String), at: try #require(meta["at"] as? Int),
                        policy: meta["policy"] as? String)
        }
    }

    @Test func certsVerifyGivesEveryCaseItsExpectedVerdict() throws {
        let s = Scratch()
        let cases = try Self.corpus(s)
        #expect(cases.count >= 80, "the corpus shrank to \(cases.count) cases")
        #expect(cases.contains { $0.expected == "valid" } && cases.contains { $0.expected == "invalid" })

        var wrong: [String] = []
        for c in cases {
            let r = try certs(c.arguments, cwd: c.directory)
            guard r.status == 0 || r.status == 1 else {
                wrong.append("\(c.name): expected \(c.expected), got exit \(r.status): \(r.stderr.prefix(200))")
                continue
            }
            let document = try parseJSONObject(r.stdout)
            let result = try #require((document["results"] as? [[String: Any]])?.first, "\(c.name): no result in \(r.stdout)")
            let valid = result["valid"] as? Bool == true
            let codes = { (key: String) in ((result[key] as? [[String: Any]]) ?? []).compactMap { $0["code"] as? String } }
            let errors = codes("errors"), warnings = codes("warnings")
            let got = valid ? "valid" : "invalid"
            let shown = "\(got) (errors: \(errors.joined(separator: ", ")); warnings: \(warnings.joined(separator: ", ")))"
            if valid != (r.status == 0) {
                wrong.append("\(c.name): exit \(r.status) disagrees with valid=\(valid)")
            } else if got != c.expected {
                wrong.append("\(c.name): expected \(c.expected), got \(shown)")
            } else if let code = c.expectError, !valid, !errors.contains(code) {
                wrong.append("\(c.name): expected error \(code), got \(shown)")
            } else if let code = c.expectWarning, !warnings.contains(code) {
                wrong.append("\(c.name): expected warning \(code), got \(shown)")
            } else if let code = c.forbidWarning, warnings.contains(code) {
                wrong.append("\(c.name): must not warn \(code), got \(shown)")
            }
        }
        // One failure listing every wrong case (an #expect on the array would print it twice).
        if !wrong.isEmpty {
            Issue.record(Comment(rawValue: """
                \(wrong.count) of \(cases.count) conformance cases got the wrong verdict from certs verify \
                (remake the table with scripts/oracle):
                \(wrong.joined(separator: "\n"))
                """))
        }
    }

    @Test func theOracleJudgesEveryCaseWithPycaAndOpenSSL() throws {
        let s = Scratch()
        let cases = try Self.corpus(s)
        let results = s.file("oracle.json"), table = s.file("oracle.md")
        let r = try run("/usr/bin/env", ["python3", Self.oracle, "--corpus", s.file("conformance"), "--verifiers", "pyca,openssl",
                                         "--json", results, "--out", table])
        #expect(r.status == 0, "scripts/oracle failed: \(r.stderr)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: results))) as? [[String: Any]])
        #expect(rows.count == cases.count)

        var verdicts: [String: [String: String]] = [:]
        for row in rows {
            let name = try #require((row["case"] as? [String: Any])?["name"] as? String)
            let byVerifier = try #require(row["results"] as? [String: [String: Any]])
            verdicts[name] = byVerifier.compactMapValues { $0["verdict"] as? String }
        }
        for c in cases {
            for verifier in ["pyca", "openssl"] {
                let v = verdicts[c.name]?[verifier]
                #expect(["valid", "invalid", "parse"].contains(v ?? ""), "\(c.name): \(verifier) gave no verdict (\(v ?? "none"))")
            }
        }
        // Cases every correct verifier gets right: the oracle's plumbing (time, host, anchors,
        // intermediates) must reach both verifiers, or these flip.
        let agreed: [(String, String)] = [
            ("baseline-valid", "valid"), ("baseline-missing-intermediate", "invalid"),
            ("host-not-in-san-invalid", "invalid"), ("notafter-one-second-after-invalid", "invalid"),
            ("notbefore-in-future-invalid", "invalid"), ("cn-ipv6-rfc5952-valid", "valid"),
            ("pathlen-zero-exceeded-invalid", "invalid"),
        ]
        for (name, expected) in agreed {
            for verifier in ["pyca", "openssl"] {
                let v = verdicts[name]?[verifier] ?? "none"
                #expect((v == "valid" ? "valid" : "invalid") == expected, "\(name): \(verifier) says \(v), expected \(expected)")
            }
        }
        let text = s.read("oracle.md")
        #expect(text.contains("| case | expected | pyca | openssl | agree? |"))
        #expect(cases.allSatisfy { text.contains("`\($0.name)`") }, "the table misses cases")
    }
}
