internal import COpenSSL
#if canImport(Glibc)
import Glibc
#endif

/// `certs check`'s file verdicts kept between runs, so that an hourly re-check of unchanged files
/// re-does only what depends on the time (days left and the thresholds) instead of parsing and
/// verifying every chain again (OpenSSL 3.0 spends ~2.5M instructions per file on that).
///
/// What makes a kept verdict valid, and why each part is there (README, "The verdict cache"):
/// - The key is the SHA-256 of the file's bytes with its path and kind (messages name the path).
/// - The file is only read when its context matches: the `certs` executable itself (its inode,
///   size and modification time: a rebuilt or upgraded binary judges afresh), the Public Suffix
///   List file (the wildcard policy reads it), the trust store's
///   fingerprint (every anchor's DER, and the hashed directory's listing when one is consulted),
///   and this format's version.
/// - A chain verdict depends on the time only through comparisons with the notBefore/notAfter of
///   the file's certificates and the trust store's. An entry recorded at `t0` keeps the open
///   interval between the two nearest of those instants around `t0` and is used only while the
///   time judged at lies strictly inside it; a verdict that mentions the time (expired,
///   not-yet-valid) is never kept.
/// - Entries older than `maximumAge` (wall clock) are judged afresh: a weekly full verification
///   whatever the analysis above misses.
/// Runs with `--revocation` or a passphrase do not use it (their answers depend on more than the
/// file). A cache that cannot be read or written is no cache: the run is the same, only slower.
public final class CheckVerdictCache: @unchecked Sendable {
    public static let formatVersion: UInt32 = 1
    /// Seconds after which an entry is verified afresh whatever it says.
    public static let maximumAge: Int64 = 7 * 86400
    /// Entries kept at most (the newest first): bounds the file however many trees are checked.
    public static let maximumEntries = 200_000
    static let magic = Array("certs-check-verdicts\n".utf8)

    public let path: String
    let context: [UInt8]
    /// Wall-clock seconds of this run (entries' age), whatever time the run judges at.
    let wallClock: Int64
    /// The file as read: entries are decoded only when hit.
    private let bytes: [UInt8]
    private let index: [Key: Stored]
    private let recorded = Locked<[Key: Stored]>([:])
    private let fresh = Locked<[Key: Pending]>([:])

    struct Key: Hashable {
        let a: UInt64, b: UInt64, c: UInt64, d: UInt64
        init(_ digest: [UInt8]) {
            func word(_ i: Int) -> UInt64 { (0..<8).reduce(0) { $0 << 8 | UInt64(digest[i * 8 + $1]) } }
            a = word(0); b = word(1); c = word(2); d = word(3)
        }
        var bytes: [UInt8] { [a, b, c, d].flatMap { w in (0..<8).reversed().map { UInt8(truncatingIfNeeded: w >> ($0 * 8)) } } }
    }

    /// An entry: the interval its verdict holds in, when it was recorded, and where its payload is.
    struct Stored {
        let after: Int64, before: Int64, recordedAt: Int64
        let payload: Range<Int>
    }

    /// A verdict of this run, with the instants its time-independence depends on. Encoded only
    /// when saved: until then its strings are the result's own (no copy).
    struct Pending {
        let judgedAt: Int64
        let times: [Int64]
        let verdict: CachedVerdict
    }

    /// Opens the cache at `path` for runs with `trust`; an absent, unreadable or foreign file is empty.
    public init(path: String, trust: TrustStore, wallClock: Int64? = nil) {
        self.path = path
        self.wallClock = wallClock ?? Int64(Glibc.time(nil))
        var digest = Self.magic
        ByteWriter.append(Self.formatVersion, to: &digest)
        digest += Self.executableIdentity()
        digest += Self.fileIdentity(PublicSuffixList.defaultPath)  // wildcard verdicts read it
        digest += trust.fingerprint()
        context = Digest.sha256(digest)
        let data = (try? FileSystem.read(path, limit: 1 << 30)) ?? []
        var index: [Key: Stored] = [:]
        var reader = ByteReader(data)
        if reader.take(Self.magic.count) == Self.magic, reader.take(32) == context, let count = reader.uint32() {
            index.reserveCapacity(Int(count))
            for _ in 0..<count {
                guard let key = reader.take(32), let after = reader.int64(), let before = reader.int64(),
                      let recordedAt = reader.int64(), let payload = reader.range() else { index = [:]; break }
                index[Key(key)] = Stored(after: after, before: before, recordedAt: recordedAt, payload: payload)
            }
        }
        self.bytes = data
        self.index = index
    }

