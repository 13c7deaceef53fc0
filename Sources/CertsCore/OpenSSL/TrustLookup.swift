internal import COpenSSL
#if canImport(Glibc)
import Glibc
#endif

/// Finds trust-store certificates by subject name through OpenSSL's store lookup, so a store that
/// also reads a hashed directory (`SSL_CERT_DIR`) is searched the same way verification searches it.
final class TrustLookup {
    private let context: OpaquePointer  // X509_STORE_CTX
    private let trust: TrustStore
    private var cache: [String: [Certificate]] = [:]

    init(trust: TrustStore, leaf: Certificate) throws {
        self.trust = trust
        context = try ossl("creating a verification context") { X509_STORE_CTX_new() }
        guard X509_STORE_CTX_init(context, trust.pointer, leaf.pointer, nil) == 1 else {
            X509_STORE_CTX_free(context)
            throw OpenSSLError.drain("starting a trust-store lookup")
        }
    }

    deinit { X509_STORE_CTX_free(context) }

    /// Trusted certificates whose subject is `child`'s issuer name.
    func issuers(of child: Certificate, key: String) -> [Certificate] {
        let name = X509_get_issuer_name(child.pointer)
        if let known = cache[key] { return known.isEmpty ? known : known.filter { child.namesAsIssuer($0) } }
        var found: [Certificate] = []
        OpenSSLError.clear()
        if let stack = X509_STORE_CTX_get1_certs(context, name) {
            found = Certificate.all(in: stack)
            certs_sk_X509_pop_free(stack)
        }
        OpenSSLError.clear()  // "no certificate found" is an answer, not an error
        if cache.count < 256 { cache[key] = found }
        return found
    }
}

/// The system bundle file (`/etc/ssl/certs/ca-certificates.crt`), read into memory but parsed only
/// where a verification looks: an `X509_LOOKUP` that OpenSSL asks for the certificates with a
/// subject name when its store has none yet, as it asks the hashed-directory lookup.
///
/// Loading the whole bundle (`X509_STORE_load_file`) parses ~140 certificates, each `d2i_X509`
/// with OpenSSL 3.0's provider key decoder (~1.2M instructions): ~170M instructions per process,
/// most of a one-file `certs check`. Here the first lookup indexes the bundle by subject-name hash
/// (PEM decoding and each subject's canonical name only, no key decoding), and each lookup parses
/// and adds to the store every bundle certificate whose subject hashes like the name asked for.
/// The store then holds, for every name looked up, exactly the certificates the whole bundle has
/// with that name (OpenSSL picks among them in the store's own order, which does not depend on the
/// order they were added in), so every verification finds what it would find with the bundle
/// loaded; names never looked up cost nothing, and a run that serves kept verdicts parses none.
///
/// Only for bundles of plain `CERTIFICATE` blocks (`accepts`): `TRUSTED CERTIFICATE` (trust
/// settings), CRLs and anything else keep `X509_STORE_load_file`.
final class BundleLookup: @unchecked Sendable {
    /// The bundle's bytes as read when the store was made.
    let bytes: [UInt8]
    /// The file those bytes were read from, as `fstat` saw it while reading: path, device, inode,
    /// size, modification and change times (a change time cannot be set back: any rewrite,
    /// rename or restore of the file gives another). The trust store's fingerprint: hashing the
    /// bytes instead costs ~10M instructions, more than the rest of a cache hit.
    let identity: [UInt8]
    private struct Index {
        /// Each CERTIFICATE block's base64 text, as a range of `bytes`.
        var body: [Range<Int>] = []
        var loaded: [Bool] = []
        var byHash: [UInt: [Int]] = [:]
    }
    private let index = Locked<Index?>(nil)
    /// Bundle certificates parsed so far (`d2i_X509`), and whether the bundle was indexed: what a run paid.
    var parsed: Int { index.withValue { $0?.loaded.filter { $0 }.count ?? 0 } }
    var isIndexed: Bool { index.withValue { $0 != nil } }

    init(bytes: [UInt8], identity: [UInt8]) {
        self.bytes = bytes
        self.identity = identity
    }

    /// The bundle file's bytes and identity from one open file; nil when it cannot be read whole.
    static func read(_ path: String) -> (bytes: [UInt8], identity: [UInt8])? {
        guard let (fd, bytes, st) = FileSystem.openAndRead(path, limit: FileSystem.maximumInputSize) else { return nil }
        close(fd)
        let identity = "\(path) \(st.st_dev) \(st.st_ino) \(st.st_size) \(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec) \(st.st_ctim.tv_sec).\(st.st_ctim.tv_nsec)"
        return (bytes, Array(identity.utf8))
    }

