import Foundation
import Testing

/// `certs emit ci --provider github`: schema-valid, and its change detection (run for real in a git
/// repository with two commits) builds only the services whose directories changed.
@Suite struct EmitCITests {
    /// A git repository holding the example stack with backend/, ai/ and db/ directories, one commit.
    struct Repo {
        let scratch = Scratch()
        var path: String { scratch.path }

        init() throws {
            for dir in ["backend", "ai", "db", "backend-tools"] {
                try FileManager.default.createDirectory(atPath: scratch.file(dir), withIntermediateDirectories: true)
            }
            _ = scratch.write("stack.yaml", try String(contentsOfFile: "\(examplesDirectory)/stack.yaml", encoding: .utf8))
            _ = scratch.write("backend/Dockerfile", "FROM scratch\n")
            _ = scratch.write("ai/Dockerfile", "FROM scratch\n")
            _ = scratch.write("db/init.sql", "SELECT 1;\n")
            _ = scratch.write("backend-tools/lint.sh", "true\n")
            try git("init", "-q", "-b", "main")
            try commit("first")
        }

        @discardableResult
        func git(_ args: String...) throws -> String {
            let r = try run("/usr/bin/env", ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"] + args, cwd: path)
            #expect(r.status == 0, "git \(args): \(r.stderr)")
            return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }

        func commit(_ message: String) throws {
            try git("add", "-A")
            try git("commit", "-q", "--allow-empty", "-m", message)
        }

        func head() throws -> String { try git("rev-parse", "HEAD") }

        /// Emits the workflow (outside the repository) and returns it parsed.
        func workflow() throws -> [String: Any] {
            let r = try certs("emit", "ci", "--provider", "github", "--stack", scratch.file("stack.yaml"), "--out", scratch.file("out"))
            #expect(r.status == 0, "\(r.stderr)")
            return try #require(try pipelineYAML(scratch.file("out/.github/workflows/certs-deploy.yaml")) as? [String: Any])
        }

        /// Runs the `changes` job's script as GitHub would (bash, env BEFORE/AFTER) and returns
        /// the services its build matrix holds, and its `any` output.
        func changedServices(before: String, after: String) throws -> (services: [String], any: String) {
            let jobs = try #require(try workflow()["jobs"] as? [String: Any])
            let steps = try #require((jobs["changes"] as? [String: Any])?["steps"] as? [[String: Any]])
            let step = try #require(steps.first { $0["id"] as? String == "diff" })
            let script = try #require(step["run"] as? String)
            let output = scratch.file("github-output-\(UUID().uuidString.prefix(6))")
            FileManager.default.createFile(atPath: output, contents: nil)
            let r = try run("/bin/bash", ["-e", "-c", script], cwd: path,
                            environment: ["BEFORE": before, "AFTER": after, "GITHUB_OUTPUT": output])
            #expect(r.status == 0, "change detection failed: \(r.stdout) \(r.stderr)")
            var values: [String: String] = [:]
            for line in (try String(contentsOfFile: output, encoding: .utf8)).split(separator: "\n") {
                let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
                if parts.count == 2 { values[parts[0]] = parts[1] }
            }
            let matrix = try #require(try JSONSerialization.jsonObject(with: Data((values["matrix"] ?? "").utf8)) as? [String: Any])
            let include = try #require(matrix["include"] as? [[String: String]])
            return (include.compactMap { $0["service"] }.sorted(), values["any"] ?? "")
        }
    }

    @Test(.enabled(if: pipelineToolAvailable("check-jsonschema"), "check-jsonschema is not installed (pip install check-jsonschema)"))
    func theWorkflowPassesTheGitHubWorkflowsSchema() throws {
        let repo = try Repo()
        _ = try repo.workflow()
        let r = try run("/usr/bin/env", ["check-jsonschema", "--builtin-schema", "vendor.github-workflows",
                                         repo.scratch.file("out/.github/workflows/certs-deploy.yaml")])
        #expect(r.status == 0, "check-jsonschema: \(r.stdout) \(r.stderr)")
    }

