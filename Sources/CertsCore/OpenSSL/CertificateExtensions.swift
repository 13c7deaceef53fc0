internal import COpenSSL

/// Raw views of certificate fields the Web PKI rules need and OpenSSL's typed accessors hide:
/// whether an extension is critical, its DER value, the serial's encoding, the key's type.
///
/// Extensions whose structure matters when it is *wrong* (nameConstraints, authorityInfoAccess)
/// are read from their DER with `DERReader`, not through `X509_get_ext_d2i`: OpenSSL either
/// rejects a malformed value outright (then we could not say what is wrong) or accepts shapes
/// RFC 5280 forbids (an empty SEQUENCE where SIZE (1..MAX) is required).
extension Certificate {
    /// The extensions the policies read by name, so they need no OpenSSL NIDs.
    enum Known {
        case subjectAltName, extendedKeyUsage, basicConstraints, nameConstraints
        var nid: Int32 {
            switch self {
            case .subjectAltName: return NID_subject_alt_name
            case .extendedKeyUsage: return NID_ext_key_usage
            case .basicConstraints: return NID_basic_constraints
            case .nameConstraints: return NID_name_constraints
            }
        }
    }

    func rawExtension(_ known: Known) -> (critical: Bool, value: [UInt8])? { rawExtension(known.nid) }

    /// The extension with `nid`: its critical flag and its DER value (the OCTET STRING's content).
    func rawExtension(_ nid: Int32) -> (critical: Bool, value: [UInt8])? {
        let index = X509_get_ext_by_NID(pointer, nid, -1)
        guard index >= 0, let ext = X509_get_ext(pointer, index) else { return nil }
        let data = X509_EXTENSION_get_data(ext)
        return (X509_EXTENSION_get_critical(ext) == 1, ASN1Text.bytes(data.map { UnsafePointer($0) }))
    }

    /// The serial number as encoded: its sign, whether it is zero, and the number of content
    /// octets of its DER INTEGER (RFC 5280 4.1.2.2 allows at most 20).
    var serialEncoding: (negative: Bool, zero: Bool, octets: Int) {
        guard let serial = X509_get0_serialNumber(pointer) else { return (false, true, 0) }
        let negative = ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER
        let magnitude = ASN1Text.bytes(serial)
        let zero = magnitude.allSatisfy { $0 == 0 }
        var der: UnsafeMutablePointer<UInt8>? = nil
        let length = i2d_ASN1_INTEGER(serial, &der)
        defer { if let der { certs_OPENSSL_free(der) } }
        guard length > 2, let der else { return (negative, zero, magnitude.count) }
        // Tag, then a short or long length form.
        let header = der[1] & 0x80 == 0 ? 2 : 2 + Int(der[1] & 0x7f)
        return (negative, zero, Int(length) - header)
    }

    /// `EVP_PKEY_get_base_id` of the key (EVP_PKEY_DSA, EVP_PKEY_RSA…), 0 when it does not decode.
    var keyBaseID: Int32 {
        defer { OpenSSLError.clear() }
        guard let key = X509_get0_pubkey(pointer) else { return 0 }
        return EVP_PKEY_get_base_id(key)
    }

    /// A DSA key (the Baseline Requirements no longer allow one).
    var hasDSAKey: Bool { keyBaseID == EVP_PKEY_DSA }

    /// The key's family without the curve-name lookup `publicKey.algorithm` does (hot path).
    var keyFamily: KeyAlgorithm {
        guard let key = X509_get0_pubkey(pointer) else { return .other(name: "unknown", bits: 0) }
        let bits = Int(EVP_PKEY_get_bits(key))
        switch EVP_PKEY_get_base_id(key) {
        case EVP_PKEY_RSA, EVP_PKEY_RSA_PSS: return .rsa(bits: bits)
        case EVP_PKEY_EC: return .ec(curve: "", bits: bits)
        case EVP_PKEY_ED25519: return .ed25519
        case EVP_PKEY_ED448: return .ed448
        default: return .other(name: "", bits: bits)
        }
    }

    /// The authorityKeyIdentifier extension: present, and whether it carries a keyIdentifier.
    var authorityKeyIdentifierShape: (present: Bool, hasKeyIdentifier: Bool) {
        guard X509_get_ext_by_NID(pointer, NID_authority_key_identifier, -1) >= 0 else { return (false, false) }
        // OpenSSL's cached copy (decoded once per certificate by its extension cache).
        return (true, X509_get0_authority_key_id(pointer) != nil)
    }

    var hasSubjectKeyIdentifier: Bool { X509_get_ext_by_NID(pointer, NID_subject_key_identifier, -1) >= 0 }

    /// True when the subject is an empty SEQUENCE.
    var hasEmptySubject: Bool { X509_NAME_entry_count(X509_get_subject_name(pointer)) == 0 }

    /// Every commonName in the subject, decoded to UTF-8 (BMPString and the like converted).
    var subjectCommonNames: [String] {
        subject.attributes.filter { $0.key == "CN" }.map(\.value)
    }

