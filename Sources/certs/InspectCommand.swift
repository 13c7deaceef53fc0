import ArgumentParser
import CertsCore

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show what a certificate, bundle, CSR or key file holds (PEM, DER, PKCS#7, PKCS#12).",
        discussion: "A private key shows its type and size, never its secret. --json follows the schema in docs/json.md (version 2: one document with every file read and every file that could not be)."
    )

    @Argument(help: ArgumentHelp("Files to inspect; '-' reads stdin.", valueName: "file"))
    var files: [String]

    @Flag(help: "Print JSON: one document, {version, files, errors}, for one file or many.")
    var json = false

    @Option(help: ArgumentHelp("Evaluate days left at this time (Unix seconds or RFC 3339) instead of now.", valueName: "time"))
    var at: String?

    @OptionGroup var passphrase: PassphraseOptions

    func run() throws {
        let secret = try passphrase.load()
        let now = try at.map { try parseTime($0, option: "--at") } ?? currentUnixTime()
        var reports: [Inspection] = []
        var failures: [(file: String, error: Error)] = []
        // `inspect a b c` shows every file it can read, then names the ones it cannot (exit 2).
        for file in files {
            do {
                let doc = try readDocument(file, passphrase: secret)
                reports.append(try Inspection(document: doc, source: file == "-" ? "stdin" : file, now: now))
                if file != "-", !doc.privateKeys.isEmpty, let mode = FileSystem.mode(of: file), mode & 0o077 != 0 {
                    Terminal.note("warning: \(file) holds a private key and is readable by \(mode & 0o007 != 0 ? "everyone" : "its group") (mode \(String(mode & 0o777, radix: 8))): chmod 600 \(file)")
                }
            } catch {
                if files.count == 1 { throw error }
                failures.append((file, error))
            }
        }
        if json {
            // Every file unreadable: the error document alone (as for one file), not an empty report.
            if !reports.isEmpty {
                let errors = failures.map { InspectionReport.Unreadable(source: $0.file == "-" ? "stdin" : $0.file, message: "\($0.error)") }
                Terminal.out(InspectionReport(files: reports, errors: errors).json.rendered())
            }
        } else if !reports.isEmpty {
            Terminal.out(reports.map(InspectText.render).joined(separator: "\n"))
        }
        guard failures.isEmpty else {
            for failure in failures.dropLast() { Terminal.error("\(failure.error)") }
            if json && !reports.isEmpty {
                // The report on stdout already names the failures: one JSON document, not two.
                Terminal.error("\(failures.last!.error)")
                Terminal.exit(Certs.exitCode(of: failures.last!.error))
            }
            Certs.exit(with: failures.last!.error)
        }
    }
}

/// The human-readable form of an `Inspection`. May change between versions; the JSON may not.
enum InspectText {
    static func render(_ r: Inspection) -> String {
        var lines: [String] = []
        let total = r.certificates.count
        for c in r.certificates {
            lines.append(total > 1 ? "\(r.source): certificate \(c.index + 1) of \(total) (\(c.role))" : "\(r.source): certificate (\(c.role))")
            var fields: [(String, String)] = [
                ("subject", c.subject),
                ("issuer", c.issuer),
                ("serial", c.serial),
                ("not before", RFC3339.format(c.notBefore)),
                ("not after", "\(RFC3339.format(c.notAfter))  (\(daysText(c)))"),
            ]
            if !c.subjectAlternativeNames.isEmpty { fields.append(("SANs", c.subjectAlternativeNames.joined(separator: ", "))) }
            fields.append(("key", c.key.text))
            fields.append(("signature", c.signatureAlgorithm))
            fields.append(("SHA-256", c.sha256Fingerprint.hexToColon))
            if let ski = c.subjectKeyIdentifier { fields.append(("subject key id", ski)) }
            if let aki = c.authorityKeyIdentifier { fields.append(("authority key id", aki)) }
            fields.append(("CA", c.isCA ? "yes" + (c.pathLength.map { ", path length \($0)" } ?? "") : "no"))
            if let ku = c.keyUsage { fields.append(("key usage", ku.joined(separator: ", "))) }
            if let eku = c.extendedKeyUsage { fields.append(("extended key usage", eku.joined(separator: ", "))) }
            if !c.ocspURLs.isEmpty { fields.append(("OCSP", c.ocspURLs.joined(separator: ", "))) }
            if !c.caIssuerURLs.isEmpty { fields.append(("CA issuers", c.caIssuerURLs.joined(separator: ", "))) }
            if c.issuedByNext == false { fields.append(("note", "the next certificate in this file did not issue this one (bundle out of order?)")) }
            lines += table(fields)
        }
        for q in r.requests {
            lines.append("\(r.source): certificate signing request")
            var fields: [(String, String)] = [("subject", q.subject)]
            if !q.subjectAlternativeNames.isEmpty { fields.append(("SANs", q.subjectAlternativeNames.joined(separator: ", "))) }
            if let k = q.key { fields.append(("key", k.text)) }
            fields.append(("signature", "\(q.signatureAlgorithm) (\(q.signatureValid ? "valid" : "INVALID"))"))
            lines += table(fields)
        }
        for k in r.keys {
            lines.append("\(r.source): \(k.kind) key")
            lines += table([("key", k.key.text), ("public key SHA-256", k.key.publicKeySHA256.hexToColon)])
        }
        return lines.joined(separator: "\n")
    }

    static func daysText(_ c: CertificateSummary) -> String {
        if c.expired { return "EXPIRED \(-c.daysLeft) days ago" }
        if c.notYetValid { return "not yet valid" }
        return c.daysLeft == 1 ? "1 day left" : "\(c.daysLeft) days left"
    }

    static func table(_ fields: [(String, String)]) -> [String] {
        let width = fields.map(\.0.count).max() ?? 0
        return fields.map { "  " + $0.0 + ":" + String(repeating: " ", count: width - $0.0.count + 1) + $0.1 }
    }
}

extension String {
    /// "ab01" → "AB:01".
    var hexToColon: String {
        var out = ""
        for (i, c) in uppercased().enumerated() {
            if i > 0 && i % 2 == 0 { out += ":" }
            out.append(c)
        }
        return out
    }
}