    /// True when `bytes` holds at least one PEM block and every block is a plain `CERTIFICATE`.
    static func accepts(_ bytes: [UInt8]) -> Bool {
        let begin = Array("-----BEGIN ".utf8), certificate = Array("CERTIFICATE-----".utf8)
        var blocks = 0
        return bytes.withUnsafeBufferPointer { buf -> Bool in
            let n = buf.count
            var i = 0
            while i + begin.count <= n {
                // A PEM boundary starts a line.
                if buf[i] == 0x2d, i == 0 || buf[i - 1] == 0x0a, (0..<begin.count).allSatisfy({ buf[i + $0] == begin[$0] }) {
                    let at = i + begin.count
                    guard at + certificate.count <= n, (0..<certificate.count).allSatisfy({ buf[at + $0] == certificate[$0] }) else { return false }
                    blocks += 1
                    i = at + certificate.count
                } else {
                    i += 1
                }
            }
            return blocks > 0
        }
    }

    /// Adds a lookup over `bytes` to `store`; nil when OpenSSL would not take it.
    static func install(_ bytes: [UInt8], identity: [UInt8], in store: OpaquePointer) -> BundleLookup? {
        guard let method = Self.method, let lookup = X509_STORE_add_lookup(store, method) else { return nil }
        // The lookup owns a reference (released by the method's free): an SSL_CTX may keep the store longer than its TrustStore.
        let bundle = BundleLookup(bytes: bytes, identity: identity)
        let data = Unmanaged.passRetained(bundle).toOpaque()
        guard X509_LOOKUP_set_method_data(lookup, data) == 1 else {
            Unmanaged<BundleLookup>.fromOpaque(data).release()
            return nil
        }
        return bundle
    }

    private nonisolated(unsafe) static let method: OpaquePointer? = {
        guard let m = X509_LOOKUP_meth_new("certs system bundle") else { return nil }
        X509_LOOKUP_meth_set_get_by_subject(m) { lookup, type, name, ret in
            guard type == X509_LU_X509, let lookup, let name, let ret, let data = X509_LOOKUP_get_method_data(lookup),
                  let store = X509_LOOKUP_get_store(lookup) else { return 0 }
            Unmanaged<BundleLookup>.fromOpaque(data).takeUnretainedValue().load(name, into: store)
            // As the hashed-directory lookup answers: the store's first certificate of that name, borrowed.
            _ = X509_STORE_lock(store)
            defer { _ = X509_STORE_unlock(store) }
            guard let objects = X509_STORE_get0_objects(store),
                  let found = X509_OBJECT_retrieve_by_subject(objects, X509_LU_X509, name),
                  let x509 = X509_OBJECT_get0_X509(found), X509_OBJECT_set1_X509(ret, x509) == 1 else { return 0 }
            X509_free(x509)  // set1 took a reference; the caller takes its own (the store keeps the certificate)
            return 1
        }
        X509_LOOKUP_meth_set_free(m) { lookup in
            guard let lookup, let data = X509_LOOKUP_get_method_data(lookup) else { return }
            Unmanaged<BundleLookup>.fromOpaque(data).release()
        }
        return m
    }()

    /// Parses and adds to `store` every bundle certificate whose subject hashes like `name`, once.
    /// Under the bundle's lock until they are in the store: a concurrent lookup of the same name
    /// waits and then finds them.
    func load(_ name: OpaquePointer, into store: OpaquePointer) {
        var ok: Int32 = 0
        let hash = X509_NAME_hash_ex(name, nil, nil, &ok)
        guard ok == 1 else { return }
        index.withValue { index in
            if index == nil { index = Self.makeIndex(bytes) }
            guard let list = index?.byHash[hash] else { return }
            for i in list where index?.loaded[i] == false {
                index?.loaded[i] = true
                if let body = index?.body[i], let der = Self.decode(bytes[body]), let cert = Certificate.parseDER(der) {
                    _ = X509_STORE_add_cert(store, cert.pointer)
                }
            }
        }
        OpenSSLError.clear()
    }

    /// Every CERTIFICATE block, by the hash of its subject's canonical name (X509_NAME_hash_ex, as
    /// HASH.N files are named). Only the start of each block is decoded (the subject is in the
    /// first few hundred bytes): decoding all of the bundle's base64 cost more than the rest.
    private static func makeIndex(_ bytes: [UInt8]) -> Index {
        var out = Index()
        for body in certificateBodies(bytes) {
            let head = decode(bytes[body], prefix: 1024)
            guard let der = (head.flatMap { subjectRange($0) == nil ? nil : $0 }) ?? decode(bytes[body]),
                  let subject = subjectRange(der) else { continue }
            let hash: UInt? = der.withUnsafeBufferPointer { buf in
                var p: UnsafePointer<UInt8>? = buf.baseAddress! + subject.lowerBound
                guard let name = d2i_X509_NAME(nil, &p, subject.count) else { return nil }
                defer { X509_NAME_free(name) }
                var ok: Int32 = 0
                let h = X509_NAME_hash_ex(name, nil, nil, &ok)
                return ok == 1 ? h : nil
            }
            guard let hash else { continue }
            out.byHash[hash, default: []].append(out.body.count)
            out.body.append(body)
            out.loaded.append(false)
        }
        OpenSSLError.clear()
        return out
    }

