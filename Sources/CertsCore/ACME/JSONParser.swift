/// A strict RFC 8259 JSON reader producing the `JSON` enum, for ACME server responses.
///
/// Bounded: documents larger than `maximumSize` bytes or nested deeper than `maximumDepth` are
/// refused, so a hostile or broken server cannot exhaust memory or the stack. Numbers with a
/// fraction or exponent (which ACME never sends) are kept as their literal text in `.string`.
public struct JSONParser {
    public static let defaultMaximumSize = 4 * 1024 * 1024
    public static let defaultMaximumDepth = 64

    public var maximumSize: Int
    public var maximumDepth: Int

    public init(maximumSize: Int = JSONParser.defaultMaximumSize, maximumDepth: Int = JSONParser.defaultMaximumDepth) {
        self.maximumSize = maximumSize
        self.maximumDepth = maximumDepth
    }

    public static func parse(_ text: String) throws -> JSON { try JSONParser().parse(Array(text.utf8)) }
    public static func parse(_ bytes: [UInt8]) throws -> JSON { try JSONParser().parse(bytes) }

    public func parse(_ bytes: [UInt8]) throws -> JSON {
        guard bytes.count <= maximumSize else { throw JSONParseError(offset: 0, reason: "document larger than \(maximumSize) bytes") }
        var reader = Reader(bytes: bytes, maximumDepth: maximumDepth)
        reader.skipSpace()
        let value = try reader.value(depth: 0)
        reader.skipSpace()
        guard reader.position == bytes.count else { throw reader.fail("unexpected data after the document") }
        return value
    }

    struct Reader {
        let bytes: [UInt8]
        let maximumDepth: Int
        var position = 0

        init(bytes: [UInt8], maximumDepth: Int) {
            self.bytes = bytes
            self.maximumDepth = maximumDepth
        }

        func fail(_ reason: String) -> JSONParseError { JSONParseError(offset: position, reason: reason) }

        var peek: UInt8? { position < bytes.count ? bytes[position] : nil }

        mutating func skipSpace() {
            while let c = peek, c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D { position += 1 }
        }

        mutating func expect(_ literal: String, _ value: JSON) throws -> JSON {
            let l = Array(literal.utf8)
            guard position + l.count <= bytes.count, Array(bytes[position..<position + l.count]) == l else { throw fail("invalid literal") }
            position += l.count
            return value
        }

        mutating func value(depth: Int) throws -> JSON {
            guard depth <= maximumDepth else { throw fail("nested deeper than \(maximumDepth) levels") }
            guard let c = peek else { throw fail("unexpected end of document") }
            switch c {
            case UInt8(ascii: "{"): return try object(depth: depth)
            case UInt8(ascii: "["): return try array(depth: depth)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): return try expect("true", .bool(true))
            case UInt8(ascii: "f"): return try expect("false", .bool(false))
            case UInt8(ascii: "n"): return try expect("null", .null)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
            default: throw fail("unexpected character")
            }
        }

        mutating func object(depth: Int) throws -> JSON {
            position += 1
            var fields: [(String, JSON)] = []
            skipSpace()
            if peek == UInt8(ascii: "}") { position += 1; return .object(fields) }
            while true {
                skipSpace()
                guard peek == UInt8(ascii: "\"") else { throw fail("expected a string key") }
                let key = try string()
                skipSpace()
                guard peek == UInt8(ascii: ":") else { throw fail("expected ':'") }
                position += 1
                skipSpace()
                let v = try value(depth: depth + 1)
                if let i = fields.firstIndex(where: { $0.0 == key }) { fields[i].1 = v } else { fields.append((key, v)) }
                skipSpace()
                guard let c = peek else { throw fail("unterminated object") }
                position += 1
                if c == UInt8(ascii: "}") { return .object(fields) }
                guard c == UInt8(ascii: ",") else { position -= 1; throw fail("expected ',' or '}'") }
            }
        }

