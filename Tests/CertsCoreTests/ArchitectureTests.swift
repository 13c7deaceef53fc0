import Foundation
import Testing

/// The wrapper layer holds: only `Sources/CertsCore/OpenSSL/` talks to OpenSSL's C API. Every
/// other CertsCore file works with the owning wrappers (Certificate, PrivateKey, TrustStore,
/// TLSConnection…), so a raw pointer, a missed free or an unread error queue can only be in one
/// folder. The allow-list names the files not moved yet, each with its reason: it can only shrink
/// (an entry whose file no longer imports COpenSSL fails the test too).
@Suite struct ArchitectureTests {
    static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources/CertsCore").path

    /// Files outside OpenSSL/ still allowed to import COpenSSL, relative to Sources/CertsCore.
    static let allowed: [String: String] = [:]

    /// Every .swift file under Sources/CertsCore, relative to it.
    static func swiftFiles() throws -> [String] {
        let enumerator = try #require(FileManager.default.enumerator(atPath: sources))
        return enumerator.compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") }.sorted()
    }

    /// True when the file has an `import COpenSSL` line (any access level, `@testable`, `@_implementationOnly`).
    static func importsCOpenSSL(_ relative: String) throws -> Bool {
        let text = try String(contentsOfFile: "\(sources)/\(relative)", encoding: .utf8)
        return text.split(separator: "\n").contains { line in
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let i = words.firstIndex(of: "import"), i + 1 < words.count else { return false }
            return words[i + 1] == "COpenSSL" && words[..<i].allSatisfy { $0.hasPrefix("@") || ["internal", "public", "private", "fileprivate", "package"].contains($0) }
        }
    }

    @Test func onlyTheOpenSSLFolderImportsCOpenSSL() throws {
        let files = try Self.swiftFiles()
        #expect(files.count > 50, "found only \(files.count) files under \(Self.sources)")
        let importing = try files.filter { try Self.importsCOpenSSL($0) }
        #expect(importing.contains { $0.hasPrefix("OpenSSL/") }, "the scan finds no import even in OpenSSL/: it is broken")
        let offenders = importing.filter { !$0.hasPrefix("OpenSSL/") && Self.allowed[$0] == nil }
        #expect(offenders.isEmpty, "import COpenSSL outside Sources/CertsCore/OpenSSL/: \(offenders.joined(separator: ", ")); move the calls behind a wrapper there")
    }

    @Test func theAllowListOnlyShrinks() throws {
        let files = Set(try Self.swiftFiles())
        for (file, reason) in Self.allowed.sorted(by: { $0.key < $1.key }) {
            #expect(!reason.isEmpty, "\(file) needs a reason")
            let stillImports = try files.contains(file) && Self.importsCOpenSSL(file)
            #expect(stillImports,
                    "\(file) no longer imports COpenSSL (or is gone): remove it from the allow-list")
        }
    }
}
