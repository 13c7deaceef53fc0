/// `certs deploy`: checks every certificate the nginx config will reference, emits the config,
/// swaps it in, has nginx test and reload it, and probes every domain over TLS to confirm nginx
/// serves the store's certificate. Any failure after the swap restores the previous files
/// (and reloads again when nginx had already taken the new ones): the last working config stays.
public struct Deployer {
    public struct Options: Sendable {
        /// Where `conf.d/` lives on this machine (the directory mounted into the nginx container).
        public var outputDirectory: String
        /// Tests the whole nginx config as nginx will load it (e.g. `docker compose exec -T nginx nginx -t`).
        public var testCommand: String = "nginx -t"
        /// Makes nginx load it (e.g. `docker compose exec -T nginx nginx -s reload`).
        public var reloadCommand: String = "nginx -s reload"
        /// Where to reach nginx's HTTPS port for the probe; nil skips probing.
        public var probeAddress: String? = "127.0.0.1"
        /// How long the probe keeps retrying while nginx's workers pick up the reload.
        public var probeTimeout: Double = 10
        /// A certificate past the critical threshold (as certs check judges it) fails the pre-flight.
        public var thresholds = CheckThresholds()
        /// Versions the caller states (flags); what is nil comes from `versionCommand`, then the stack.
        public var nginxVersion: SoftwareVersion?
        public var openSSLVersion: SoftwareVersion?
        /// Prints the live nginx's `nginx -V`; nil: never ask the binary.
        public var versionCommand: String? = "nginx -V"
        public var commandTimeout: Double = 60

        public init(outputDirectory: String) { self.outputDirectory = outputDirectory }
    }

    public struct Step: Sendable {
        public let name: String
        public let ok: Bool
        public let detail: String
        public var json: JSON { .object([("step", .string(name)), ("ok", .bool(ok)), ("detail", .string(detail))]) }
    }

    public struct Report: Sendable {
        public var steps: [Step] = []
        /// Files written, replaced or removed (relative to the output directory).
        public var changed: [String] = []
        public var rolledBack = false
        /// The rollback itself failed: the config on disk may be the new, failing one.
        public var rollbackFailed = false
        public var dryRun = false
        /// SIGINT/SIGTERM stopped the deploy (after restoring the previous config unless `rollbackFailed`).
        public var interrupted: Int32?
        public var diff = ""
        public var success: Bool { steps.allSatisfy(\.ok) }

        public var json: JSON {
            .object([
                ("version", .int(1)),
                ("success", .bool(success)),
                ("dryRun", .bool(dryRun)),
                ("changed", .strings(changed)),
                ("rolledBack", .bool(rolledBack)),
                ("rollbackFailed", .bool(rollbackFailed)),
                ("interrupted", interrupted.map { .int(Int($0)) } ?? .null),
                ("steps", .array(steps.map(\.json))),
            ])
        }

        mutating func add(_ name: String, _ ok: Bool, _ detail: String) { steps.append(Step(name: name, ok: ok, detail: detail)) }
    }

    public let stack: Stack
    public let store: CertificateStore
    public let trust: TrustStore
    public var options: Options

    /// Obtains the certificates of domains that have none yet (ACME over the webroot nginx now
    /// serves, or the local CA). Set by the caller; nil turns the first-run bootstrap off.
    public var obtainCertificates: ((_ domains: [Stack.Domain]) throws -> [String])?

    public init(stack: Stack, store: CertificateStore, trust: TrustStore, options: Options) {
        self.stack = stack
        self.store = store
        self.trust = trust
        self.options = options
    }

    /// The domains whose certificate is not in the store at all (a fresh VM's first deploy).
    public func domainsWithoutCertificate() -> [Stack.Domain] {
        var seen = Set<String>()
        return stack.domains.filter { !FileSystem.exists(store.paths($0.certificate).fullchain) && seen.insert($0.certificate).inserted }
    }