    /// The default place: `$XDG_CACHE_HOME/certs/check-verdicts`, else `~/.cache/certs/…`; nil without either.
    public static func defaultPath() -> String? {
        if let xdg = getenv("XDG_CACHE_HOME").map({ String(cString: $0) }), xdg.hasPrefix("/") { return "\(xdg)/certs/check-verdicts" }
        if let home = getenv("HOME").map({ String(cString: $0) }), home.hasPrefix("/") { return "\(home)/.cache/certs/check-verdicts" }
        return nil
    }

    /// Verdicts served this run.
    var hits: Int { recorded.current.count }

    /// The key of a file's verdict.
    func key(path: String, kind: CheckSourceKind, bytes: [UInt8]) -> Key {
        Key(Digest.sha256(Array(kind.rawValue.utf8) + [0] + Array(path.utf8) + [0] + bytes))
    }

    /// The kept verdict for `key`, when it holds at `time`.
    func verdict(_ key: Key, at time: Int64) -> CachedVerdict? {
        guard let entry = index[key], entry.after < time, time < entry.before,
              wallClock - entry.recordedAt < Self.maximumAge, entry.recordedAt <= wallClock else { return nil }
        var reader = ByteReader(bytes, range: entry.payload)
        guard let verdict = CachedVerdict(&reader) else { return nil }
        recorded.withValue { $0[key] = entry }
        return verdict
    }

    /// Keeps a verdict judged at `time`; `times` are the notBefore/notAfter of the file's certificates.
    func record(_ key: Key, _ verdict: CachedVerdict, judgedAt time: Int64, times: [Int64]) {
        fresh.withValue { $0[key] = Pending(judgedAt: time, times: times, verdict: verdict) }
    }

    /// Writes the verdicts used and recorded this run, then older ones, when this run recorded any.
    /// `trustTimes`: every notBefore/notAfter in the trust store after the run (directory lookups add to it).
    public func save(trustTimes: [Int64]) {
        let new = fresh.current
        guard !new.isEmpty else { return }
        var out = Self.magic + context + [0, 0, 0, 0]  // the count, filled in below
        out.reserveCapacity(bytes.count + new.count * 1024)
        var count: UInt32 = 0
        func add(_ key: Key, after: Int64, before: Int64, recordedAt: Int64, payload: (inout [UInt8]) -> Void) {
            guard Int(count) < Self.maximumEntries else { return }
            out += key.bytes
            ByteWriter.append(after, to: &out); ByteWriter.append(before, to: &out); ByteWriter.append(recordedAt, to: &out)
            let lengthAt = out.count
            ByteWriter.append(UInt32(0), to: &out)
            payload(&out)
            let length = UInt32(out.count - lengthAt - 4)
            for i in 0..<4 { out[lengthAt + i] = UInt8(truncatingIfNeeded: length >> (i * 8)) }
            count += 1
        }
        let trust = Set(trustTimes)
        var written = Set<Key>()
        for (key, p) in new {
            let instants = trust.union(p.times)
            guard !instants.contains(p.judgedAt) else { continue }  // on an instant: the next second differs
            let after = instants.filter { $0 < p.judgedAt }.max() ?? Int64.min
            let before = instants.filter { $0 > p.judgedAt }.min() ?? Int64.max
            add(key, after: after, before: before, recordedAt: wallClock) { p.verdict.write(to: &$0) }
            written.insert(key)
        }
        let used = recorded.current
        for (key, e) in used where !written.contains(key) {
            add(key, after: e.after, before: e.before, recordedAt: e.recordedAt) { $0 += bytes[e.payload] }
            written.insert(key)
        }
        for (key, e) in index.sorted(by: { $0.value.recordedAt > $1.value.recordedAt })
        where !written.contains(key) && wallClock - e.recordedAt < Self.maximumAge {
            add(key, after: e.after, before: e.before, recordedAt: e.recordedAt) { $0 += bytes[e.payload] }
        }
        let countAt = Self.magic.count + context.count
        for i in 0..<4 { out[countAt + i] = UInt8(truncatingIfNeeded: count >> (i * 8)) }
        // Advisory: a directory that cannot be made or a file that cannot be written leaves no cache.
        try? FileSystem.makeDirectories(FileSystem.directoryName(of: path), mode: 0o700)
        try? FileSystem.writeAtomically(out, to: path, mode: 0o600, existing: .replace, sync: false)
    }