        mutating func array(depth: Int) throws -> JSON {
            position += 1
            var items: [JSON] = []
            skipSpace()
            if peek == UInt8(ascii: "]") { position += 1; return .array(items) }
            while true {
                skipSpace()
                items.append(try value(depth: depth + 1))
                skipSpace()
                guard let c = peek else { throw fail("unterminated array") }
                position += 1
                if c == UInt8(ascii: "]") { return .array(items) }
                guard c == UInt8(ascii: ",") else { position -= 1; throw fail("expected ',' or ']'") }
            }
        }

        mutating func hex4() throws -> UInt32 {
            guard position + 4 <= bytes.count else { throw fail("truncated \\u escape") }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let c = bytes[position]
                let d: UInt32
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - 48)
                case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - 87)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - 55)
                default: throw fail("invalid \\u escape")
                }
                v = v << 4 | d
                position += 1
            }
            return v
        }

        mutating func string() throws -> String {
            position += 1
            var out: [UInt8] = []
            while true {
                guard let c = peek else { throw fail("unterminated string") }
                position += 1
                switch c {
                case UInt8(ascii: "\""):
                    // Validate UTF-8 strictly: a server's invalid bytes are an error, not U+FFFD.
                    guard let s = String(validating: out, as: UTF8.self) else { throw fail("invalid UTF-8 in a string") }
                    return s
                case UInt8(ascii: "\\"):
                    guard let e = peek else { throw fail("unterminated escape") }
                    position += 1
                    switch e {
                    case UInt8(ascii: "\""): out.append(0x22)
                    case UInt8(ascii: "\\"): out.append(0x5C)
                    case UInt8(ascii: "/"): out.append(0x2F)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        var scalar = try hex4()
                        if scalar >= 0xD800 && scalar < 0xDC00 {
                            guard position + 2 <= bytes.count, bytes[position] == 0x5C, bytes[position + 1] == UInt8(ascii: "u") else {
                                throw fail("unpaired surrogate")
                            }
                            position += 2
                            let low = try hex4()
                            guard low >= 0xDC00 && low < 0xE000 else { throw fail("unpaired surrogate") }
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        } else if scalar >= 0xDC00 && scalar < 0xE000 {
                            throw fail("unpaired surrogate")
                        }
                        guard let u = Unicode.Scalar(scalar) else { throw fail("invalid \\u escape") }
                        out += Array(String(Character(u)).utf8)
                    default: throw fail("invalid escape")
                    }
                default:
                    guard c >= 0x20 else { position -= 1; throw fail("control character in a string") }
                    out.append(c)
                }
            }
        }

        mutating func number() throws -> JSON {
            let start = position
            if peek == UInt8(ascii: "-") { position += 1 }
            func digits(_ r: inout Reader) -> Int {
                var n = 0
                while let c = r.peek, c >= 48 && c <= 57 { r.position += 1; n += 1 }
                return n
            }
            guard let first = peek, first >= 48 && first <= 57 else { throw fail("invalid number") }
            if first == 48 { position += 1 } else { _ = digits(&self) }
            var integral = true
            if peek == UInt8(ascii: ".") {
                integral = false
                position += 1
                guard digits(&self) > 0 else { throw fail("invalid number") }
            }
            if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
                integral = false
                position += 1
                if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { position += 1 }
                guard digits(&self) > 0 else { throw fail("invalid number") }
            }
            let text = String(decoding: bytes[start..<position], as: UTF8.self)
            if integral, let v = Int64(text) { return .int(v) }
            return .string(text)
        }
    }
}

public struct JSONParseError: CertsFailure, Equatable {
    public let offset: Int
    public let reason: String
    public var kind: FailureKind { .remote }
    public var description: String { "invalid JSON at byte \(offset): \(reason)" }
}

extension JSON {
    /// The value of `key` in an object (nil for other values or a missing key).
    public subscript(key: String) -> JSON? {
        guard case .object(let fields) = self else { return nil }
        return fields.first { $0.0 == key }?.1
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var intValue: Int64? {
        if case .int(let i) = self { return i }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    public var arrayValue: [JSON]? {
        if case .array(let a) = self { return a }
        return nil
    }

    public var objectValue: [(String, JSON)]? {
        if case .object(let o) = self { return o }
        return nil
    }

    /// The strings of an array value (non-strings skipped); empty for anything else.
    public var stringArray: [String] { arrayValue?.compactMap(\.stringValue) ?? [] }
}