    /// Runs the deploy at time `now`. With `obtainCertificates` set and certificates missing, it
    /// first bootstraps: HTTP-only config for those domains (test, swap, reload), then obtains
    /// them over that config, then goes on with the full HTTPS deploy below.
    public func run(now start: Int64, dryRun: Bool = false) throws -> Report {
        var now = start
        var report = Report()
        report.dryRun = dryRun
        guard let target = try resolveTarget(into: &report) else { return report }
        let missing = domainsWithoutCertificate()
        if let obtainCertificates, !missing.isEmpty, !dryRun {
            let pending = Set(missing.map(\.certificate))
            let files = NginxEmitter(stack: stack, target: target, pendingCertificates: pending).files()
            guard try apply(files, step: "bootstrap: HTTP for \(missing.map(\.name).joined(separator: ", "))", into: &report) else { return report }
            do {
                let details = try obtainCertificates(missing)
                now = max(now, currentUnixTime())  // the new certificates start after `start`
                for (domain, detail) in zip(missing, details + Array(repeating: "", count: max(0, missing.count - details.count))) {
                    report.add("obtain \(domain.certificate)", true, detail.isEmpty ? "certificate obtained" : detail)
                }
            } catch {
                // The HTTP-only config stays: it is what nginx runs now, and it is valid.
                report.add("obtain \(missing.map(\.certificate).joined(separator: ", "))", false, "\(error)")
                report.interrupted = Interruption.signal
                return report
            }
            if let signal = Interruption.signal {
                report.add("interrupted", false, "stopped by signal \(signal); the HTTP-only config stays, a rerun goes on from here")
                report.interrupted = signal
                return report
            }
        }
        var ocsp: Set<String> = []
        var leaves: [String: Certificate] = [:]
        for domain in stack.domains {
            let outcome = checkCertificate(domain, now: now)
            report.add("certificate \(domain.certificate)", outcome.problem == nil, outcome.problem ?? outcome.summary)
            if let leaf = outcome.leaf {
                leaves[domain.certificate] = leaf
                if !leaf.authorityInfoAccess.ocsp.isEmpty { ocsp.insert(domain.certificate) }
            }
        }
        // The hop's client certificate: the config names it (proxy_ssl_certificate), and the other
        // VM's terminator refuses the front without it.
        if HopPKI.entries(for: stack).contains(where: { $0.clientAuth }) {
            let problem = checkHopClient(now: now)
            report.add("certificate \(HopPKI.clientName)", problem == nil, problem ?? "the front's client certificate for the hop is valid")
        }
        guard report.success else { return report }

        let files = NginxEmitter(stack: stack, target: target, ocspCertificates: ocsp).files()
        let plan = try makePlan(files)
        report.changed += plan.changes.map(\.path).filter { !report.changed.contains($0) }
        report.diff = plan.changes.map { LineDiff.unified(old: $0.old ?? "", new: $0.new ?? "", oldName: "a/\($0.path)", newName: "b/\($0.path)") }.joined()
        if dryRun {
            report.add("plan", true, plan.changes.isEmpty ? "nginx config unchanged" : "\(plan.changes.count) file(s) would change")
            return report
        }

        // From the swap on, a signal is handled here: the previous files go back (see `Interruption`).
        let transaction = Transaction("the nginx config in \(options.outputDirectory)/conf.d")
        defer { transaction.commit() }
        let backup = try swapIn(plan)
        report.add("write", true, plan.changes.isEmpty ? "nginx config unchanged" : "wrote \(plan.changes.count) file(s)")
        if interrupted(backup, reload: false, into: &report) { return report }

        let test = try Subprocess.shell(options.testCommand, timeout: options.commandTimeout)
        if interrupted(backup, reload: false, into: &report) { return report }
        guard test.succeeded else {
            report.add("nginx -t", false, "`\(options.testCommand)` failed: \(test.failureDetail)")
            rollBack(backup, reload: false, into: &report)
            return report
        }
        report.add("nginx -t", true, "configuration test passed")

        let reload = try Subprocess.shell(options.reloadCommand, timeout: options.commandTimeout)
        // nginx may have taken the new files before the signal: reload the restored ones.
        if interrupted(backup, reload: true, into: &report) { return report }
        guard reload.succeeded else {
            report.add("reload", false, "`\(options.reloadCommand)` failed: \(reload.failureDetail)")
            // nginx did not take the new files, so putting the old ones back is the whole rollback.
            rollBack(backup, reload: false, into: &report)
            return report
        }
        report.add("reload", true, "nginx reloaded")

        if let address = options.probeAddress {
            for domain in stack.domains {
                guard let expected = leaves[domain.certificate] else { continue }
                for name in domain.allNames where !name.hasPrefix("*.") {
                    let problem = probe(address: address, name: name, expected: expected)
                    if interrupted(backup, reload: true, into: &report) { return report }
                    report.add("probe \(name)", problem == nil, problem ?? "serves the store's certificate (\(expected.fingerprint().prefix(8).hexString)…)")
                    if problem != nil {
                        rollBack(backup, reload: true, into: &report)
                        return report
                    }
                }
            }
        }
        return report
    }

