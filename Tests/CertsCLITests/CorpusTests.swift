import Foundation
import Testing

/// Every command that reads input, over the bad-input corpus of scripts/make-corpus (over 1,000
/// truncated, bit-flipped, oversized, nested, mislabelled and hostile files): no crash, no hang,
/// a documented exit code, one `error:` line when it fails, and never a byte of key material or
/// the passphrase in what it prints.
@Suite struct CorpusTests {
    static let makeCorpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/make-corpus").path

    struct Case: Sendable {
        let file: String
        let arguments: [String]
    }

    struct Outcome: Sendable {
        let run: Case
        let problem: String?
    }

    @Test func everyInputReadingCommandSurvivesTheCorpus() throws {
        let s = Scratch()
        let made = try run("/usr/bin/env", ["python3", Self.makeCorpus, s.file("corpus")])
        #expect(made.status == 0, "\(made.stderr)")
        let seed = s.file("corpus/seed"), files = s.file("corpus/files"), work = s.file("work")
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let manifest = s.read("corpus/manifest.tsv").split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }
        #expect(manifest.count >= 1000, "the corpus must hold at least 1,000 files")

        // Key material the output must never contain: every base64 line of the seed keys, and the passphrase.
        var secrets = ["corpus-pass"]
        for key in ["leaf.key", "rsa.key", "ed25519.key", "leaf.enc.key"] {
            secrets += s.read("corpus/seed/\(key)").split(separator: "\n").map(String.init).filter { !$0.hasPrefix("-----") && $0.count >= 40 }
        }
        #expect(secrets.count > 20)

        let pass = "\(seed)/pass.txt", root = "\(seed)/root.pem"
        var cases: [Case] = []
        for (index, entry) in manifest.enumerated() where entry.count == 2 {
            let f = "\(files)/\(entry[0])", out = "\(work)/\(index)"
            switch entry[1] {
            case "cert":
                cases.append(Case(file: entry[0], arguments: ["inspect", f]))
                cases.append(Case(file: entry[0], arguments: ["verify", f, "--trust", root, "--host", "corpus.example"]))
                cases.append(Case(file: entry[0], arguments: ["bundle", f, "--out", "\(out).pem"]))
            case "csr":
                cases.append(Case(file: entry[0], arguments: ["inspect", f, "--json"]))
            case "key":
                cases.append(Case(file: entry[0], arguments: ["inspect", f, "--passphrase-file", pass]))
                cases.append(Case(file: entry[0], arguments: ["csr", "new", "--key", f, "--cn", "x.example", "--out", "\(out).csr",
                                                          "--passphrase-file", pass]))
            case "p12":
                cases.append(Case(file: entry[0], arguments: ["inspect", f, "--passphrase-file", pass]))
                cases.append(Case(file: entry[0], arguments: ["install", "n", "--cert", f, "--passphrase-file", pass,
                                                          "--store", "\(out)-store", "--allow-incomplete"]))
            case "stack":
                cases.append(Case(file: entry[0], arguments: ["emit", "nginx", "--stack", f, "--out", "\(out)-nginx"]))
                cases.append(Case(file: entry[0], arguments: ["deploy", "--stack", f, "--dry-run", "--store", "\(out)-store",
                                                          "--out", "\(out)-nginx"]))
            default:
                Issue.record("unknown kind \(entry[1]) in the manifest")
            }
        }
        #expect(cases.count >= 2000)

        let outcomes = Self.runAll(cases, secrets: secrets)
        let problems = outcomes.compactMap { o in o.problem.map { "\(o.run.file): certs \(o.run.arguments.prefix(2).joined(separator: " ")): \($0)" } }
        for p in problems.prefix(25) { Issue.record(Comment(rawValue: p)) }
        #expect(problems.isEmpty, "\(problems.count) of \(cases.count) runs misbehaved")
    }

    /// Runs the cases two at a time (the CI machines have two cores), each under a 15 s kill timer.
    static func runAll(_ cases: [Case], secrets: [String]) -> [Outcome] {
        nonisolated(unsafe) var outcomes = [Outcome?](repeating: nil, count: cases.count)
        let lock = NSLock()
        let workers = 2
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            var i = worker
            while i < cases.count {
                let o = Outcome(run: cases[i], problem: check(cases[i], secrets: secrets))
                lock.lock(); outcomes[i] = o; lock.unlock()
                i += workers
            }
        }
        return outcomes.compactMap { $0 }
    }

    static func check(_ c: Case, secrets: [String]) -> String? {
        let r: RunResult
        do {
            r = try run("/usr/bin/timeout", ["-s", "KILL", "15", certsBinary] + c.arguments)
        } catch {
            return "could not run: \(error)"
        }
        if r.status == 137 { return "hung (killed after 15 s)" }
        if r.status > 4 { return "exit \(r.status) (a crash or an internal error): \(r.stderr.prefix(300))" }
        for secret in secrets where r.stdout.contains(secret) || r.stderr.contains(secret) {
            return "printed key material or the passphrase"
        }
        if r.status >= 2 {
            let lines = r.stderrLines
            if lines.count != 1 || !lines[0].hasPrefix("error: ") {
                return "exit \(r.status) without exactly one error line: \(r.stderr.prefix(300))"
            }
        }
        return nil
    }
}
