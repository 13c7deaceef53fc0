#if canImport(Glibc)
import Glibc
#endif

/// `certs check`'s file verdicts kept between runs, so that an hourly re-check of unchanged files
/// re-does only what depends on the time (days left and the thresholds) instead of parsing and
/// verifying every chain again (OpenSSL 3.0 spends ~2.5M instructions per file on that).
///
/// What makes a kept verdict valid, and why each part is there (README, "The verdict cache"):
/// - The key is the SHA-256 of the file's bytes with its path and kind (messages name the path).
/// - An entry is only read when its context matches: the `certs` executable itself (its inode,
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
///
/// On disk `path` is a directory of `shardCount` shard files named by the first byte of the key
/// (`00` … `ff`), each with its context, so that what a run reads and writes is proportional to
/// what it checks and changes, not to everything ever cached: a `find -exec certs check {} \;`
/// reads and rewrites one shard per file (1/256 of the cache), not the whole cache.
/// A run reads a shard the first time one of its files looks there (only the entries' places: a
/// verdict is decoded only when hit). Saving rewrites only the shards that got new verdicts, each
/// atomically (temporary file and rename) and under `flock` of `path/lock`: a save re-reads the
/// shard as it is on disk and merges its verdicts in, so two concurrent runs lose no verdict, and a
/// reader never sees a half-written shard. A shard of another context (another binary or trust
/// store) is replaced by the first save of this one.
public final class CheckVerdictCache: @unchecked Sendable {
    public static let formatVersion: UInt32 = 2
    /// Seconds after which an entry is verified afresh whatever it says.
    public static let maximumAge: Int64 = 7 * 86400
    /// Entries kept at most (the newest first): bounds the cache however many trees are checked.
    public static let maximumEntries = 200_000
    /// Shard files, by the key's first byte.
    static let shardCount = 256
    static let magic = Array("certs-check-verdicts\n".utf8)

    /// The cache directory.
    public let path: String
    let context: [UInt8]
    /// Wall-clock seconds of this run (entries' age), whatever time the run judges at.
    let wallClock: Int64
    /// The shards read so far (nil: not yet looked at).
    private let shards = Locked<[Shard?]>(Array(repeating: nil, count: CheckVerdictCache.shardCount))
    private let served = Locked<Int>(0)
    private let fresh = Locked<[Pending]>([])

    struct Key: Hashable {
        let a: UInt64, b: UInt64, c: UInt64, d: UInt64
        init(_ digest: [UInt8]) {
            func word(_ i: Int) -> UInt64 { (0..<8).reduce(0) { $0 << 8 | UInt64(digest[i * 8 + $1]) } }
            a = word(0); b = word(1); c = word(2); d = word(3)
        }
        var bytes: [UInt8] { [a, b, c, d].flatMap { w in (0..<8).reversed().map { UInt8(truncatingIfNeeded: w >> ($0 * 8)) } } }
        /// The shard it lives in: the digest's first byte.
        var shard: Int { Int(a >> 56) }
    }

    /// An entry: the interval its verdict holds in, when it was recorded, and where its payload is.
    struct Stored {
        let after: Int64, before: Int64, recordedAt: Int64
        let payload: Range<Int>
    }

    /// One shard file as read: where each entry is in it, in file order (newest first), and either
    /// its bytes (to merge into on save) or, for the lookups of a run, the open file: a hit reads
    /// its one payload with `pread`, so a warm run holds the index (~100 bytes an entry), not the
    /// 8 MB of payloads of 10,000 files. The descriptor is the file the index was read from,
    /// whatever renames another run's save does meanwhile.
    final class Shard: @unchecked Sendable {
        let bytes: [UInt8]
        let order: [Key]
        let index: [Key: Stored]
        let fd: Int32
        init(bytes: [UInt8], order: [Key], index: [Key: Stored], fd: Int32 = -1) {
            self.bytes = bytes
            self.order = order
            self.index = index
            self.fd = fd
        }
        deinit { if fd >= 0 { close(fd) } }
        static let empty = Shard(bytes: [], order: [], index: [:])

        /// An entry's payload: a slice of `bytes`, or read from the file.
        func payload(_ range: Range<Int>) -> [UInt8]? {
            guard fd >= 0 else { return range.upperBound <= bytes.count ? Array(bytes[range]) : nil }
            return FileSystem.readFully(fd, count: range.count, at: range.lowerBound)
        }
    }