    /// The nginx the config is written for: stated versions first, then what the live binary says
    /// (`nginx -V`, so the file matches what loads it), then the stack file's. nil (with a failed
    /// step) when the binary cannot be asked and nothing states the version.
    func resolveTarget(into report: inout Report) throws -> NginxEmitter.Target? {
        var nginx = options.nginxVersion, openSSL = options.openSSLVersion
        if nginx == nil || openSSL == nil, let command = options.versionCommand {
            let r = try Subprocess.shell(command, timeout: options.commandTimeout)
            if r.succeeded, let build = NginxBuild.parse(r.output) {
                nginx = nginx ?? build.nginx
                openSSL = openSSL ?? build.openSSL ?? SoftwareVersion(3, 0, 0)
                report.add("nginx -V", true, "nginx \(build.nginx) with " + (build.openSSL.map { "OpenSSL \($0)" } ?? "a TLS library other than OpenSSL"))
            } else if stack.nginx.version == nil || stack.nginx.openSSLVersion == nil {
                report.add("nginx -V", false, "`\(command)` " + (r.succeeded ? "printed no nginx version" : "failed: \(r.failureDetail)")
                           + "; give --nginx-version and --openssl-version (or nginx.version and nginx.openssl in the stack)")
                return nil
            }
        }
        let d = NginxEmitter.Target()
        return NginxEmitter.Target(nginxVersion: nginx ?? stack.nginx.version ?? d.nginxVersion,
                                   openSSLVersion: openSSL ?? stack.nginx.openSSLVersion ?? d.openSSLVersion)
    }

    /// After a SIGINT/SIGTERM (see `Interruption`): restores the previous files (reloading nginx
    /// when it may have taken the new ones) and marks the report; true when interrupted.
    func interrupted(_ backup: Backup, reload: Bool, into report: inout Report) -> Bool {
        guard let signal = Interruption.signal else { return false }
        report.add("interrupted", false, "stopped by signal \(signal)")
        rollBack(backup, reload: reload, into: &report)
        report.interrupted = signal
        return true
    }

