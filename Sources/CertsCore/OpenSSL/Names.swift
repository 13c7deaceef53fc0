internal import COpenSSL

/// An X.509 distinguished name as an ordered list of attributes (most general first, as encoded).
public struct DistinguishedName: Sendable, Equatable, CustomStringConvertible {
    public struct Attribute: Sendable, Equatable {
        /// Short name ("CN", "O", "C") or the dotted OID when OpenSSL has no name for it.
        public let key: String
        public let value: String
        public init(_ key: String, _ value: String) { self.key = key; self.value = value }
    }

    public var attributes: [Attribute]

    public init(_ attributes: [Attribute] = []) { self.attributes = attributes }

    /// The subject fields users set: CN, O, OU, C, ST, L (emitted in the conventional C→CN order).
    public init(commonName: String? = nil, organization: String? = nil, organizationalUnit: String? = nil,
                country: String? = nil, state: String? = nil, locality: String? = nil) {
        var a: [Attribute] = []
        if let country { a.append(.init("C", country)) }
        if let state { a.append(.init("ST", state)) }
        if let locality { a.append(.init("L", locality)) }
        if let organization { a.append(.init("O", organization)) }
        if let organizationalUnit { a.append(.init("OU", organizationalUnit)) }
        if let commonName { a.append(.init("CN", commonName)) }
        attributes = a
    }

    public var commonName: String? { attributes.last { $0.key == "CN" }?.value }
    public var isEmpty: Bool { attributes.isEmpty }

    /// RFC 4514 order (most specific first): "CN=example.com, O=Example, C=US".
    public var description: String {
        var out = ""
        for (n, attribute) in attributes.reversed().enumerated() {
            if n > 0 { out += ", " }
            out += attribute.key
            out += "="
            out += Self.escape(attribute.value)
        }
        return out
    }

    /// RFC 4514 §2.4: a backslash before `,+"\<>;=`, a leading `#` or space and a trailing space.
    /// Worked on UTF-8 bytes (every special character is ASCII, and no byte of a multi-byte
    /// character is): a value that needs nothing, nearly every name, is returned as it is.
    static func escape(_ v: String) -> String {
        let utf8 = v.utf8
        guard let first = utf8.first, let last = utf8.last else { return v }
        func special(_ b: UInt8) -> Bool {
            switch b {
            case UInt8(ascii: ","), UInt8(ascii: "+"), UInt8(ascii: "\""), UInt8(ascii: "\\"),
                 UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: ";"), UInt8(ascii: "="): return true
            default: return false
            }
        }
        let space = UInt8(ascii: " ")
        if first != UInt8(ascii: "#"), first != space, last != space, !utf8.contains(where: special) { return v }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count + 4)
        let end = utf8.count - 1
        for (i, b) in utf8.enumerated() {
            let leading = i == 0 && (b == UInt8(ascii: "#") || b == space)
            let trailing = i == end && i > 0 && b == space
            if special(b) || leading || trailing { out.append(UInt8(ascii: "\\")) }
            out.append(b)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Reads a name from an `X509_NAME *` (borrowed).
    init(borrowing name: OpaquePointer?) {
        guard let name else { attributes = []; return }
        var a: [Attribute] = []
        let count = X509_NAME_entry_count(name)
        for i in 0..<count {
            guard let entry = X509_NAME_get_entry(name, i) else { continue }
            let object = X509_NAME_ENTRY_get_object(entry)
            let key = ObjectName.short(object)
            let value = ASN1Text.utf8(X509_NAME_ENTRY_get_data(entry)) ?? ""
            a.append(Attribute(key, value))
        }
        attributes = a
    }

    /// Builds an owned `X509_NAME *`; the caller frees it.
    func makeX509Name() throws -> OpaquePointer {
        let name = try ossl("allocating a name") { X509_NAME_new() }
        for attribute in attributes {
            let bytes = Array(attribute.value.utf8)
            guard !bytes.isEmpty else { continue }
            OpenSSLError.clear()
            let ok = bytes.withUnsafeBufferPointer {
                X509_NAME_add_entry_by_txt(name, attribute.key, MBSTRING_UTF8, $0.baseAddress, Int32($0.count), -1, 0)
            }
            if ok != 1 {
                X509_NAME_free(name)
                let e = OpenSSLError.drain("setting \(attribute.key)")
                throw InputError.invalidValue(option: "subject field \(attribute.key)", value: attribute.value,
                                              reason: e.entries.last?.reason ?? "rejected by OpenSSL")
            }
        }
        return name
    }
}

