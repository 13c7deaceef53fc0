#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// JSON in: ACME server responses and the store's state files, read with FoundationEssentials'
/// `JSONDecoder` (already linked through ArgumentParser, so start-up does not change).
///
/// `decode(_:from:)` reads a `Decodable` type; `parse` reads any document into the `JSON` value
/// (objects with their keys sorted). Bounded: documents larger than `maximumSize` bytes or nested
/// deeper than `maximumDepth` are refused, so a hostile or broken server cannot exhaust memory.
/// Writing stays with the ordered writer in Support/JSON.swift.
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
    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T { try JSONParser().decode(type, from: bytes) }

    public func parse(_ bytes: [UInt8]) throws -> JSON { try decode(JSON.self, from: bytes) }

    /// Decodes `type`; any failure (syntax, shape, size, depth) is one `JSONParseError` line.
    public func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        guard bytes.count <= maximumSize else { throw JSONParseError(reason: "document larger than \(maximumSize) bytes") }
        let decoder = JSONDecoder()
        decoder.userInfo[JSON.maximumDepthKey] = maximumDepth
        do {
            return try decoder.decode(T.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw JSONParseError(error)
        } catch let error as JSONParseError {
            throw error
        } catch {
            throw JSONParseError(reason: Self.oneLine("\(error)"))
        }
    }

    static func oneLine(_ text: String) -> String {
        String(text.map { $0.isNewline ? " " : $0 }.prefix(300))
    }
}

public struct JSONParseError: CertsFailure, Equatable {
    public let reason: String
    /// False when the document is JSON but not the object expected (a key missing, a wrong type).
    public let syntax: Bool
    public var kind: FailureKind { .remote }
    public var description: String { (syntax ? "invalid JSON: " : "unexpected JSON: ") + reason }

    public init(reason: String, syntax: Bool = true) {
        self.reason = reason
        self.syntax = syntax
    }

    /// One line from a `DecodingError`: the parser's own reason ("Unexpected character 'x' around
    /// line 1, column 5.") or what was missing or of the wrong type, and where.
    init(_ error: DecodingError) {
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return keys.isEmpty ? "" : " at \(keys.hasPrefix(".") ? String(keys.dropFirst()) : keys)"
        }
        let text: String
        var syntax = false
        switch error {
        case .dataCorrupted(let c):
            syntax = true
            let underlying = c.underlyingError.map { "\($0)" }
            text = (underlying.flatMap { Self.parserReason($0) } ?? c.debugDescription) + path(c)
        case .keyNotFound(let key, let c): text = "\"\(key.stringValue)\" is missing" + path(c)
        case .typeMismatch(let type, let c): text = "expected \(Self.name(type))" + path(c)
        case .valueNotFound(let type, let c): text = "expected \(Self.name(type)), found null" + path(c)
        @unknown default: text = "\(error)"
        }
        reason = JSONParser.oneLine(text)
        self.syntax = syntax
    }

    /// The human part of the parser's error ("Unexpected character …"), without the enum dump.
    static func parserReason(_ text: String) -> String? {
        for marker in ["description: \"", "debugDescription: \""] {
            if let r = text.firstRange(of: marker), let end = text[r.upperBound...].firstIndex(of: "\"") {
                return String(text[r.upperBound..<end])
            }
        }
        return text.isEmpty ? nil : text
    }

    static func name(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "true or false"
        case is Int.Type, is Int64.Type, is UInt16.Type, is Double.Type: return "a number"
        default:
            let n = "\(type)"
            if n.hasPrefix("Array") { return "an array" }
            if n.hasPrefix("Dictionary") { return "an object" }
            return n
        }
    }
}

extension JSON: Decodable {
    static let maximumDepthKey = CodingUserInfoKey(rawValue: "certs.json.maximumDepth")!

    struct Key: CodingKey {
        let stringValue: String
        init(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    /// Any document: objects keep every key (sorted, for a stable rendering), numbers that are not
    /// 64-bit integers (ACME sends none) become their decimal text.
    public init(from decoder: Decoder) throws {
        if let limit = decoder.userInfo[JSON.maximumDepthKey] as? Int, decoder.codingPath.count > limit {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "nested deeper than \(limit) levels"))
        }
        if let object = try? decoder.container(keyedBy: Key.self) {
            var fields: [(String, JSON)] = []
            for key in object.allKeys.sorted(by: { $0.stringValue < $1.stringValue }) {
                fields.append((key.stringValue, try object.decode(JSON.self, forKey: key)))
            }
            self = .object(fields)
            return
        }
        if var array = try? decoder.unkeyedContainer() {
            var items: [JSON] = []
            while !array.isAtEnd { items.append(try array.decode(JSON.self)) }
            self = .array(items)
            return
        }
        let value = try decoder.singleValueContainer()
        if value.decodeNil() { self = .null }
        else if let b = try? value.decode(Bool.self) { self = .bool(b) }
        else if let i = try? value.decode(Int64.self) { self = .int(i) }
        else if let d = try? value.decode(Double.self) { self = .string("\(d)") }
        else { self = .string(try value.decode(String.self)) }
    }
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
