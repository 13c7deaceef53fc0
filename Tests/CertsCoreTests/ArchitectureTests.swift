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

    // MARK: Raw pointers stay in OpenSSL/

    /// OpenSSL's C type names as Swift imports them (the ones `UnsafeMutablePointer<…>` can hold).
    static let openSSLTypePrefixes = ["X509", "EVP_", "SSL", "ASN1_", "BIO", "PKCS", "OCSP_", "BIGNUM", "BN_", "EC_", "ECDSA_", "RSA",
                                      "DSA", "DH", "OSSL_", "GENERAL_", "DIST_POINT", "CRYPTO_", "ERR_", "OPENSSL_", "AUTHORITY_", "BASIC_"]

    /// Files outside OpenSSL/ still allowed to hold a raw OpenSSL pointer, with the reason; can only shrink.
    static let rawPointerAllowed: [String: String] = [:]

    /// What in `text` is a raw OpenSSL pointer: `OpaquePointer` (every opaque OpenSSL object),
    /// `Unsafe(Mutable)Pointer<T>` of an OpenSSL type, or a wrapper's `.pointer` member.
    static func rawPointerMentions(_ text: String) -> [String] {
        var found: [String] = []
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let code = line.split(separator: "//", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            if code.contains("OpaquePointer") { found.append("line \(n + 1): OpaquePointer") }
            if code.contains(".pointer") && code.range(of: #"\.pointer\b"#, options: .regularExpression) != nil { found.append("line \(n + 1): .pointer") }
            for marker in ["UnsafeMutablePointer<", "UnsafePointer<"] {
                var rest = Substring(code)
                while let r = rest.range(of: marker) {
                    rest = rest[r.upperBound...]
                    if openSSLTypePrefixes.contains(where: { rest.hasPrefix($0) }) { found.append("line \(n + 1): \(marker)\(rest.prefix { $0 != ">" })>") }
                }
            }
        }
        return found
    }

    @Test func noFileOutsideOpenSSLHoldsARawOpenSSLPointer() throws {
        #expect(Self.rawPointerMentions("let x: UnsafeMutablePointer<X509_NAME>? = nil\nvar c: OpaquePointer\nf(cert.pointer)").count == 3,
                "the scan misses what it is for: it is broken")
        #expect(Self.rawPointerMentions("var list: UnsafeMutablePointer<addrinfo>? = nil // OpaquePointer in a comment").isEmpty)
        var offenders: [String] = []
        for file in try Self.swiftFiles() where !file.hasPrefix("OpenSSL/") {
            let mentions = Self.rawPointerMentions(try String(contentsOfFile: "\(Self.sources)/\(file)", encoding: .utf8))
            if !mentions.isEmpty && Self.rawPointerAllowed[file] == nil { offenders.append("\(file) (\(mentions.joined(separator: "; ")))") }
        }
        #expect(offenders.isEmpty, "raw OpenSSL pointers outside Sources/CertsCore/OpenSSL/: \(offenders.joined(separator: ", ")); use the wrappers' Swift API")
        for (file, reason) in Self.rawPointerAllowed {
            #expect(!reason.isEmpty, "\(file) needs a reason")
            let text = (try? String(contentsOfFile: "\(Self.sources)/\(file)", encoding: .utf8)) ?? ""
            #expect(!Self.rawPointerMentions(text).isEmpty, "\(file) holds no raw pointer any more (or is gone): remove it from the allow-list")
        }
    }

    /// Wrappers whose `pointer` stays `internal` because another OpenSSL/ file passes it to C (Swift
    /// has no folder-wide access level); every other wrapper's pointer is `private`/`fileprivate`.
    /// Can only shrink: an entry whose pointer became private fails.
    static let internalPointers: [String: String] = [
        "Certificate": "every X509-taking call in OpenSSL/ (signing, CRLs, OCSP, path validation, TLS, stores) needs it",
        "MemoryBIO": "the pipe every PEM/DER reader and writer in OpenSSL/ passes to C",
        "TLSContext": "TLSConnection creates its SSL from the SSL_CTX",
        "TrustStore": "PathValidation and TrustLookup build their X509_STORE_CTX on it (TrustStore.swift is edited elsewhere now)",
        "PrivateKey": "signing, CSRs, CRLs, PKCS#12 and TLS pass the EVP_PKEY (PrivateKey.swift is edited elsewhere now)",
        "PublicKey": "certificate building and matching pass the EVP_PKEY (PrivateKey.swift is edited elsewhere now)",
    ]

    /// "Type": whether its `pointer` member is private or fileprivate, for every wrapper in OpenSSL/.
    static func wrapperPointers() throws -> [String: Bool] {
        var result: [String: Bool] = [:]
        for file in try swiftFiles() where file.hasPrefix("OpenSSL/") {
            var type = "?"
            for line in try String(contentsOfFile: "\(sources)/\(file)", encoding: .utf8).split(separator: "\n") {
                let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == ":" }).map(String.init)
                if let i = words.firstIndex(where: { $0 == "class" || $0 == "struct" }), i + 1 < words.count, !line.hasPrefix(" ") { type = words[i + 1] }
                if let i = words.firstIndex(where: { $0 == "let" || $0 == "var" }), i + 2 < words.count, words[i + 1] == "pointer", words[i + 2] == "OpaquePointer" {
                    result[type] = words[..<i].contains { $0 == "private" || $0 == "fileprivate" }
                }
            }
        }
        return result
    }

    @Test func wrapperPointersArePrivateUnlessListedWithAReason() throws {
        let pointers = try Self.wrapperPointers()
        #expect(pointers.count >= 8 && pointers["RevocationList"] == true && pointers["Certificate"] == false, "the scan is broken: \(pointers)")
        let open = pointers.filter { !$0.value }.map(\.key).sorted()
        let unlisted = open.filter { Self.internalPointers[$0] == nil }
        #expect(unlisted.isEmpty, "wrappers whose pointer is not private: \(unlisted.joined(separator: ", ")); make it private or list it with the reason")
        for (type, reason) in Self.internalPointers.sorted(by: { $0.key < $1.key }) {
            #expect(!reason.isEmpty)
            #expect(pointers[type] == false, "\(type)'s pointer is private now (or gone): remove it from internalPointers")
        }
    }
}
