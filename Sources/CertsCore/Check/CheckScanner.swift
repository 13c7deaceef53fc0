#if canImport(Glibc)
import Glibc
#endif

/// An endpoint to check: where to connect, the SNI name to send, and the store certificate it
/// should be serving (when known).
public struct CheckEndpoint: Sendable, Equatable {
    public let endpoint: Endpoint
    /// The SNI name sent and matched against the certificate (nil: none, for an IP literal).
    public let sni: String?
    /// The store name whose current certificate the server should serve.
    public var storeName: String?

    public init(endpoint: Endpoint, sni: String? = nil, storeName: String? = nil) {
        self.endpoint = endpoint
        self.sni = sni ?? (endpoint.isIPAddress ? nil : endpoint.host)
        self.storeName = storeName
    }

    /// Parses `HOST:PORT[@SNI]`, `[IPv6]:PORT[@SNI]`; the port defaults to 443.
    public init(parsing text: String, option: String = "--endpoint") throws {
        var main = text
        var sni: String?
        if let at = text.lastIndex(of: "@") {
            main = String(text[..<at])
            let name = String(text[text.index(after: at)...])
            guard !name.isEmpty else { throw InputError.invalidValue(option: option, value: text, reason: "nothing after '@'; use HOST:PORT@SNI") }
            sni = try HostName.validate(name)
        }
        self.init(endpoint: try Endpoint(parsing: main, defaultPort: 443, option: option), sni: sni)
    }

    /// `host:port`, or `host:port@sni` when the SNI is not the host.
    public var label: String {
        if let sni, sni != endpoint.host { return "\(endpoint)@\(sni)" }
        return endpoint.description
    }
}

/// Finds and examines certificates for `certs check`: files and directory trees, the store, and
/// live TLS endpoints. Every verdict is a value; only "cannot read an explicitly named input" throws.
public struct CheckScanner: Sendable {
    public var thresholds: CheckThresholds
    /// The time to judge at, Unix seconds.
    public var now: Int64
    public let trust: TrustStore
    /// The store, for endpoints' `servesCurrent`.
    public var store: CertificateStore?
    /// Opens PKCS#12 archives and encrypted bundles found in the scan.
    public var passphrase: Passphrase?
    /// Consecutive failed runs before an unreachable endpoint is CRITICAL rather than UNKNOWN.
    public var failureLimit: Int = 2
    /// Only the text table will be output (`CheckRun.Plan.ResultDetail.table`): the files that are
    /// OK keep their row, not their chain and findings' text.
    public var tableOnly = false
    /// Seconds per endpoint (resolve, connect and handshake together).
    public var timeout: Double = 10
    /// Endpoints checked at once.
    public var concurrency: Int = 32
    /// Checks each certificate's CRLs (`--revocation`); nil: not asked.
    public var revocation: RevocationChecker?
    /// Verdicts kept from earlier runs (`certs check`'s cache; `--no-cache` leaves it nil).
    public var verdicts: CheckVerdictCache?
    /// Files read, parsed, verified and reported per batch (one thread, one parser cache each):
    /// memory stays flat however many files there are.
    public var batchSize: Int = 64

    public init(thresholds: CheckThresholds, now: Int64, trust: TrustStore, store: CertificateStore? = nil) {
        self.thresholds = thresholds
        self.now = now
        self.trust = trust
        self.store = store
    }

    /// A file to check, with whether the user named it (then unreadable is an error) and its store name.
    public struct FileInput: Sendable {
        public let path: String
        public let explicit: Bool
        public let storeName: String?
        public let kind: CheckSourceKind
        /// Set when the scan could not read this entry (a directory it cannot list, an entry it
        /// cannot stat): the file is reported UNKNOWN with the reason, never left out.
        public let readError: String?
        public init(path: String, explicit: Bool, storeName: String? = nil, kind: CheckSourceKind = .file, readError: String? = nil) {
            self.path = path
            self.explicit = explicit
            self.storeName = storeName
            self.kind = kind
            self.readError = readError
        }
    }