enum ObjectName {
    /// Short name of an ASN.1 object ("CN", "serverAuth"), or its dotted OID.
    static func short(_ object: OpaquePointer?) -> String {
        guard let object else { return "?" }
        let nid = OBJ_obj2nid(object)
        if nid != NID_undef, let sn = OBJ_nid2sn(nid) { return String(cString: sn) }
        return dotted(object)
    }

    static func long(_ object: OpaquePointer?) -> String {
        guard let object else { return "?" }
        let nid = OBJ_obj2nid(object)
        if nid != NID_undef, let ln = OBJ_nid2ln(nid) { return String(cString: ln) }
        return dotted(object)
    }

    static func dotted(_ object: OpaquePointer) -> String {
        var buffer = [CChar](repeating: 0, count: 128)
        OBJ_obj2txt(&buffer, Int32(buffer.count), object, 1)
        return String(cBuffer: buffer)
    }
}

enum ASN1Text {
    /// An ASN.1 string as UTF-8 (converting BMP/Teletex/etc. as OpenSSL does).
    static func utf8(_ string: UnsafePointer<ASN1_STRING>?) -> String? {
        guard let string else { return nil }
        var out: UnsafeMutablePointer<UInt8>? = nil
        let length = ASN1_STRING_to_UTF8(&out, string)
        guard length >= 0, let out else { return nil }
        defer { certs_OPENSSL_free(out) }
        return String(decoding: UnsafeBufferPointer(start: out, count: Int(length)), as: UTF8.self)
    }

    static func utf8(_ string: UnsafeMutablePointer<ASN1_STRING>?) -> String? {
        utf8(UnsafePointer(string))
    }

    static func bytes(_ string: UnsafePointer<ASN1_STRING>?) -> [UInt8] {
        guard let string, let data = ASN1_STRING_get0_data(string) else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: Int(ASN1_STRING_length(string))))
    }
}

/// One subjectAltName entry.
public enum GeneralName: Sendable, Hashable, CustomStringConvertible {
    case dns(String)
    case ip(String)
    case email(String)
    case uri(String)
    case other(String)

    /// "DNS:example.com", "IP:192.0.2.1", the form OpenSSL and users write.
    public var description: String {
        switch self {
        case .dns(let v): return "DNS:\(v)"
        case .ip(let v): return "IP:\(v)"
        case .email(let v): return "email:\(v)"
        case .uri(let v): return "URI:\(v)"
        case .other(let v): return v
        }
    }

    public var value: String {
        switch self {
        case .dns(let v), .ip(let v), .email(let v), .uri(let v), .other(let v): return v
        }
    }

    /// Parses `DNS:name`, `IP:addr`, `email:x`, `URI:x`, or a bare name/address (guessed).
    /// DNS names are checked and lower-cased; IP addresses are normalised.
    public init(parsing text: String) throws {
        let trimmed = text.trimmingSpaces
        if let colon = trimmed.firstIndex(of: ":") {
            let tag = trimmed[..<colon].lowercased()
            let value = String(trimmed[trimmed.index(after: colon)...])
            switch tag {
            case "dns": self = .dns(try HostName.validate(value)); return
            case "ip":
                guard let ip = IPAddress.normalize(value) else {
                    throw InputError.invalidValue(option: "SAN", value: text, reason: "not an IPv4 or IPv6 address")
                }
                self = .ip(ip); return
            case "email":
                guard value.contains("@"), !value.contains(","), !value.contains(" ") else {
                    throw InputError.invalidValue(option: "SAN", value: text, reason: "not an email address")
                }
                self = .email(value); return
            case "uri":
                guard value.contains(":"), !value.contains(","), !value.contains(" ") else {
                    throw InputError.invalidValue(option: "SAN", value: text, reason: "not a URI")
                }
                self = .uri(value); return
            default:
                if IPAddress.normalize(trimmed) == nil {
                    throw InputError.invalidValue(option: "SAN", value: text, reason: "use DNS:name, IP:address, email:addr or URI:uri")
                }
            }
        }
        if let ip = IPAddress.normalize(trimmed) { self = .ip(ip) } else { self = .dns(try HostName.validate(trimmed)) }
    }