    /// nameConstraints as RFC 5280 4.2.1.10 defines it, nil when absent.
    var nameConstraints: NameConstraintsShape? {
        guard let raw = rawExtension(NID_name_constraints) else { return nil }
        return NameConstraintsShape(der: raw.value, critical: raw.critical)
    }

    /// What is wrong with authorityInfoAccess (RFC 5280 4.2.2.1), nil when absent or well-formed.
    var authorityInfoAccessDefect: String? {
        guard let raw = rawExtension(NID_info_access) else { return nil }
        return AuthorityInfoAccessShape.defect(raw.value)
    }
}

/// The parts of a NameConstraints value the rules look at.
struct NameConstraintsShape: Equatable {
    let critical: Bool
    /// Number of GeneralSubtree entries, nil when the field is absent.
    var permitted: Int? = nil
    var excluded: Int? = nil
    /// The dNSName bases of both lists.
    var dnsBases: [String] = []
    /// Set when the DER is not a NameConstraints value.
    var malformed: String? = nil

    init(der: [UInt8], critical: Bool) {
        self.critical = critical
        var outer = DERReader(der)
        guard let body = outer.read(tag: 0x30), outer.atEnd else { malformed = "not a SEQUENCE"; return }
        var fields = DERReader(body)
        while !fields.atEnd {
            guard let (tag, content) = fields.next() else { malformed = "truncated"; return }
            // [0] permittedSubtrees, [1] excludedSubtrees: IMPLICIT SEQUENCE OF GeneralSubtree.
            guard tag == 0xa0 || tag == 0xa1 else { malformed = "unexpected field"; return }
            var subtrees = DERReader(content)
            var count = 0
            while !subtrees.atEnd {
                guard let subtree = subtrees.read(tag: 0x30) else { malformed = "a GeneralSubtree is not a SEQUENCE"; return }
                var s = DERReader(subtree)
                guard let (baseTag, base) = s.next() else { malformed = "a GeneralSubtree has no base"; return }
                if baseTag == 0x82 { dnsBases.append(String(decoding: base, as: UTF8.self)) }  // [2] IMPLICIT IA5String
                count += 1
            }
            if tag == 0xa0 { permitted = count } else { excluded = count }
        }
    }
}

/// authorityInfoAccess ::= SEQUENCE SIZE (1..MAX) OF AccessDescription
/// AccessDescription ::= SEQUENCE { accessMethod OBJECT IDENTIFIER, accessLocation GeneralName }
enum AuthorityInfoAccessShape {
    static func defect(_ der: [UInt8]) -> String? {
        var outer = DERReader(der)
        guard let body = outer.read(tag: 0x30), outer.atEnd else { return "it is not a SEQUENCE of AccessDescriptions" }
        var list = DERReader(body)
        if list.atEnd { return "it lists no AccessDescription (RFC 5280 requires at least one)" }
        var position = 0
        while !list.atEnd {
            position += 1
            guard let description = list.read(tag: 0x30) else { return "AccessDescription \(position) is not a SEQUENCE" }
            if description.isEmpty { return "AccessDescription \(position) is empty" }
            var fields = DERReader(description)
            guard let method = fields.read(tag: 0x06), !method.isEmpty else { return "AccessDescription \(position) has no accessMethod OID" }
            guard let (tag, location) = fields.next() else { return "AccessDescription \(position) has no accessLocation" }
            // GeneralName: context-specific [0]…[8]; [1], [2], [6] (email, DNS, URI) and [7] are primitive.
            guard tag & 0xc0 == 0x80, tag & 0x1f <= 8 else { return "AccessDescription \(position)'s accessLocation is not a GeneralName" }
            if tag == 0x86 && location.isEmpty { return "AccessDescription \(position) has an empty URI" }
            guard fields.atEnd else { return "AccessDescription \(position) has trailing data" }
        }
        return nil
    }
}

/// A minimal DER reader for the extension shapes above: tag, definite length, content. Reads
/// single-byte tags only (all that X.509 extensions use); any inconsistency ends the read with nil.
struct DERReader {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { offset >= bytes.count }

    /// The next element's tag and content, nil when truncated or not DER-shaped.
    mutating func next() -> (tag: UInt8, content: [UInt8])? {
        guard offset + 2 <= bytes.count else { return nil }
        let tag = bytes[offset]
        guard tag & 0x1f != 0x1f else { return nil }  // multi-byte tags: not used by these structures
        var length = Int(bytes[offset + 1])
        var cursor = offset + 2
        if length & 0x80 != 0 {
            let count = length & 0x7f
            guard count >= 1, count <= 3, cursor + count <= bytes.count else { return nil }
            length = 0
            for _ in 0..<count { length = length << 8 | Int(bytes[cursor]); cursor += 1 }
        }
        guard cursor + length <= bytes.count else { return nil }
        offset = cursor + length
        return (tag, Array(bytes[cursor..<cursor + length]))
    }

    /// The next element's content if it has `tag`.
    mutating func read(tag: UInt8) -> [UInt8]? {
        let saved = offset
        guard let (t, content) = next(), t == tag else { offset = saved; return nil }
        return content
    }
}