    /// A verdict of this run: which result it is (the verdict is taken from it when saved, so a
    /// first run over 10,000 files keeps no second copy of their facts) and when it was judged.
    struct Pending {
        let key: Key
        let result: Int
        let judgedAt: Int64
    }

    /// Opens the cache directory `path` for runs with `trust`; absent, unreadable or foreign shards are empty.
    public init(path: String, trust: TrustStore, wallClock: Int64? = nil) {
        self.path = path
        self.wallClock = wallClock ?? Int64(Glibc.time(nil))
        var digest = Self.magic
        ByteWriter.append(Self.formatVersion, to: &digest)
        digest += Self.executableIdentity()
        digest += Self.fileIdentity(PublicSuffixList.defaultPath)  // wildcard verdicts read it
        digest += trust.fingerprint()
        context = Digest.sha256(digest)
    }

    /// The default place: `$XDG_CACHE_HOME/certs/check-verdicts/`, else `~/.cache/certs/…`; nil without either.
    public static func defaultPath() -> String? {
        if let xdg = getenv("XDG_CACHE_HOME").map({ String(cString: $0) }), xdg.hasPrefix("/") { return "\(xdg)/certs/check-verdicts" }
        if let home = getenv("HOME").map({ String(cString: $0) }), home.hasPrefix("/") { return "\(home)/.cache/certs/check-verdicts" }
        return nil
    }

    /// Verdicts served this run.
    var hits: Int { served.current }

    /// The file of shard `i`.
    func shardPath(_ i: Int) -> String {
        let hex = Array("0123456789abcdef")
        return "\(path)/\(hex[i >> 4])\(hex[i & 15])"
    }

    /// Shard `i` as it is on disk now, bytes and all (to merge into); empty when absent, damaged or
    /// of another context.
    func readShard(_ i: Int) -> Shard {
        // One open/fstat/read, and no error value for a shard not written yet (every shard, on a first run).
        let file = shardPath(i)
        guard let data = FileSystem.quickRead(file, limit: 1 << 28) ?? (FileSystem.exists(file) ? try? FileSystem.read(file, limit: 1 << 28) : nil) else { return .empty }
        return parseShard(i, data, fd: -1)
    }

    /// Shard `i` for lookups: its index, and the file kept open for the payloads of hits.
    func openShard(_ i: Int) -> Shard {
        guard let (fd, data, _) = FileSystem.openAndRead(shardPath(i), limit: 1 << 28) else { return .empty }
        return parseShard(i, data, fd: fd)  // the shard owns fd from here (closed with it, or there on a damaged file)
    }

    /// The index of a shard file's bytes. With `fd`, the shard keeps the descriptor instead of the bytes.
    private func parseShard(_ i: Int, _ data: [UInt8], fd: Int32) -> Shard {
        let damaged = { () -> Shard in
            if fd >= 0 { close(fd) }
            return .empty
        }
        var reader = ByteReader(data)
        guard reader.take(Self.magic.count) == Self.magic, reader.take(32) == context, let count = reader.uint32(),
              Int(count) <= Self.maximumEntries else { return damaged() }
        var order: [Key] = []
        var index: [Key: Stored] = [:]
        if fd < 0 { order.reserveCapacity(Int(count)) }
        index.reserveCapacity(Int(count))
        for _ in 0..<count {
            guard let key = reader.take(32), let after = reader.int64(), let before = reader.int64(),
                  let recordedAt = reader.int64(), let payload = reader.range() else { return damaged() }
            let k = Key(key)
            guard k.shard == i else { return damaged() }
            if index.updateValue(Stored(after: after, before: before, recordedAt: recordedAt, payload: payload), forKey: k) == nil, fd < 0 { order.append(k) }
        }
        return fd < 0 ? Shard(bytes: data, order: order, index: index) : Shard(bytes: [], order: [], index: index, fd: fd)
    }

    /// Shard `i` as this run first read it.
    func shard(_ i: Int) -> Shard {
        if let known = shards.withValue({ $0[i] }) { return known }
        let read = openShard(i)  // outside the lock: the other workers keep looking up
        return shards.withValue { s in
            if let known = s[i] { return known }
            s[i] = read
            return read
        }
    }

    /// Lets go of the shards' indexes and closes their files once every lookup is done; saving reads afresh.
    func closeShards() {
        shards.withValue { $0 = Array(repeating: nil, count: Self.shardCount) }
    }