    /// The base64 text of each `-----BEGIN CERTIFICATE-----` … `-----END CERTIFICATE-----` block
    /// (boundaries at the start of a line, as OpenSSL's PEM reader wants them); blocks with PEM
    /// headers are left out.
    static func certificateBodies(_ bytes: [UInt8]) -> [Range<Int>] {
        let begin = Array("-----BEGIN CERTIFICATE-----".utf8), end = Array("-----END CERTIFICATE-----".utf8)
        func at(_ i: Int, _ marker: [UInt8]) -> Bool {
            i + marker.count <= bytes.count && (i == 0 || bytes[i - 1] == 0x0a) && (0..<marker.count).allSatisfy { bytes[i + $0] == marker[$0] }
        }
        var out: [Range<Int>] = []
        var i = 0
        while i < bytes.count {
            guard bytes[i] == 0x2d, at(i, begin) else { i += 1; continue }
            let start = i + begin.count
            var j = start
            while j < bytes.count, !(bytes[j] == 0x2d && at(j, end)) { j += 1 }
            guard j < bytes.count else { break }
            if !bytes[start..<j].contains(0x3a) { out.append(start..<j) }  // ':' only in a header
            i = j + end.count
        }
        return out
    }

    private static let base64: [UInt8] = {
        var t = [UInt8](repeating: 0xff, count: 256)
        for (i, c) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() { t[Int(c)] = UInt8(i) }
        return t
    }()

    /// Base64 `text` decoded (whitespace skipped, up to the padding), or its first `prefix` characters'
    /// worth; nil on any other character.
    static func decode(_ text: ArraySlice<UInt8>, prefix: Int = .max) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(min(prefix, text.count) * 3 / 4)
        var acc: UInt32 = 0, n = 0, used = 0
        for c in text {
            if c == 0x0a || c == 0x0d || c == 0x20 || c == 0x09 { continue }
            if c == 0x3d { break }  // '=': the end
            let v = base64[Int(c)]
            guard v != 0xff else { return nil }
            acc = acc << 6 | UInt32(v)
            n += 1
            used += 1
            if n == 4 {
                out.append(UInt8(truncatingIfNeeded: acc >> 16)); out.append(UInt8(truncatingIfNeeded: acc >> 8)); out.append(UInt8(truncatingIfNeeded: acc))
                acc = 0; n = 0
                if used >= prefix { return out }
            }
        }
        if n == 3 { out.append(UInt8(truncatingIfNeeded: acc >> 10)); out.append(UInt8(truncatingIfNeeded: acc >> 2)) }
        else if n == 2 { out.append(UInt8(truncatingIfNeeded: acc >> 4)) }
        else if n == 1 { return nil }
        return out
    }

    /// Where the subject Name (tag, length and contents) is in a certificate's DER: Certificate ::=
    /// SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL, serialNumber, signature,
    /// issuer, validity, subject, … } … } (RFC 5280 §4.1).
    static func subjectRange(_ der: [UInt8]) -> Range<Int>? {
        /// The element at `at`: (tag, start of contents, end as its length says). The certificate and
        /// its tbsCertificate may go on past a prefix of the DER (`makeIndex`); what is read is in `der`.
        func outer(_ at: Int) -> (tag: UInt8, contents: Int, end: Int)? {
            guard at >= 0, at + 2 <= der.count else { return nil }
            var length = Int(der[at + 1]), contents = at + 2
            if length & 0x80 != 0 {
                let n = length & 0x7f
                guard n >= 1, n <= 4, contents + n <= der.count else { return nil }
                length = 0
                for i in 0..<n { length = length << 8 | Int(der[contents + i]) }
                contents += n
            }
            return (der[at], contents, contents + length)
        }
        /// The element at `at`, which must end within `end`.
        func element(_ at: Int, within end: Int) -> (tag: UInt8, contents: Int, end: Int)? {
            guard let e = outer(at), e.end <= end else { return nil }
            return e
        }
        guard let cert = outer(0), cert.tag == 0x30, let tbs = outer(cert.contents), tbs.tag == 0x30, tbs.end <= cert.end else { return nil }
        var at = tbs.contents
        guard var e = element(at, within: tbs.end) else { return nil }
        if e.tag == 0xa0 { at = e.end; guard let next = element(at, within: tbs.end) else { return nil }; e = next }
        // serialNumber, signature, issuer, validity; then the subject.
        for expected: UInt8 in [0x02, 0x30, 0x30, 0x30] {
            guard e.tag == expected else { return nil }
            at = e.end
            guard let next = element(at, within: tbs.end) else { return nil }
            e = next
        }
        guard e.tag == 0x30, e.end <= der.count else { return nil }
        return at..<e.end
    }
}
