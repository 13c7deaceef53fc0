/// DNS messages (RFC 1035 §4): the query certs sends and the answers it reads, for the DNS-01
/// propagation check and the CAA check. Only what those need: A, AAAA, NS, CNAME, SOA, TXT and
/// CAA (RFC 8659 §4.1) are decoded; other types are kept as raw bytes.
///
/// Answers are untrusted input (any server, or anything that spoofs one, can send them): every
/// read is bounds-checked, and a compression pointer must point strictly before the label that
/// holds it, so pointer loops cannot exist and a name costs at most 255 bytes of work.
public enum DNSType: UInt16, Sendable, CustomStringConvertible {
    case a = 1, ns = 2, cname = 5, soa = 6, txt = 16, aaaa = 28, opt = 41, caa = 257

    public var description: String {
        switch self {
        case .a: return "A"
        case .ns: return "NS"
        case .cname: return "CNAME"
        case .soa: return "SOA"
        case .txt: return "TXT"
        case .aaaa: return "AAAA"
        case .opt: return "OPT"
        case .caa: return "CAA"
        }
    }
}

/// The data of one resource record.
public enum DNSRecordData: Equatable, Sendable {
    case a([UInt8])
    case aaaa([UInt8])
    case ns(String)
    case cname(String)
    case soa(primary: String, mailbox: String, serial: UInt32)
    /// The character-strings of one TXT record (RFC 1035 §3.3.14), in order.
    case txt([[UInt8]])
    /// RFC 8659 §4.1: flags (bit 128 = issuer critical), tag, value.
    case caa(flags: UInt8, tag: String, value: String)
    case other([UInt8])
}

public struct DNSRecord: Equatable, Sendable, CustomStringConvertible {
    /// Lower-case, no trailing dot ("" is the root).
    public let name: String
    public let type: UInt16
    public let ttl: UInt32
    public let data: DNSRecordData

    /// The TXT record's strings joined (how a DNS-01 value longer than 255 bytes is split).
    public var text: String? {
        guard case .txt(let parts) = data else { return nil }
        return String(decoding: parts.joined(), as: UTF8.self)
    }

    /// Zone-file form, for messages ("example.com. CAA 0 issue \"ca.example\"").
    public var description: String {
        let owner = name.isEmpty ? "." : "\(name)."
        switch data {
        case .a(let b), .aaaa(let b): return "\(owner) \(type == 1 ? "A" : "AAAA") \(IPAddress.format(b))"
        case .ns(let n): return "\(owner) NS \(n)."
        case .cname(let n): return "\(owner) CNAME \(n)."
        case .soa(let p, let m, let s): return "\(owner) SOA \(p). \(m). \(s)"
        case .txt: return "\(owner) TXT \"\(text ?? "")\""
        case .caa(let f, let t, let v): return "\(owner) CAA \(f) \(t) \"\(v)\""
        case .other(let b): return "\(owner) TYPE\(type) (\(b.count) bytes)"
        }
    }
}

public struct DNSQuestion: Equatable, Sendable {
    public let name: String
    public let type: UInt16
}

/// Response codes certs tells apart (RFC 1035 §4.1.1).
public enum DNSResponseCode: UInt8, Sendable {
    case noError = 0, formatError = 1, serverFailure = 2, nameError = 3, notImplemented = 4, refused = 5

    static func describe(_ code: UInt8) -> String {
        switch DNSResponseCode(rawValue: code) {
        case .noError: return "NOERROR"
        case .formatError: return "FORMERR"
        case .serverFailure: return "SERVFAIL"
        case .nameError: return "NXDOMAIN"
        case .notImplemented: return "NOTIMP"
        case .refused: return "REFUSED"
        case nil: return "RCODE \(code)"
        }
    }
}

public struct DNSMessage: Equatable, Sendable {
    public var id: UInt16
    public var isResponse: Bool
    public var authoritative: Bool
    public var truncated: Bool
    public var recursionDesired: Bool
    public var responseCode: UInt8
    public var questions: [DNSQuestion]
    public var answers: [DNSRecord]
    public var authority: [DNSRecord]
    public var additional: [DNSRecord]