    /// Expands PATHs: files as given, directories recursively (hidden entries included, symlinks
    /// followed, each directory once). A missing path is an input error.
    public static func expand(_ paths: [String]) throws -> [FileInput] {
        var out: [FileInput] = []
        var seen = Set<[UInt64]>()
        for path in paths {
            var st = stat()
            guard stat(path, &st) == 0 else { throw FileSystem.inputError(path: path, errno: errno) }
            if (st.st_mode & S_IFMT) == S_IFDIR {
                walk(path, into: &out, seen: &seen)
            } else {
                out.append(FileInput(path: path, explicit: true))
            }
        }
        return out
    }

    static func walk(_ dir: String, into out: inout [FileInput], seen: inout Set<[UInt64]>) {
        var st = stat()
        guard stat(dir, &st) == 0, seen.insert([UInt64(st.st_dev), UInt64(st.st_ino)]).inserted else { return }
        guard let d = opendir(dir) else {
            out.append(FileInput(path: dir, explicit: false, readError: "cannot list the directory: \(String(cString: strerror(errno)))"))
            return
        }
        var files: [String] = [], dirs: [String] = []
        while let entry = readdir(d) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name == "." || name == ".." { continue }
            let path = dir.hasSuffix("/") ? dir + name : "\(dir)/\(name)"
            var type = entry.pointee.d_type
            if type == UInt8(DT_UNKNOWN) || type == UInt8(DT_LNK) {
                var s = stat()
                guard stat(path, &s) == 0 else {
                    // A dangling symlink is nothing to check; any other failure hides a file.
                    if errno != ENOENT { files.append(path) }
                    continue
                }
                type = (s.st_mode & S_IFMT) == S_IFDIR ? UInt8(DT_DIR) : ((s.st_mode & S_IFMT) == S_IFREG ? UInt8(DT_REG) : 0)
            }
            if type == UInt8(DT_DIR) { dirs.append(path) } else if type == UInt8(DT_REG) { files.append(path) }
        }
        closedir(d)
        for f in files.sorted() { out.append(FileInput(path: f, explicit: false)) }
        for sub in dirs.sorted() { walk(sub, into: &out, seen: &seen) }
    }

    /// The store's live certificates (`live/NAME/cert.pem` with `chain.pem`).
    public static func storeInputs(_ store: CertificateStore) -> [FileInput] {
        store.names().map { FileInput(path: store.paths($0).fullchain, explicit: true, storeName: $0, kind: .store) }
    }

    /// Checks files on all cores: each file's first certificate is checked, the rest are its chain.
    /// Returns the results (in input order) and the files skipped for holding no certificate.
    ///
    /// Files go to the worker threads in batches of `batchSize`; each batch is read, parsed,
    /// verified and reported by one thread with a parser and a verifier of its own (their caches
    /// are not shared between threads), so nothing but the trust store is shared and memory stays
    /// flat however many files there are. Reading and reporting are on the workers too: a serial
    /// parse in front of parallel verification left one core idle half the time.
    public func checkFiles(_ inputs: [FileInput]) throws -> (results: [CheckedCertificate], skipped: [String]) {
        let size = max(1, batchSize)
        let batches = (inputs.count + size - 1) / size
        let scanner = self
        let workers = inputs.count < 64 ? 1 : ChainVerifier.defaultWorkers
        // The workers write each result straight into the array returned (no second array of
        // 10,000 results while one is copied into the other); skipped and failed files leave a
        // placeholder there, removed in place below.
        let others = Slots<NotChecked>(count: inputs.count)
        var results = [CheckedCertificate](unsafeUninitializedCapacity: inputs.count) { buffer, count in
            let sink = FileOutcomes(results: buffer, others: others)
            runConcurrently(count: batches, width: workers) { b in
                scanner.checkBatch(inputs, range: b * size..<min((b + 1) * size, inputs.count), into: sink)
            }
            count = inputs.count
        }
        verdicts?.closeShards()  // what they served is in the results now
        var skipped: [String] = []
        for i in results.indices {
            switch others[i] {
            case nil: break
            case .skipped(let path)?: skipped.append(path)
            case .failed(let error)?: throw error  // the first explicitly named input that cannot be read
            }
        }
        // Saved while result i is still file i (the verdicts recorded are by index).
        verdicts?.save(trustTimes: trust.validityTimes()) { i in
            let r = results[i]
            return scanner.timeIndependent(r).map { ($0, r.chain.flatMap { [$0.notBefore, $0.notAfter] }) }
        }
        var kept = 0
        for i in results.indices where others[i] == nil {
            if kept != i { results.swapAt(kept, i) }
            kept += 1
        }
        results.removeLast(results.count - kept)
        return (results, skipped)
    }

    /// Where `checkBatch` puts what became of each file: a result in its slot of the array being
    /// built, anything else in `others` (with a placeholder result). Each index is set exactly
    /// once, by one worker thread, before the array is complete.
    final class FileOutcomes: @unchecked Sendable {
        let results: UnsafeMutableBufferPointer<CheckedCertificate>
        let others: Slots<NotChecked>
        init(results: UnsafeMutableBufferPointer<CheckedCertificate>, others: Slots<NotChecked>) {
            self.results = results
            self.others = others
        }
        func set(_ index: Int, _ outcome: FileOutcome) {
            let other: NotChecked
            switch outcome {
            case .checked(let r): return (results.baseAddress! + index).initialize(to: r)
            case .skipped(let path): other = .skipped(path)
            case .failed(let error): other = .failed(error)
            }
            (results.baseAddress! + index).initialize(to: CheckedCertificate(source: "", kind: .file))
            others.set(index, other)
        }
    }

    /// A file without a result (a few bytes a slot, where a `FileOutcome` is a whole result).
    enum NotChecked {
        case skipped(String)
        case failed(Error)
    }

    /// What became of one file of `checkFiles`.
    enum FileOutcome {
        case checked(CheckedCertificate)
        case skipped(String)
        case failed(Error)
    }

    /// One batch of `checkFiles`, on one thread.
    func checkBatch(_ inputs: [FileInput], range: Range<Int>, into outcomes: FileOutcomes) {
        let parser = CertificateParser(passphrase: passphrase)  // per batch: its cache would otherwise hold every leaf
        let verifier = ChainVerifier(trust: trust, time: now)
        // What a passphrase opens or a CRL says is not in the file's bytes: such runs judge afresh.
        let cache = passphrase == nil && revocation == nil ? verdicts : nil
        var members = ChainMemberCache()  // the CA certificates every file of the batch repeats
        for index in range {
            let input = inputs[index]
            if let reason = input.readError {
                outcomes.set(index, .checked(Self.unreadable(input, reason: reason)))
                continue
            }
            let bytes: [UInt8], certs: [Certificate]
            do {
                bytes = try FileSystem.quickRead(input.path) ?? FileSystem.read(input.path)
            } catch {
                outcomes.set(index, readFailure(input, error))
                continue
            }
            let key = cache?.key(path: input.path, kind: input.kind, bytes: bytes)
            if let key, let kept = cache?.verdict(key, at: now) {
                outcomes.set(index, .checked(forOutput(result(input, kept))))
                continue
            }
            do {
                certs = try parser.certificates(in: bytes, source: input.path)
            } catch {
                outcomes.set(index, readFailure(input, error))
                continue
            }
            do {
                let r = try check(input, certs, verifier: verifier, members: &members)
                if let key, let cache, Self.isTimeIndependent(r, thresholdProblems: expiryProblems(r)) {
                    cache.record(key, result: index, judgedAt: now)
                    outcomes.set(index, .checked(r))  // whole: its verdict is taken from it when the cache is saved
                } else {
                    outcomes.set(index, .checked(forOutput(r)))
                }
            } catch {
                outcomes.set(index, .failed(error))
            }
        }
    }

    /// The result of a file whose verdict was kept: the time-dependent part judged again at `now`.
    func result(_ input: FileInput, _ kept: CachedVerdict) -> CheckedCertificate {
        var r = CheckedCertificate(source: input.path, kind: input.kind)
        r.storeName = input.storeName
        r.subject = kept.subject
        r.commonName = kept.commonName
        r.issuer = kept.issuer
        r.issuerCommonName = kept.issuerCommonName
        r.names = kept.names
        r.serial = kept.serial
        r.fingerprint = kept.fingerprint
        judgeExpiry(&r, notBefore: kept.notBefore, notAfter: kept.notAfter)
        r.chainValid = kept.chainValid
        r.chainErrors = kept.chainErrors
        r.chainWarnings = kept.chainWarnings
        for p in kept.problems {
            r.problems.append(p)
            r.status = max(r.status, p.status)
        }
        r.chain = kept.chain
        return r
    }

    /// A result as the run's output needs it: with `tableOnly`, an OK result keeps its table row.
    func forOutput(_ r: CheckedCertificate) -> CheckedCertificate {
        tableOnly && r.status == .ok ? r.keepingTableFields() : r
    }

    /// How many of a result's problems are this run's expiry problem: 0 or 1 (the first).
    func expiryProblems(_ r: CheckedCertificate) -> Int {
        thresholds.status(notBefore: r.notBefore, notAfter: r.notAfter ?? 0, now: now) == .ok ? 0 : 1
    }

    /// `timeIndependent` with this run's expiry problem left out.
    func timeIndependent(_ r: CheckedCertificate) -> CachedVerdict? {
        Self.timeIndependent(r, thresholdProblems: expiryProblems(r))
    }

    /// A file's result without its expiry verdict, when nothing else in it depends on the time; nil otherwise.
    static func timeIndependent(_ r: CheckedCertificate, thresholdProblems: Int) -> CachedVerdict? {
        isTimeIndependent(r, thresholdProblems: thresholdProblems) ? CachedVerdict(r, problems: Array(r.problems.dropFirst(thresholdProblems))) : nil
    }

    /// Nothing in a file's result but its expiry verdict depends on the time (no expired or
    /// not-yet-valid certificate, whose messages name the time): its verdict can be kept.
    static func isTimeIndependent(_ r: CheckedCertificate, thresholdProblems: Int) -> Bool {
        let timed: Set<String> = ["expired", "not-yet-valid"]
        guard r.kind == .file || r.kind == .store, r.notAfter != nil, !r.chainErrors.contains(where: timed.contains),
              !r.chainWarnings.contains(where: timed.contains), r.problems.count >= thresholdProblems,
              let first = r.chain.first, first == ChainMember(subject: r.subject, commonName: r.commonName, issuer: r.issuer,
                                                               issuerCommonName: r.issuerCommonName, serial: r.serial, fingerprint: r.fingerprint,
                                                               notBefore: r.notBefore, notAfter: first.notAfter, isCA: first.isCA),
              first.notAfter == r.notAfter else { return false }
        return true
    }

    /// What could not be read (permissions, I/O, a file that vanished, an archive that needs a
    /// passphrase) is UNKNOWN; only what holds no certificate is skipped; a named input fails the run.
    func readFailure(_ input: FileInput, _ error: Error) -> FileOutcome {
        if input.explicit { return .failed(error) }
        switch error as? InputError {
        case .unreadable(_, let reason)?: return .checked(Self.unreadable(input, reason: reason))
        case .notFound?: return .checked(Self.unreadable(input, reason: "it vanished during the scan"))
        case nil where error is PassphraseError:
            // An encrypted key alone is no certificate; an archive or bundle hides some.
            if let bytes = try? FileSystem.read(input.path), CertificateParser.hidesCertificates(bytes) {
                let why = passphrase == nil ? "its certificates are behind a passphrase (a PKCS#12 archive or an encrypted bundle): give it with --passphrase-file or --passphrase-env"
                                            : "the passphrase does not open it"
                return .checked(Self.unreadable(input, reason: why))
            }
            return .skipped(input.path)
        default: return .skipped(input.path)
        }
    }

    /// One parsed file's result. A file whose first certificate is a CA (root.pem, chain.pem, a
    /// trust bundle) is checked for expiry only: the TLS-server chain checks are for leaves.
    func check(_ input: FileInput, _ certs: [Certificate], verifier: ChainVerifier, members: inout ChainMemberCache) throws -> CheckedCertificate {
        var r = CheckedCertificate(source: input.path, kind: input.kind)
        r.storeName = input.storeName
        let leaf = certs[0]
        let report = leaf.isCA ? nil : try verifier.verify(fileCertificates: certs, source: input.path)
        fill(&r, leaf: leaf, report: report)
        // The leaf's member from the facts just filled in (its text and fingerprint cost as much as a parse).
        r.chain = [ChainMember(subject: r.subject, commonName: r.commonName, issuer: r.issuer, issuerCommonName: r.issuerCommonName,
                               serial: r.serial, fingerprint: r.fingerprint, notBefore: r.notBefore, notAfter: leaf.notAfter, isCA: leaf.isCA)]
            + certs.dropFirst().map { members.member($0) }
        if !leaf.isCA {
            let chain = input.storeName.flatMap { name in store.flatMap { try? CertificateParser().certificates(atPath: $0.paths(name).chain) } } ?? []
            applyRevocation(&r, leaf: leaf, candidates: certs + chain)
        }
        return r
    }

    /// Adds the revocation findings (revoked, stale CRL, CRL unreadable) and their status.
    func applyRevocation(_ r: inout CheckedCertificate, leaf: Certificate, candidates: [Certificate]) {
        guard let revocation else { return }
        let found = revocation.problems(leaf: leaf, candidates: candidates)
        for p in found {
            r.problems.append(p)
            r.status = max(r.status, p.status)
        }
        // The per-certificate series (x509_cert_revoked, chain[].revoked): known only when a CRL
        // or OCSP answer was read for the leaf; unknown (nil) when none is named or it could not be read.
        if !r.chain.isEmpty, r.chain[0].serial == leaf.serialHex {
            if found.contains(where: { $0.code == "revoked" }) { r.chain[0].revoked = true }
            else if !leaf.crlDistributionPoints.isEmpty || !leaf.authorityInfoAccess.ocsp.isEmpty, !found.contains(where: { $0.code == "revocation-unknown" }) { r.chain[0].revoked = false }
        }
    }

    /// A file the scan found but could not read: UNKNOWN, with the path and the reason.
    static func unreadable(_ input: FileInput, reason: String) -> CheckedCertificate {
        var r = CheckedCertificate(source: input.path, kind: input.kind)
        r.storeName = input.storeName
        let message = "\(input.path): cannot read: \(reason)"
        r.error = "cannot read: \(reason)"
        r.problems = [CheckProblem("unreadable", message, status: .unknown)]
        r.status = .unknown
        return r
    }

    /// The part of a result that depends on the time judged at: days left, the thresholds' status
    /// and the "expiry" problem (first of the problems).
    func judgeExpiry(_ r: inout CheckedCertificate, notBefore: Int64, notAfter: Int64) {
        r.notBefore = notBefore
        r.notAfter = notAfter
        r.daysLeft = daysBetween(now, notAfter)
        r.status = thresholds.status(notBefore: notBefore, notAfter: notAfter, now: now)
        if r.status != .ok {
            let d = r.daysLeft ?? 0
            r.problems.append(CheckProblem("expiry", d < 0 || notAfter <= now ? "expired on \(RFC3339.format(notAfter))" :
                                            "expires in \(d) day\(d == 1 ? "" : "s") (\(RFC3339.format(notAfter)))", status: r.status))
        }
    }

    /// Fills certificate facts, the expiry verdict and chain problems: every chain error is
    /// CRITICAL, except the trust-anchor codes on a file, which are reported only.
    func fill(_ r: inout CheckedCertificate, leaf: Certificate, report: VerificationReport?) {
        // The verifier has the leaf's name text already (its chain starts at the leaf).
        let link = report?.chain.first.flatMap { $0.certificate === leaf ? $0 : nil }
        r.subject = link?.subject ?? leaf.subject.description
        r.commonName = leaf.subject.commonName
        r.issuer = link?.issuer ?? leaf.issuer.description
        r.issuerCommonName = leaf.issuer.commonName
        r.names = leaf.subjectAlternativeNames.map(\.value)
        r.serial = leaf.serialHex
        let fp = leaf.fingerprint()
        r.fingerprint = fp.hexString
        judgeExpiry(&r, notBefore: leaf.notBefore, notAfter: leaf.notAfter)
        guard let report else { return }
        // The verdict is verify's: chainValid is exactly `certs verify`'s "valid".
        r.chainErrors = report.errors.map(\.code)
        r.chainWarnings = report.warnings.map(\.code)
        r.chainValid = report.valid
        if r.kind == .endpoint {
            r.hostnameMatch = !report.errors.contains { $0.code == "hostname-mismatch" }
        }
        // The leaf's own expiry is the threshold's business (it is CRITICAL already). Any other
        // error makes the chain one no client accepts: CRITICAL whatever the days left, for files
        // too. Only "no trusted root found" is excused for a file (cert.pem alone, a private CA
        // checked without its root), as install excuses it: files are often checked apart from
        // the chain and the trust they are served with.
        // The hop's client certificate in the store (live/hop-client: clientAuth, no serverAuth) is
        // not a server certificate, and is not judged as one; any other client-only leaf still is.
        let clientCertificate = r.kind != .endpoint && r.source.contains("/live/\(HopPKI.clientName)/")
            && leaf.extendedKeyUsage.map { $0.contains("clientAuth") && !$0.contains("serverAuth") } == true
        for e in report.errors where !(e.code == "expired" && e.subjectKey == fp) {
            let excused = r.kind != .endpoint && ChainVerifier.trustAnchorCodes.contains(e.code)
                || (clientCertificate && e.code == "wrong-purpose")
            let status: CheckStatus = excused ? .ok : .critical
            r.problems.append(CheckProblem(e.code, e.message, status: status))
            r.status = max(r.status, status)
        }
        // Verify's warnings are shown (NOTES, problems) without changing the verdict.
        for w in report.warnings {
            r.problems.append(CheckProblem(w.code, w.message, status: .ok))
        }
    }

    /// The SHA-256 fingerprint of the store's current certificate NAME, nil when absent.
    public func storeFingerprint(_ name: String) -> String? {
        guard let store, let bytes = try? FileSystem.read(store.paths(name).certificate),
              let cert = try? CryptoDocument(bytes: bytes, source: name).certificates.first else { return nil }
        return cert.fingerprint().hexString
    }

    /// Checks endpoints concurrently (at most `concurrency` at once, each within `timeout`).
    /// `previousFailures` maps a state key to the endpoint's consecutive failures before this run.
    public func checkEndpoints(_ targets: [CheckEndpoint], previousFailures: [String: Int] = [:]) -> [CheckedCertificate] {
        let expected = Dictionary(targets.compactMap { t in t.storeName.map { ($0, storeFingerprint($0)) } }, uniquingKeysWith: { a, _ in a })
        let slots = Slots<CheckedCertificate>(count: targets.count)
        let scanner = self
        let verdicts = Locked<[String: VerificationReport]>([:])
        let client = try? TLSClient()  // one SSL_CTX for the run; nil: each endpoint reports the failure itself
        runConcurrently(count: targets.count, width: concurrency) { i in
            slots.set(i, scanner.checkEndpoint(targets[i], expected: targets[i].storeName.flatMap { expected[$0] ?? nil },
                                               previousFailures: previousFailures, verdicts: verdicts, client: client))
        }
        return slots.values
    }

    /// `verdicts`: the reports of this run by what they depend on (the name checked, the protocol,
    /// the store's hints and the served certificates): many endpoints serving the same chain (one
    /// server's names and ports, a load balancer's nodes) have it verified once.
    func checkEndpoint(_ target: CheckEndpoint, expected: String?, previousFailures: [String: Int],
                       verdicts: Locked<[String: VerificationReport]> = Locked([:]), client: TLSClient? = nil) -> CheckedCertificate {
        var r = CheckedCertificate(source: target.label, kind: .endpoint)
        r.storeName = target.storeName
        do {
            let served = try (client ?? TLSClient()).fetch(target.endpoint, sni: target.sni, timeout: timeout)
            let verifier = ChainVerifier(trust: trust, host: target.sni ?? target.endpoint.host, time: now)
            // The store's chain explains an intermediate the server leaves out ("missing-intermediate").
            let hints = target.storeName.flatMap { name in
                store.flatMap { try? CertificateParser().certificates(atPath: $0.paths(name).chain) }
            } ?? []
            let key = ([target.sni ?? target.endpoint.host, served.protocolVersion, target.storeName ?? ""]
                       + served.certificates.map { $0.fingerprint().hexString }).joined(separator: "\n")
            let report: VerificationReport
            if let known = verdicts.withValue({ $0[key] }) {
                report = known
            } else {
                report = try verifier.verify(served: served, hints: hints, hintOrigin: "the store's chain.pem")
                verdicts.withValue { $0[key] = report }
            }
            fill(&r, leaf: served.leaf, report: report)
            r.chain = served.certificates.map(ChainMember.init)
            r.tls = NegotiatedTLS(protocolVersion: served.protocolVersion, cipher: served.cipher, group: served.group)
            applyRevocation(&r, leaf: served.leaf, candidates: served.certificates + hints)
            if let expected {
                r.servesCurrent = expected == r.fingerprint
                if r.servesCurrent == false {
                    let p = CheckProblem("stale-certificate", "serves a certificate other than the store's current \(target.storeName ?? "") (reload the server)", status: .warning)
                    r.problems.append(p)
                    r.status = max(r.status, .warning)
                }
            }
        } catch {
            r.error = "\(error)"
            r.consecutiveFailures = (previousFailures[r.stateKey] ?? 0) + 1
            let status: CheckStatus = r.consecutiveFailures >= failureLimit ? .critical : .unknown
            r.problems.append(CheckProblem("unreachable", "\(error) (\(r.consecutiveFailures) failed run\(r.consecutiveFailures == 1 ? "" : "s") in a row)", status: status))
            r.status = status
        }
        return r
    }
}

/// The chain members of the CA certificates one batch of files repeats (the same root or
/// intermediate in every fullchain.pem), by certificate: `CertificateParser` hands out one
/// `Certificate` per distinct PEM block, and an entry holds its certificate, so an identity is never reused.
struct ChainMemberCache {
    private var entries: [ObjectIdentifier: (certificate: Certificate, member: ChainMember)] = [:]

    mutating func member(_ cert: Certificate) -> ChainMember {
        guard cert.isCA else { return ChainMember(cert) }
        if let hit = entries[ObjectIdentifier(cert)] { return hit.member }
        let member = ChainMember(cert)
        entries[ObjectIdentifier(cert)] = (cert, member)
        return member
    }
}
