/// A passphrase for an encrypted private key. Never printed: its description is redacted.
public struct Passphrase: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    let bytes: [UInt8]

    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public init(_ string: String) { self.bytes = Array(string.utf8) }

    public var isEmpty: Bool { bytes.isEmpty }
    public var description: String { "<passphrase>" }
    public var debugDescription: String { "<passphrase>" }

    /// Calls `body` with a NUL-terminated copy, as OpenSSL's `u` argument wants; wipes it after.
    func withCString<R>(_ body: (UnsafeMutableRawPointer) throws -> R) rethrows -> R {
        var copy = bytes + [0]
        defer { for i in copy.indices { copy[i] = 0 } }
        return try copy.withUnsafeMutableBytes { try body($0.baseAddress!) }
    }
}
