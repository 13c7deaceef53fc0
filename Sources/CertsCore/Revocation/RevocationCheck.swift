#if canImport(Glibc)
import Glibc
#endif

/// What `--revocation` asks for. `crl` reads the CRL distribution points (Let's Encrypt publishes
/// CRLs only since 2025); `ocsp` asks the responder the certificate names (RFC 6960); `auto` uses
/// the CRL when the certificate names one and OCSP otherwise.
public enum RevocationMode: String, Sendable, CaseIterable {
    case auto, crl, ocsp, off
}

/// Checks a certificate against the CRLs its issuer publishes: fetched over HTTP (bounded size and
/// time), signature checked against the issuer, cached until nextUpdate. Every outcome is a finding
/// with a status: revoked CRITICAL, a CRL past nextUpdate WARNING, and anything that kept the
/// answer from being read (unreachable, too big, not a CRL, signed by someone else) UNKNOWN, never
/// a silent OK.
public final class RevocationChecker: @unchecked Sendable {
    public let mode: RevocationMode
    /// Unix seconds to judge at.
    public let now: Int64
    /// Where fetched CRLs are kept until their nextUpdate; nil: no cache.
    public let cacheDirectory: String?
    /// Largest CRL accepted.
    public static let maximumSize = 10 * 1024 * 1024
    let http: HTTPClient?
    /// CRLs already read this run, by URL (many certificates share one).
    private let fetched = Locked<[String: Result<[UInt8], HTTPFetchFailure>]>([:])

    public init(mode: RevocationMode, now: Int64, timeout: Double, cacheDirectory: String?) {
        self.mode = mode
        self.now = now
        self.cacheDirectory = cacheDirectory
        http = mode == .off ? nil : try? HTTPClient(timeout: timeout, maximumResponseSize: Self.maximumSize + 64 * 1024)
    }

    struct HTTPFetchFailure: Error { let reason: String }

    /// Findings for `leaf`, whose issuer is the first of `candidates` that issued it.
    public func problems(leaf: Certificate, candidates: [Certificate]) -> [CheckProblem] {
        guard mode != .off else { return [] }
        let crls = leaf.crlDistributionPoints.filter { $0.lowercased().hasPrefix("http://") }
        let responders = leaf.authorityInfoAccess.ocsp.filter { $0.lowercased().hasPrefix("http://") }
        let useCRL = mode == .crl || (mode == .auto && !crls.isEmpty)
        let urls = useCRL ? crls : responders
        guard !urls.isEmpty else { return [] }
        guard let issuer = candidates.first(where: { $0 != leaf && leaf.isIssued(by: $0) }) else {
            return [CheckProblem("revocation-unknown", "cannot check \(useCRL ? "the CRL" : "OCSP") (\(urls[0])): the issuer's certificate is not at hand to check its signature", status: .unknown)]
        }
        return useCRL ? crlProblems(leaf: leaf, issuer: issuer, urls: urls) : ocspProblems(leaf: leaf, issuer: issuer, urls: urls)
    }

    /// Asks each responder in turn until one gives a verified answer: revoked CRITICAL, an answer
    /// past its nextUpdate WARNING, "unknown" or no usable answer at all UNKNOWN.
    func ocspProblems(leaf: Certificate, issuer: Certificate, urls: [String]) -> [CheckProblem] {
        var failures: [String] = []
        for url in urls {
            do {
                let query = try OCSPQuery(leaf: leaf, issuer: issuer)
                guard let http else { throw OCSPQuery.Refused(reason: "no HTTP client") }
                let response = try http.send(HTTPRequest(method: "POST", url: url, headers: [("Content-Type", "application/ocsp-request"),
                                                                                                ("Accept", "application/ocsp-response")],
                                                         body: try query.der()))
                guard response.status == 200 else { throw OCSPQuery.Refused(reason: "HTTP \(response.status)") }
                var out: [CheckProblem] = []
                let next: Int64?
                switch try query.answer(response.body, now: now) {
                case .good(_, let n):
                    next = n
                case .revoked(let at, let reason, let n):
                    next = n
                    out.append(CheckProblem("revoked", "revoked on \(RFC3339.format(at))\(reason.map { " (\($0))" } ?? "") according to the OCSP responder \(url)", status: .critical))
                case .unknown:
                    return [CheckProblem("revocation-unknown", "the OCSP responder \(url) does not know this certificate", status: .unknown)]
                }
                if let next, next < now {
                    out.append(CheckProblem("ocsp-stale", "the OCSP answer from \(url) was due for renewal at \(RFC3339.format(next)); it may be out of date", status: .warning))
                }
                return out
            } catch let refused as OCSPQuery.Refused {
                failures.append("\(url): \(refused.reason)")
            } catch {
                failures.append("\(url): \(error)")
            }
        }
        return [CheckProblem("revocation-unknown", "cannot get an OCSP answer: " + failures.joined(separator: "; "), status: .unknown)]
    }