    @Test func onlyTheChangedServicesImageIsBuilt() throws {
        let repo = try Repo()
        let first = try repo.head()
        _ = repo.scratch.write("backend/app.py", "print('v2')\n")
        try repo.commit("backend change")
        let second = try repo.head()
        let result = try repo.changedServices(before: first, after: second)
        #expect(result.services == ["backend"])
        #expect(result.any == "true")
    }

    @Test func aChangeInAnotherServiceBuildsThatOneOnly() throws {
        let repo = try Repo()
        let first = try repo.head()
        _ = repo.scratch.write("ai/model.py", "x = 1\n")
        try repo.commit("ai change")
        #expect(try repo.changedServices(before: first, after: try repo.head()).services == ["ai"])
    }

    @Test func aSiblingDirectoryWithTheSamePrefixAndImageOnlyServicesBuildNothing() throws {
        let repo = try Repo()
        let first = try repo.head()
        _ = repo.scratch.write("backend-tools/lint.sh", "false\n")
        _ = repo.scratch.write("db/init.sql", "SELECT 2;\n")
        try repo.commit("no service image changes")
        let result = try repo.changedServices(before: first, after: try repo.head())
        #expect(result.services.isEmpty)
        #expect(result.any == "false")
    }

    @Test func withoutAPreviousCommitEveryBuiltServiceIsBuilt() throws {
        let repo = try Repo()
        let result = try repo.changedServices(before: String(repeating: "0", count: 40), after: try repo.head())
        #expect(result.services == ["ai", "backend"])
    }

    @Test func buildIsAMatrixOverTheChangesAndDeployRunsCertsDeployOverSSH() throws {
        let repo = try Repo()
        let wf = try repo.workflow()
        let on = try #require(wf["on"] as? [String: Any])
        #expect((on["push"] as? [String: Any])?["branches"] as? [String] == ["main"])
        #expect(((on["schedule"] as? [[String: String]])?.first?["cron"]) == "17 5 * * *")
        let jobs = try #require(wf["jobs"] as? [String: Any])
        let build = try #require(jobs["build"] as? [String: Any])
        #expect(build["needs"] as? String == "changes")
        #expect(build["if"] as? String == "needs.changes.outputs.any == 'true'")
        #expect((build["strategy"] as? [String: Any])?["matrix"] as? String == "${{ fromJSON(needs.changes.outputs.matrix) }}")
        let deploy = try #require(jobs["deploy"] as? [String: Any])
        let deployScripts = ((deploy["steps"] as? [[String: Any]]) ?? []).compactMap { $0["run"] as? String }
        #expect(deployScripts.count == 3)  // the hop bundle to the second VM, its services, then the main VM
        #expect(deployScripts.first?.contains("certs emit bundle --stack stack.yaml --store certs --host 10.0.2.15 --force") == true)
        #expect(deployScripts.first?.contains("hop/10.0.2.15 -xpf -") == true, "\(deployScripts.first ?? "")")
        #expect(deployScripts.dropFirst().first?.contains("compose.10.0.2.15.yaml") == true)
        #expect(deployScripts.dropFirst().first?.contains("exec -T certs-hop nginx -s reload") == true)
        #expect(deployScripts.last?.contains("ssh ") == true && deployScripts.last?.contains("certs deploy --stack stack.yaml") == true)
        let check = try #require(jobs["check"] as? [String: Any])
        #expect((check["if"] as? String)?.contains("schedule") == true)
        let checkScript = ((check["steps"] as? [[String: Any]])?.first?["run"] as? String) ?? ""
        #expect(checkScript.contains("ssh ") && checkScript.contains("certs check --store certs --stack stack.yaml --warn 30,33% --crit 7,10%"))
    }

    @Test func anotherProviderIsBadInput() throws {
        let repo = try Repo()
        expectOneLineError(try certs("emit", "ci", "--provider", "gitlab", "--stack", repo.scratch.file("stack.yaml"), "--out", repo.scratch.file("out")),
                           exit: 2, mentioning: "github")
    }
}