    /// Reads an entry from OpenSSL's `GENERAL_NAME`.
    init(_ g: UnsafePointer<GENERAL_NAME>) {
        let type = certs_GENERAL_NAME_type(g)
        let text = certs_GENERAL_NAME_string(g)
        switch type {
        case GEN_DNS: self = .dns(String(decoding: ASN1Text.bytes(text), as: UTF8.self))
        case GEN_EMAIL: self = .email(String(decoding: ASN1Text.bytes(text), as: UTF8.self))
        case GEN_URI: self = .uri(String(decoding: ASN1Text.bytes(text), as: UTF8.self))
        case GEN_IPADD: self = .ip(IPAddress.format(ASN1Text.bytes(text)))
        case GEN_DIRNAME: self = .other("DirName:\(DistinguishedName(borrowing: certs_GENERAL_NAME_dirname(g)))")
        default: self = .other("othername")
        }
    }
}

/// DNS host names as certificates carry them.
public enum HostName {
    /// Lower-cases and checks a DNS name (`*.` allowed as the whole left-most label).
    public static func validate(_ raw: String) throws -> String {
        let name = raw.lowercased().hasSuffix(".") ? String(raw.lowercased().dropLast()) : raw.lowercased()
        func fail(_ why: String) -> InputError { .invalidValue(option: "DNS name", value: raw, reason: why) }
        guard !name.isEmpty else { throw fail("empty") }
        guard name.utf8.count <= 253 else { throw fail("longer than 253 characters") }
        guard name.unicodeScalars.allSatisfy(\.isASCII) else { throw fail("not ASCII; write internationalised names in their xn-- (punycode) form") }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        for (i, label) in labels.enumerated() {
            if label == "*" {
                guard i == 0, labels.count >= 3 else { throw fail("a wildcard must be the whole left-most label of a name with at least two more labels (*.example.com)") }
                continue
            }
            guard !label.isEmpty else { throw fail("empty label") }
            guard label.utf8.count <= 63 else { throw fail("label longer than 63 characters") }
            guard label.utf8.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 || $0 == 95 }) else {
                throw fail("only letters, digits, '-' and '_' are allowed in a label")
            }
            guard !label.hasPrefix("-"), !label.hasSuffix("-") else { throw fail("a label cannot start or end with '-'") }
        }
        return name
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// IPv4/IPv6 text and bytes, through the C library's inet_pton/inet_ntop.
public enum IPAddress {
    /// The canonical text form of an address, or nil when `text` is not one.
    public static func normalize(_ text: String) -> String? {
        let t = text.hasPrefix("[") && text.hasSuffix("]") ? String(text.dropFirst().dropLast()) : text
        guard let bytes = parse(t) else { return nil }
        return format(bytes)
    }

    /// 4 or 16 bytes, or nil.
    public static func parse(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }

    public static func format(_ bytes: [UInt8]) -> String {
        var buffer = [CChar](repeating: 0, count: 64)
        switch bytes.count {
        case 4:
            _ = bytes.withUnsafeBytes { inet_ntop(AF_INET, $0.baseAddress, &buffer, 64) }
        case 16:
            _ = bytes.withUnsafeBytes { inet_ntop(AF_INET6, $0.baseAddress, &buffer, 64) }
        default:
            return bytes.hexString
        }
        return String(cBuffer: buffer)
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\n" || f == "\r" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\n" || l == "\r" { s = s.dropLast() }
        return String(s)
    }
}

extension Sequence where Element == UInt8 {
    /// Lower-case hex without separators.
    public var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in self { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Upper-case hex pairs joined by ':' (the form `openssl x509 -fingerprint` prints).
    public var colonHex: String {
        let digits = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for b in self {
            if !out.isEmpty { out.append(58) }
            out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