    /// The running executable's inode, size and modification time: a different build is a different judge.
    static func executableIdentity() -> [UInt8] {
        var st = stat()
        guard stat("/proc/self/exe", &st) == 0 else { return Array("no executable identity \(getpid()) \(time(nil))".utf8) }
        return identity(st)
    }

    /// A data file the verdicts depend on (its absence is an identity too).
    static func fileIdentity(_ path: String) -> [UInt8] {
        var st = stat()
        return stat(path, &st) == 0 ? identity(st) : Array("no \(path)".utf8)
    }

    static func identity(_ st: stat) -> [UInt8] {
        var out: [UInt8] = []
        for v in [Int64(st.st_dev), Int64(st.st_ino), Int64(st.st_size), Int64(st.st_mtim.tv_sec), Int64(st.st_mtim.tv_nsec)] {
            ByteWriter.append(v, to: &out)
        }
        return out
    }
}

/// What a file's check found that does not depend on the time judged at: the facts, the chain
/// verdict and every problem but the expiry one, which `CheckScanner` works out again each run.
struct CachedVerdict {
    var subject: String, commonName: String?, issuer: String, issuerCommonName: String?
    var names: [String], serial: String, fingerprint: String
    var notBefore: Int64, notAfter: Int64
    var chainValid: Bool?
    var chainErrors: [String], chainWarnings: [String]
    var chain: [ChainMember]
    /// The problems after the expiry one, in order.
    var problems: [CheckProblem]

    init(_ r: CheckedCertificate, problems: [CheckProblem]) {
        subject = r.subject; commonName = r.commonName; issuer = r.issuer; issuerCommonName = r.issuerCommonName
        names = r.names; serial = r.serial; fingerprint = r.fingerprint
        notBefore = r.notBefore; notAfter = r.notAfter ?? 0
        chainValid = r.chainValid; chainErrors = r.chainErrors; chainWarnings = r.chainWarnings
        chain = r.chain
        self.problems = problems
    }

    func write(to out: inout [UInt8]) {
        let w = ByteWriter.self
        for s in [subject, issuer, serial, fingerprint] { w.append(s, to: &out) }
        w.append(commonName, to: &out); w.append(issuerCommonName, to: &out)
        w.append(names, to: &out)
        w.append(notBefore, to: &out); w.append(notAfter, to: &out)
        out.append(chainValid.map { $0 ? 2 : 1 } ?? 0)
        w.append(chainErrors, to: &out); w.append(chainWarnings, to: &out)
        // The leaf's member repeats the facts above (CheckScanner builds it from them): only its isCA.
        out.append(chain.first?.isCA == true ? 1 : 0)
        w.append(UInt32(max(0, chain.count - 1)), to: &out)
        for m in chain.dropFirst() {
            for s in [m.subject, m.issuer, m.serial, m.fingerprint] { w.append(s, to: &out) }
            w.append(m.commonName, to: &out); w.append(m.issuerCommonName, to: &out)
            w.append(m.notBefore, to: &out); w.append(m.notAfter, to: &out)
            out.append(m.isCA ? 1 : 0)
        }
        w.append(UInt32(problems.count), to: &out)
        for p in problems {
            w.append(p.code, to: &out); w.append(p.message, to: &out)
            w.append(UInt32(p.status.rawValue), to: &out)
        }
    }