    /// Plan, swap, test and reload `files` (the bootstrap's HTTP-only config); rolls back and
    /// returns false on failure.
    func apply(_ files: [(path: String, contents: String)], step: String, into report: inout Report) throws -> Bool {
        let plan = try makePlan(files)
        let transaction = Transaction("the nginx config in \(options.outputDirectory)/conf.d")
        defer { transaction.commit() }
        let backup = try swapIn(plan)
        report.changed += plan.changes.map(\.path).filter { !report.changed.contains($0) }
        if interrupted(backup, reload: false, into: &report) { return false }
        let test = try Subprocess.shell(options.testCommand, timeout: options.commandTimeout)
        if interrupted(backup, reload: false, into: &report) { return false }
        guard test.succeeded else {
            report.add(step, false, "`\(options.testCommand)` failed: \(test.failureDetail)")
            rollBack(backup, reload: false, into: &report)
            return false
        }
        let reload = try Subprocess.shell(options.reloadCommand, timeout: options.commandTimeout)
        if interrupted(backup, reload: true, into: &report) { return false }
        guard reload.succeeded else {
            report.add(step, false, "`\(options.reloadCommand)` failed: \(reload.failureDetail)")
            rollBack(backup, reload: false, into: &report)
            return false
        }
        report.add(step, true, "nginx serves ACME challenges over HTTP")
        return true
    }

    struct CertificateOutcome {
        var leaf: Certificate?
        var problem: String?
        var summary = ""
    }

    /// The store holds a matching key and a valid chain covering every name, not about to expire.
    func checkCertificate(_ domain: Stack.Domain, now: Int64) -> CertificateOutcome {
        let paths = store.paths(domain.certificate)
        var outcome = CertificateOutcome()
        do {
            let certs = try Certificate.parseAll(try FileSystem.read(paths.fullchain), source: paths.fullchain)
            let key = try PrivateKey(bytes: try FileSystem.read(paths.key), source: paths.key)
            outcome.leaf = certs[0]
            var problems: [String] = []
            for name in domain.allNames {
                let report = try ChainVerifier(trust: trust, host: name, time: now, key: key)
                    .verify(fileCertificates: certs, source: paths.fullchain)
                for e in report.errors where !problems.contains(e.message) { problems.append(e.message) }
            }
            let daysLeft = daysBetween(now, certs[0].notAfter)
            if now <= certs[0].notAfter, options.thresholds.critical.isCrossed(notBefore: certs[0].notBefore, notAfter: certs[0].notAfter, now: now) {
                problems.append("expires in \(daysLeft) day(s) (\(RFC3339.format(certs[0].notAfter))), past the critical threshold \(options.thresholds.critical); renew it first")
            }
            if !problems.isEmpty { outcome.problem = "\(paths.fullchain): " + problems.joined(separator: "; ") }
            outcome.summary = "valid for \(domain.allNames.joined(separator: ", ")) until \(RFC3339.format(certs[0].notAfter)) (\(daysLeft) days)"
        } catch {
            outcome.problem = "\(error)" + (FileSystem.exists(paths.directory) ? "" : " (no certificate in the store for \(domain.certificate): run certs request or certs install)")
        }
        return outcome
    }

    /// nil when `hop-client` is in the store with its key, issued by the hop CA and not past --crit.
    func checkHopClient(now: Int64) -> String? {
        let p = store.paths(HopPKI.clientName)
        let fix = "run certs ca hop --stack STACK (and certs renew keeps it current)"
        do {
            guard FileSystem.exists(p.fullchain) else { return "\(p.fullchain) does not exist: \(fix)" }
            let certs = try Certificate.parseAll(try FileSystem.read(p.fullchain), source: p.fullchain)
            let key = try PrivateKey(bytes: try FileSystem.read(p.key), source: p.key)
            guard key.matches(certs[0].publicKey) else { return "\(p.key) is not the key of \(p.fullchain): \(fix) --force" }
            let caPath = "\(HopPKI.caDirectory(store: store.root))/intermediate.pem"
            let intermediate = try Certificate.parseAll(try FileSystem.read(caPath), source: caPath)[0]
            guard certs[0].isIssued(by: intermediate) else { return "\(p.fullchain) is not issued by the hop CA (\(caPath)): \(fix) --force" }
            if now >= certs[0].notAfter || options.thresholds.critical.isCrossed(notBefore: certs[0].notBefore, notAfter: certs[0].notAfter, now: now) {
                return "\(p.fullchain) expires \(RFC3339.format(certs[0].notAfter)), past the critical threshold: certs renew \(HopPKI.clientName) --force"
            }
            return nil
        } catch {
            return "\(error)"
        }
    }