    public var rcodeText: String { DNSResponseCode.describe(responseCode) }

    /// A query for one name and type; `recursionDesired` off for questions to an authoritative server.
    public static func query(id: UInt16, name: String, type: DNSType, recursionDesired: Bool) throws -> [UInt8] {
        var out: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xff), recursionDesired ? 0x01 : 0x00, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
        try encode(name: name, into: &out)
        out += [UInt8(type.rawValue >> 8), UInt8(type.rawValue & 0xff), 0, 1]  // class IN
        return out
    }

    /// Wire form of a name: length-prefixed labels, each 1…63 bytes, at most 255 in all.
    static func encode(name: String, into out: inout [UInt8]) throws {
        let trimmed = name.hasSuffix(".") ? String(name.dropLast()) : name
        var length = 1
        if !trimmed.isEmpty {
            for label in trimmed.split(separator: ".", omittingEmptySubsequences: false) {
                let bytes = Array(label.utf8)
                guard !bytes.isEmpty, bytes.count <= 63 else { throw DNSError.invalidName(name) }
                out.append(UInt8(bytes.count))
                out += bytes
                length += bytes.count + 1
            }
        }
        guard length <= 255 else { throw DNSError.invalidName(name) }
        out.append(0)
    }

    /// Decodes a whole message; throws `DNSError.malformed` on anything out of bounds.
    public init(decoding bytes: [UInt8]) throws {
        var r = Reader(bytes: bytes)
        id = try r.u16()
        let flags = try r.u16()
        isResponse = flags & 0x8000 != 0
        authoritative = flags & 0x0400 != 0
        truncated = flags & 0x0200 != 0
        recursionDesired = flags & 0x0100 != 0
        responseCode = UInt8(flags & 0x000f)
        let qd = Int(try r.u16()), an = Int(try r.u16()), ns = Int(try r.u16()), ar = Int(try r.u16())
        var questions: [DNSQuestion] = []
        for _ in 0..<qd {
            let name = try r.name()
            let type = try r.u16()
            _ = try r.u16()
            questions.append(DNSQuestion(name: name, type: type))
        }
        self.questions = questions
        // A truncated answer may end mid-record: keep what decoded, the caller retries over TCP.
        func records(_ count: Int) throws -> [DNSRecord] {
            var out: [DNSRecord] = []
            out.reserveCapacity(min(count, 64))
            for _ in 0..<count { out.append(try r.record()) }
            return out
        }
        if truncated {
            answers = (try? records(an)) ?? []
            authority = []
            additional = []
        } else {
            answers = try records(an)
            authority = try records(ns)
            additional = try records(ar)
        }
    }

    public init(id: UInt16, isResponse: Bool, authoritative: Bool, truncated: Bool, recursionDesired: Bool, responseCode: UInt8,
                questions: [DNSQuestion], answers: [DNSRecord], authority: [DNSRecord], additional: [DNSRecord]) {
        self.id = id
        self.isResponse = isResponse
        self.authoritative = authoritative
        self.truncated = truncated
        self.recursionDesired = recursionDesired
        self.responseCode = responseCode
        self.questions = questions
        self.answers = answers
        self.authority = authority
        self.additional = additional
    }
}

/// A bounds-checked cursor over a message.
struct Reader {
    let bytes: [UInt8]
    var offset = 0