    init?(_ r: inout ByteReader) {
        guard let subject = r.string(), let issuer = r.string(), let serial = r.string(), let fingerprint = r.string(),
              let commonName = r.optionalString(), let issuerCommonName = r.optionalString(), let names = r.strings(),
              let notBefore = r.int64(), let notAfter = r.int64(), let valid = r.take(1),
              let chainErrors = r.strings(), let chainWarnings = r.strings(), let leafIsCA = r.take(1),
              let members = r.uint32(), members < 1000 else { return nil }
        var chain = [ChainMember(subject: subject, commonName: commonName, issuer: issuer, issuerCommonName: issuerCommonName,
                                 serial: serial, fingerprint: fingerprint, notBefore: notBefore, notAfter: notAfter, isCA: leafIsCA[0] == 1)]
        for _ in 0..<members {
            guard let s = r.string(), let i = r.string(), let serial = r.string(), let fp = r.string(),
                  let cn = r.optionalString(), let icn = r.optionalString(), let nb = r.int64(), let na = r.int64(),
                  let ca = r.take(1) else { return nil }
            chain.append(ChainMember(subject: s, commonName: cn, issuer: i, issuerCommonName: icn, serial: serial,
                                     fingerprint: fp, notBefore: nb, notAfter: na, isCA: ca[0] == 1))
        }
        guard let count = r.uint32(), count < 10_000 else { return nil }
        var problems: [CheckProblem] = []
        for _ in 0..<count {
            guard let code = r.string(), let message = r.string(), let raw = r.uint32(),
                  let status = CheckStatus(rawValue: Int(raw)) else { return nil }
            problems.append(CheckProblem(code, message, status: status))
        }
        self.subject = subject; self.commonName = commonName; self.issuer = issuer; self.issuerCommonName = issuerCommonName
        self.names = names; self.serial = serial; self.fingerprint = fingerprint
        self.notBefore = notBefore; self.notAfter = notAfter
        chainValid = valid[0] == 0 ? nil : valid[0] == 2
        self.chainErrors = chainErrors; self.chainWarnings = chainWarnings
        self.chain = chain
        self.problems = problems
    }
}

/// Little-endian fields and length-prefixed UTF-8 for the cache file.
enum ByteWriter {
    static func append(_ v: UInt32, to out: inout [UInt8]) { for i in 0..<4 { out.append(UInt8(truncatingIfNeeded: v >> (i * 8))) } }
    static func append(_ v: Int64, to out: inout [UInt8]) { for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: UInt64(bitPattern: v) >> (i * 8))) } }
    static func append(_ s: String, to out: inout [UInt8]) {
        let utf8 = Array(s.utf8)
        append(UInt32(utf8.count), to: &out)
        out += utf8
    }
    static func append(_ s: String?, to out: inout [UInt8]) {
        out.append(s == nil ? 0 : 1)
        if let s { append(s, to: &out) }
    }
    static func append(_ list: [String], to out: inout [UInt8]) {
        append(UInt32(list.count), to: &out)
        for s in list { append(s, to: &out) }
    }
}

/// Reads what `ByteWriter` wrote; every read is bounds-checked (nil past the end: a damaged file is a miss).
struct ByteReader {
    let data: [UInt8]
    var offset: Int
    let end: Int

    init(_ data: [UInt8], range: Range<Int>? = nil) {
        self.data = data
        offset = range?.lowerBound ?? 0
        end = range?.upperBound ?? data.count
    }

    mutating func take(_ n: Int) -> [UInt8]? {
        guard n >= 0, n <= end - offset else { return nil }
        defer { offset += n }
        return Array(data[offset..<offset + n])
    }

    mutating func uint32() -> UInt32? {
        guard end - offset >= 4 else { return nil }
        defer { offset += 4 }
        return (0..<4).reduce(UInt32(0)) { $0 | UInt32(data[offset + $1]) << ($1 * 8) }
    }

    mutating func int64() -> Int64? {
        guard end - offset >= 8 else { return nil }
        defer { offset += 8 }
        return Int64(bitPattern: (0..<8).reduce(UInt64(0)) { $0 | UInt64(data[offset + $1]) << ($1 * 8) })
    }

    /// A length-prefixed run of bytes, as a range of `data`.
    mutating func range() -> Range<Int>? {
        guard let n = uint32().map(Int.init), n <= end - offset else { return nil }
        defer { offset += n }
        return offset..<offset + n
    }

    mutating func string() -> String? {
        guard let r = range() else { return nil }
        return String(decoding: data[r], as: UTF8.self)
    }

    mutating func optionalString() -> String?? {
        guard let flag = take(1) else { return nil }
        if flag[0] == 0 { return .some(nil) }
        guard let s = string() else { return nil }
        return .some(s)
    }

    mutating func strings() -> [String]? {
        guard let n = uint32(), n < 100_000 else { return nil }
        var out: [String] = []
        for _ in 0..<n {
            guard let s = string() else { return nil }
            out.append(s)
        }
        return out
    }
}