    /// The key of a file's verdict.
    func key(path: String, kind: CheckSourceKind, bytes: [UInt8]) -> Key {
        Key(Digest.sha256(concatenating: [Array(kind.rawValue.utf8), [0], Array(path.utf8), [0], bytes]))
    }

    /// The kept verdict for `key`, when it holds at `time`.
    func verdict(_ key: Key, at time: Int64) -> CachedVerdict? {
        let shard = shard(key.shard)
        guard let entry = shard.index[key], entry.after < time, time < entry.before,
              wallClock - entry.recordedAt < Self.maximumAge, entry.recordedAt <= wallClock else { return nil }
        guard let payload = shard.payload(entry.payload) else { return nil }
        var reader = ByteReader(payload)
        guard let verdict = CachedVerdict(&reader) else { return nil }
        served.withValue { $0 += 1 }
        return verdict
    }

    /// Notes that result number `result` of this run, judged at `time`, is to be kept under `key`.
    func record(_ key: Key, result: Int, judgedAt time: Int64) {
        fresh.withValue { $0.append(Pending(key: key, result: result, judgedAt: time)) }
    }

    /// Writes this run's new verdicts into their shards (only those), merged with what each shard
    /// holds on disk at that moment, under the cache's lock.
    /// `trustTimes`: every notBefore/notAfter in the trust store after the run (directory lookups add to it).
    /// `verdict`: the verdict of a recorded result and the notBefore/notAfter of its file's
    /// certificates; nil leaves it out.
    func save(trustTimes: [Int64], verdict: (Int) -> (CachedVerdict, times: [Int64])?) {
        let new = fresh.current
        guard !new.isEmpty else { return }
        // Advisory: a directory that cannot be made or a shard that cannot be written is no cache.
        var st = stat()
        if lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG { unlink(path) }  // format 1's single file
        guard (try? FileSystem.makeDirectories(path, mode: 0o700)) != nil else { return }
        let lock = open("\(path)/lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        defer { if lock >= 0 { close(lock) } }  // closing releases the lock
        if lock >= 0 { while flock(lock, LOCK_EX) != 0 && errno == EINTR {} }
        let trust = Set(trustTimes)
        var byShard: [Int: [Pending]] = [:]
        for p in new { byShard[p.key.shard, default: []].append(p) }
        let limit = Self.maximumEntries / Self.shardCount
        for (i, entries) in byShard {
            let disk = readShard(i)
            var out = Self.magic + context + [0, 0, 0, 0]  // the count, filled in below
            out.reserveCapacity(disk.bytes.count + entries.count * 1024)
            var count: UInt32 = 0
            var written = Set<Key>()
            func add(_ key: Key, after: Int64, before: Int64, recordedAt: Int64, payload: (inout [UInt8]) -> Void) {
                guard Int(count) < limit, written.insert(key).inserted else { return }
                out += key.bytes
                ByteWriter.append(after, to: &out); ByteWriter.append(before, to: &out); ByteWriter.append(recordedAt, to: &out)
                let lengthAt = out.count
                ByteWriter.append(UInt32(0), to: &out)
                payload(&out)
                let length = UInt32(out.count - lengthAt - 4)
                for i in 0..<4 { out[lengthAt + i] = UInt8(truncatingIfNeeded: length >> (i * 8)) }
                count += 1
            }
            for p in entries.reversed() {  // the last recorded first, as a dictionary of them kept the last
                guard let (kept, times) = verdict(p.result) else { continue }
                let instants = trust.union(times)
                guard !instants.contains(p.judgedAt) else { continue }  // on an instant: the next second differs
                let after = instants.filter { $0 < p.judgedAt }.max() ?? Int64.min
                let before = instants.filter { $0 > p.judgedAt }.min() ?? Int64.max
                add(p.key, after: after, before: before, recordedAt: wallClock) { kept.write(to: &$0) }
            }
            guard count > 0 else { continue }
            // Then what the shard holds now (another run's verdicts too), newest first, while young enough.
            for key in disk.order {
                guard let e = disk.index[key], wallClock - e.recordedAt < Self.maximumAge else { continue }
                add(key, after: e.after, before: e.before, recordedAt: e.recordedAt) { $0 += disk.bytes[e.payload] }
            }
            let countAt = Self.magic.count + context.count
            for i in 0..<4 { out[countAt + i] = UInt8(truncatingIfNeeded: count >> (i * 8)) }
            try? FileSystem.writeAtomically(out, to: shardPath(i), mode: 0o600, existing: .replace, sync: false)
        }
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