    mutating func u8() throws -> UInt8 {
        guard offset < bytes.count else { throw DNSError.malformed("message ends at byte \(offset)") }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func u16() throws -> UInt16 { UInt16(try u8()) << 8 | UInt16(try u8()) }

    mutating func u32() throws -> UInt32 { UInt32(try u16()) << 16 | UInt32(try u16()) }

    mutating func take(_ n: Int) throws -> [UInt8] {
        guard n >= 0, n <= bytes.count - offset else { throw DNSError.malformed("a field of \(n) bytes runs past the end at byte \(offset)") }
        defer { offset += n }
        return Array(bytes[offset..<(offset + n)])
    }

    /// A possibly compressed name at the cursor (RFC 1035 §4.1.4). Each pointer must point before
    /// the label that holds it, so following pointers always moves backwards and ends.
    mutating func name() throws -> String {
        var labels: [String] = []
        var position = offset
        var jumped = false
        var total = 1
        var floor = offset  // a pointer must target an offset below this
        while true {
            guard position < bytes.count else { throw DNSError.malformed("a name runs past the end at byte \(position)") }
            let length = Int(bytes[position])
            if length == 0 {
                if !jumped { offset = position + 1 }
                break
            }
            switch length & 0xc0 {
            case 0xc0:
                guard position + 1 < bytes.count else { throw DNSError.malformed("a name pointer runs past the end at byte \(position)") }
                let target = (length & 0x3f) << 8 | Int(bytes[position + 1])
                guard target < floor else { throw DNSError.malformed("a name pointer at byte \(position) does not point backwards") }
                if !jumped { offset = position + 2 }
                jumped = true
                floor = target
                position = target
            case 0x00:
                guard position + 1 + length <= bytes.count else { throw DNSError.malformed("a label runs past the end at byte \(position)") }
                total += length + 1
                guard total <= 255 else { throw DNSError.malformed("a name longer than 255 bytes at byte \(offset)") }
                labels.append(Self.label(bytes[(position + 1)..<(position + 1 + length)]))
                position += 1 + length
                if !jumped { floor = position }
            default:
                throw DNSError.malformed("an unknown label type at byte \(position)")
            }
        }
        return labels.joined(separator: ".")
    }

    /// Lower-cased (names compare without case); a dot, backslash or non-printable byte inside a
    /// label is written \DDD so it cannot be mistaken for a label boundary.
    static func label(_ bytes: ArraySlice<UInt8>) -> String {
        var s = ""
        for b in bytes {
            if b > 0x20, b < 0x7f, b != 0x2e, b != 0x5c {
                s.unicodeScalars.append(Unicode.Scalar(b >= 0x41 && b <= 0x5a ? b + 0x20 : b))
            } else {
                let d = String(b)
                s += "\\" + String(repeating: "0", count: 3 - d.count) + d
            }
        }
        return s
    }

    mutating func record() throws -> DNSRecord {
        let owner = try name()
        let type = try u16()
        _ = try u16()  // class
        let ttl = try u32()
        let length = Int(try u16())
        guard length <= bytes.count - offset else { throw DNSError.malformed("record data of \(length) bytes runs past the end at byte \(offset)") }
        let end = offset + length
        let data: DNSRecordData
        switch DNSType(rawValue: type) {
        case .a:
            guard length == 4 else { throw DNSError.malformed("an A record of \(length) bytes") }
            data = .a(try take(4))
        case .aaaa:
            guard length == 16 else { throw DNSError.malformed("an AAAA record of \(length) bytes") }
            data = .aaaa(try take(16))
        case .ns:
            data = .ns(try name())
        case .cname:
            data = .cname(try name())
        case .soa:
            let primary = try name(), mailbox = try name()
            let serial = try u32()
            _ = try take(16)  // refresh, retry, expire, minimum
            data = .soa(primary: primary, mailbox: mailbox, serial: serial)
        case .txt:
            var parts: [[UInt8]] = []
            while offset < end { parts.append(try take(Int(try u8()))) }
            data = .txt(parts)
        case .caa:
            let flags = try u8()
            let tagLength = Int(try u8())
            guard tagLength >= 1, tagLength <= 15, offset + tagLength <= end else { throw DNSError.malformed("a CAA tag of \(tagLength) bytes") }
            let tag = String(decoding: try take(tagLength), as: UTF8.self).lowercased()
            data = .caa(flags: flags, tag: tag, value: String(decoding: try take(end - offset), as: UTF8.self))
        default:
            data = .other(try take(length))
        }
        guard offset == end else { throw DNSError.malformed("\(DNSType(rawValue: type)?.description ?? "TYPE\(type)") record data of \(length) bytes does not match its content") }
        return DNSRecord(name: owner, type: type, ttl: ttl, data: data)
    }
}