    func probe(address: String, name: String, expected: Certificate) -> String? {
        ServedCertificateProbe(address: address, port: UInt16(stack.nginx.httpsPort), timeout: options.probeTimeout)
            .problem(name: name, expected: expected)
    }

    // MARK: Files

    struct Change {
        let path: String
        let old: String?
        let new: String?
    }

    struct Plan {
        var changes: [Change]
    }

    /// Compares emitted files with what is in the output directory; files certs wrote earlier
    /// that the stack no longer produces are removed.
    func makePlan(_ files: [(path: String, contents: String)]) throws -> Plan {
        var changes: [Change] = []
        let dir = options.outputDirectory
        for file in files {
            let path = "\(dir)/\(file.path)"
            // An empty file reads as an error; it is simply "not ours" below.
            let old = FileSystem.exists(path) ? String(decoding: (try? FileSystem.read(path, limit: 4 << 20)) ?? [], as: UTF8.self) : nil
            if let old, !old.hasPrefix(NginxEmitter.header) { throw OutputError.exists(path: path) }
            if old != file.contents { changes.append(Change(path: file.path, old: old, new: file.contents)) }
        }
        let produced = Set(files.map(\.path))
        for name in FileSystem.list("\(dir)/conf.d") where name.hasSuffix(".conf") {
            let rel = "conf.d/\(name)"
            guard !produced.contains(rel) else { continue }
            let old = String(decoding: (try? FileSystem.read("\(dir)/\(rel)")) ?? [], as: UTF8.self)
            if old.hasPrefix(NginxEmitter.header) { changes.append(Change(path: rel, old: old, new: nil)) }
        }
        return Plan(changes: changes)
    }

    /// What to put back if the deploy fails: each changed file's previous contents (nil: it did not exist).
    struct Backup {
        let directory: String
        let previous: [(path: String, contents: String?)]
    }

    func swapIn(_ plan: Plan) throws -> Backup {
        let dir = options.outputDirectory
        try FileSystem.makeDirectories("\(dir)/conf.d")
        var done: [(path: String, contents: String?)] = []
        do {
            for change in plan.changes {
                let path = "\(dir)/\(change.path)"
                if let new = change.new {
                    try FileSystem.writeAtomically(Array(new.utf8), to: path, mode: 0o644, existing: .replace, sync: false)
                } else {
                    try FileSystem.remove(path)
                }
                done.append((change.path, change.old))
            }
            // One flush for the batch, before nginx is asked to read it.
            FileSystem.syncFileSystem(containing: "\(dir)/conf.d")
        } catch {
            restore(Backup(directory: dir, previous: done))
            throw error
        }
        return Backup(directory: dir, previous: done)
    }

    @discardableResult
    func restore(_ backup: Backup) -> Bool {
        var ok = true
        for (path, contents) in backup.previous.reversed() {
            let full = "\(backup.directory)/\(path)"
            do {
                if let contents {
                    try FileSystem.writeAtomically(Array(contents.utf8), to: full, mode: 0o644, existing: .replace)
                } else {
                    try FileSystem.remove(full)
                }
            } catch { ok = false }
        }
        return ok
    }

    func rollBack(_ backup: Backup, reload: Bool, into report: inout Report) {
        report.rolledBack = true
        guard restore(backup) else {
            report.rollbackFailed = true
            report.add("rollback", false, "could not restore the previous files in \(backup.directory)")
            return
        }
        if reload {
            let again = try? Subprocess.shell(options.reloadCommand, timeout: options.commandTimeout)
            if again?.succeeded != true {
                report.rollbackFailed = true
                report.add("rollback", false, "restored the previous files, but reloading nginx failed: \(again?.failureDetail ?? "could not run")")
                return
            }
        }
        report.add("rollback", true, "restored the previous nginx config" + (reload ? " and reloaded" : ""))
    }
}