    func crlProblems(leaf: Certificate, issuer: Certificate, urls: [String]) -> [CheckProblem] {
        var failures: [String] = []
        for url in urls {
            let crl: RevocationList
            switch load(url, issuer: issuer) {
            case .success(let c): crl = c
            case .failure(let f): failures.append("\(url): \(f.reason)"); continue
            }
            var out: [CheckProblem] = []
            if let (date, reason) = crl.revocation(of: leaf) {
                out.append(CheckProblem("revoked", "revoked on \(RFC3339.format(date))\(reason.map { " (\($0))" } ?? "") according to \(url)", status: .critical))
            }
            if let next = crl.nextUpdate, next < now {
                out.append(CheckProblem("crl-stale", "the CRL at \(url) was due for renewal at \(RFC3339.format(next)); its answer may be out of date", status: .warning))
            }
            return out
        }
        return [CheckProblem("revocation-unknown", "cannot read the CRL: " + failures.joined(separator: "; "), status: .unknown)]
    }

    /// The CRL at `url`, from the cache while it is current, else over HTTP; only a CRL `issuer` signed.
    func load(_ url: String, issuer: Certificate) -> Result<RevocationList, HTTPFetchFailure> {
        let cachePath = cacheDirectory.map { "\($0)/crl-\(Digest.sha256(Array(url.utf8)).hexString.prefix(32)).der" }
        if let cachePath, let bytes = try? FileSystem.read(cachePath, limit: Self.maximumSize),
           let cached = try? RevocationList(bytes: bytes, source: cachePath), cached.isSigned(by: issuer),
           let next = cached.nextUpdate, next > now {
            return .success(cached)
        }
        let result = fetched.current[url] ?? fetch(url)
        fetched.withValue { $0[url] = result }
        switch result {
        case .failure(let f): return .failure(f)
        case .success(let bytes):
            guard let crl = try? RevocationList(bytes: bytes, source: url) else { return .failure(.init(reason: "the answer is not a CRL")) }
            guard crl.isSigned(by: issuer) else {
                return .failure(.init(reason: "the CRL is not signed by the certificate's issuer (\(issuer.subject))"))
            }
            if let cachePath, let dir = cacheDirectory {
                try? FileSystem.makeDirectories(dir)
                try? FileSystem.writeAtomically(bytes, to: cachePath, mode: 0o644, existing: .replace, sync: false)
            }
            return .success(crl)
        }
    }

    func fetch(_ url: String) -> Result<[UInt8], HTTPFetchFailure> {
        guard let http else { return .failure(.init(reason: "no HTTP client")) }
        do {
            let response = try http.send(HTTPRequest(url: url))
            guard response.status == 200 else { return .failure(.init(reason: "HTTP \(response.status)")) }
            guard response.body.count <= Self.maximumSize else { return .failure(.init(reason: "larger than \(Self.maximumSize / 1024 / 1024) MB")) }
            return .success(response.body)
        } catch {
            return .failure(.init(reason: "\(error)"))
        }
    }
}

extension VerificationReport {
    /// The report with the leaf's revocation status added (`certs verify --revocation`): revoked is
    /// an error; a stale answer, and an answer that could not be had, are warnings — browsers
    /// soft-fail there too, and `certs check` is where "could not read" becomes UNKNOWN.
    public func checkingRevocation(_ checker: RevocationChecker) -> VerificationReport {
        guard let leaf = chain.first?.certificate else { return self }
        var out = self
        for p in checker.problems(leaf: leaf, candidates: chain.map(\.certificate)) {
            if p.code == "revoked" { out.errors.append(Finding(p.code, p.message)) }
            else { out.warnings.append(Finding(p.code, p.message, severity: .warning)) }
        }
        return out
    }
}
