internal import COpenSSL

/// A failure inside OpenSSL, carrying the library's own error queue as readable entries.
///
/// The queue is cleared before every wrapped call (`OpenSSLError.clear()`) and drained into
/// this value when a call fails, so a message never mixes in a stale error from an earlier call.
public struct OpenSSLError: Error, CustomStringConvertible, Sendable {
    public struct Entry: Sendable, Equatable {
        /// The packed OpenSSL error code (`ERR_get_error`).
        public let code: UInt
        /// The library that raised it, e.g. "PEM routines".
        public let library: String
        /// The reason string, e.g. "bad decrypt".
        public let reason: String
    }

    /// What we were doing, in words: "reading a private key", "signing the CSR".
    public let operation: String
    public let entries: [Entry]

    public var description: String {
        let reasons = entries.map(\.reason).filter { !$0.isEmpty }
        var unique: [String] = []
        for r in reasons where !unique.contains(r) { unique.append(r) }
        if unique.isEmpty { return "\(operation) failed" }
        return "\(operation) failed: \(unique.joined(separator: "; "))"
    }

    /// True when any entry's reason contains one of `words` (case-insensitive).
    public func mentions(_ words: String...) -> Bool {
        entries.contains { e in words.contains { e.reason.lowercased().contains($0) } }
    }

    /// Empties the calling thread's error queue.
    public static func clear() { ERR_clear_error() }

    /// Drains the calling thread's error queue into an error for `operation`.
    public static func drain(_ operation: String) -> OpenSSLError {
        var entries: [Entry] = []
        while true {
            let code = ERR_get_error_all(nil, nil, nil, nil, nil)
            if code == 0 { break }
            let lib = ERR_lib_error_string(code).map { String(cString: $0) } ?? "library \(certs_ERR_GET_LIB(code))"
            let reason = ERR_reason_error_string(code).map { String(cString: $0) } ?? "reason \(certs_ERR_GET_REASON(code))"
            entries.append(Entry(code: UInt(code), library: lib, reason: reason))
        }
        return OpenSSLError(operation: operation, entries: entries)
    }
}

/// Runs `body` with a clean error queue; a nil result or `false` becomes an `OpenSSLError`.
@inline(__always)
func ossl<T>(_ operation: @autoclosure () -> String, _ body: () -> T?) throws -> T {
    OpenSSLError.clear()
    guard let value = body() else { throw OpenSSLError.drain(operation()) }
    return value
}

/// Runs an OpenSSL call that returns 1 (or > 0) on success.
@inline(__always)
func osslCheck(_ operation: @autoclosure () -> String, _ body: () -> Int32) throws {
    OpenSSLError.clear()
    guard body() > 0 else { throw OpenSSLError.drain(operation()) }
}
