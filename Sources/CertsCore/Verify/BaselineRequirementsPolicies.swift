// The certificate-profile rules of RFC 5280 and the CA/Browser Forum Baseline Requirements (BR,
// version 2.x numbering) that OpenSSL's `X509_verify_cert` does not apply. One rule per policy,
// each citing its source; docs/verification.md lists them with their codes and says which apply
// under `--policy rfc5280`. Rules marked "Web PKI only" are off under rfc5280.

/// The subject commonName, when present, must be a character-for-character copy of one of the
/// SANs: IPv4 in dotted decimal without leading zeros, IPv6 in RFC 5952 form, DNS names with the
/// same case and in A-labels (BR 7.1.4.3). Web PKI only: RFC 5280 does not relate the two.
struct CommonNameInSANPolicy: ServerCertificatePolicy {
    func evaluate(_ c: PolicyContext) -> PolicyVerdict {
        guard c.webPKI else { return .meets }
        let names = c.leaf.subjectCommonNames
        guard !names.isEmpty else { return .meets }
        var sans: [String] = []
        for name in c.leafNames {
            switch name {
            case .dns(let v), .ip(let v): sans.append(v)  // .ip is inet_ntop's canonical text
            default: break
            }
        }
        guard !sans.isEmpty else { return .meets }  // missing-san says it
        if names.count > 1 {
            return .fails(Finding("cn-not-in-san", "the leaf's subject has \(names.count) commonNames (\(names.map { "\"\($0)\"" }.joined(separator: ", "))); the Baseline Requirements (7.1.4.3) allow at most one, copied from a SAN", about: c.leaf))
        }
        let cn = names[0]
        guard !sans.contains(cn) else { return .meets }
        var hint = "reissue it with the CN copied exactly from a SAN, or without a CN"
        if !cn.unicodeScalars.allSatisfy(\.isASCII) {
            hint = "internationalised names must be in their A-label (xn--) form, as in the SAN"
        } else if let same = sans.first(where: { $0.lowercased() == cn.lowercased() }) {
            hint = "it differs from the SAN \"\(same)\" in case only; the CN must be a character-for-character copy"
        } else if let ip = IPAddress.normalize(cn), sans.contains(ip) {
            hint = "the address must be written \"\(ip)\" (RFC 5952 for IPv6), as in the SAN"
        } else if cn.allSatisfy({ $0.isHexDigit || $0 == "." || $0 == "x" || $0 == "X" }) && cn.contains(".") {
            hint = "an IPv4 address must be dotted decimal without leading zeros or hex (RFC 3986 3.2.2)"
        }
        return .fails(Finding("cn-not-in-san", "the leaf's subject CN \"\(cn)\" is not, character for character, one of its subjectAltNames (\(sans.joined(separator: ", "))): \(hint) (CA/B Forum BR 7.1.4.3)", about: c.leaf))
    }
}

/// DNS names in SANs must be host names: letters, digits and hyphens; no underscores (BR
/// 7.1.2.7.12, ballot SC12 ended them in 2019; RFC 5280 4.2.1.6 asks for the RFC 1034 preferred
/// name syntax, which has none either). An error for the Web PKI, a warning under rfc5280 (most
/// RFC 5280 verifiers, OpenSSL's included, accept them).
struct DNSNameSyntaxPolicy: ServerCertificatePolicy {
    func evaluate(_ c: PolicyContext) -> PolicyVerdict {
        let bad = c.leafNames.compactMap { name -> String? in
            if case .dns(let v) = name, v.contains("_") { return v }
            return nil
        }
        guard !bad.isEmpty else { return .meets }
        let message = "the leaf's DNS names \(bad.map { "\"\($0)\"" }.joined(separator: ", ")) contain an underscore, which host names cannot (CA/B Forum BR 7.1.2.7.12; RFC 5280 4.2.1.6)"
        return .fails(Finding("dns-underscore", message, severity: c.webPKI ? .error : .warning, about: c.leaf))
    }
}

/// A wildcard may not sit directly over a public suffix (`*.co.uk`, `*.s3.amazonaws.com`): it
/// would cover every registrant below it (BR 3.2.2.6; Chrome refuses to match such names).
/// Uses the Public Suffix List: a wildcard over an ICANN-section suffix is an error, over a
/// PRIVATE-section one a warning (browsers judge the ICANN section only); without the list the
/// check cannot run and says so. Web PKI only.
struct WildcardOverPublicSuffixPolicy: ServerCertificatePolicy {
    /// Where the list is read from (tests point it elsewhere).
    var path = PublicSuffixList.defaultPath

    func list() -> PublicSuffixList? {
        path == PublicSuffixList.defaultPath ? PublicSuffixList.system : PublicSuffixList.load(path: path)
    }

    func evaluate(_ c: PolicyContext) -> PolicyVerdict {
        guard c.webPKI else { return .meets }
        let wildcards = c.leafNames.compactMap { name -> String? in
            if case .dns(let v) = name, v.hasPrefix("*.") { return v }
            return nil
        }
        guard !wildcards.isEmpty else { return .meets }  // the list is read only when needed
        guard let list = list() else {
            return .fails(.warning("public-suffix-list-missing", "could not check whether the wildcard \(wildcards.joined(separator: ", ")) covers a public suffix: the Public Suffix List (\(path), Debian package publicsuffix) is missing", about: c.leaf))
        }
        var findings: [Finding] = []
        for wildcard in wildcards {
            var base = String(wildcard.dropFirst(2)).lowercased()
            if base.hasSuffix(".") { base.removeLast() }
            if list.isPublicSuffix(base, includingPrivate: false) {
                findings.append(Finding("wildcard-public-suffix", "the leaf's wildcard \"\(wildcard)\" covers the public suffix \"\(base)\", under which anyone can register names; browsers refuse it (CA/B Forum BR 3.2.2.6): name the exact hosts instead", about: c.leaf))
            } else if list.isPublicSuffix(base) {
                // PRIVATE section (s3.amazonaws.com, github.io): browsers accept it, and BR 3.2.2.6
                // lets the owner of the whole namespace hold it; anyone else holding it is odd.
                findings.append(.warning("wildcard-private-suffix", "the leaf's wildcard \"\(wildcard)\" covers \"\(base)\", a suffix whose owner lets customers register names under it (Public Suffix List, PRIVATE section); browsers accept it, but only that owner should hold such a certificate", about: c.leaf))
            }
        }
        return findings.isEmpty ? .meets : .fails(findings)
    }
}

/// subjectAltName is critical exactly when the subject is empty (RFC 5280 4.2.1.6: MUST when
/// empty, SHOULD NOT otherwise; BR 7.1.2.7.12 makes the second a MUST NOT).
struct SubjectAlternativeNameCriticalityPolicy: ServerCertificatePolicy {
    func evaluate(_ c: PolicyContext) -> PolicyVerdict {
        guard let san = c.leaf.rawExtension(.subjectAltName) else { return .meets }
        let emptySubject = c.leaf.hasEmptySubject
        if emptySubject && !san.critical {
            return .fails(Finding("san-not-critical", "the leaf's subject is empty but its subjectAltName is not critical (RFC 5280 4.2.1.6 requires it to be)", about: c.leaf))
        }
        if !emptySubject && san.critical {
            return .fails(Finding("critical-san", "the leaf's subjectAltName is critical although its subject is not empty (CA/B Forum BR 7.1.2.7.12 forbids it; RFC 5280 4.2.1.6 advises against it)",
                                  severity: c.webPKI ? .error : .warning, about: c.leaf))
        }
        return .meets
    }
}

/// A Web PKI server certificate carries extendedKeyUsage, non-critical, with serverAuth and
/// without anyExtendedKeyUsage (BR 7.1.2.7.6, 7.1.2.7.10). Web PKI only: under RFC 5280 4.2.1.12
/// a leaf without the extension may be used for any purpose. (serverAuth itself: ServerAuthPolicy.)
struct LeafExtendedKeyUsagePolicy: ServerCertificatePolicy {
    func evaluate(_ c: PolicyContext) -> PolicyVerdict {
        guard c.webPKI else { return .meets }
        guard let raw = c.leaf.rawExtension(.extendedKeyUsage) else {
            return .fails(Finding("missing-eku", "the leaf has no extendedKeyUsage; a Web PKI server certificate must list serverAuth (CA/B Forum BR 7.1.2.7.10)", about: c.leaf))
        }
        var findings: [Finding] = []
        if c.leaf.extendedKeyUsage?.contains("anyExtendedKeyUsage") == true {
            findings.append(Finding("any-eku", "the leaf's extendedKeyUsage includes anyExtendedKeyUsage, which a Web PKI server certificate must not (CA/B Forum BR 7.1.2.7.10)", about: c.leaf))
        }
        if raw.critical {
            findings.append(Finding("critical-eku", "the leaf's extendedKeyUsage is marked critical; a Web PKI server certificate must not mark it (CA/B Forum BR 7.1.2.7.6)", about: c.leaf))
        }
        return findings.isEmpty ? .meets : .fails(findings)
    }
}

/// keyCertSign belongs to CA certificates only (RFC 5280 4.2.1.3: when asserted, cA MUST be true).
struct LeafKeyCertSignPolicy: ServerCertificatePolicy {
    func evaluate(_ c: PolicyContext) -> PolicyVerdict {
        guard !c.leaf.isCA, c.leaf.keyUsage?.contains("keyCertSign") == true else { return .meets }
        return .fails(Finding("leaf-key-cert-sign", "the leaf's keyUsage includes keyCertSign although it is not a CA (RFC 5280 4.2.1.3): reissue it with digitalSignature only", about: c.leaf))
    }
}

/// Web PKI keys are RSA (modulus a multiple of 8 bits) or ECDSA: no DSA anywhere in the chain
/// (BR 6.1.5, 7.1.3.1). Ed25519/Ed448 leaves are allowed by RFC 8410 but no browser accepts
/// them: a warning. Web PKI only.
struct KeyAlgorithmPolicy: ServerCertificatePolicy {
    func evaluate(_ c: PolicyContext) -> PolicyVerdict {
        guard c.webPKI else { return .meets }
        var findings: [Finding] = []
        for (index, cert) in c.chain.enumerated() {
            let what = c.role(index)
            if cert.hasDSAKey {
                findings.append(Finding("dsa-key", "\(what) \(Describe.quoted(cert)) has a DSA key; the Web PKI allows only RSA and ECDSA keys (CA/B Forum BR 6.1.5)", about: cert))
                continue
            }
            switch cert.keyFamily {
            case .rsa(let bits) where bits % 8 != 0:
                findings.append(Finding("rsa-modulus-size", "\(what) \(Describe.quoted(cert)) has a \(bits)-bit RSA modulus; its size must be a multiple of 8 bits (CA/B Forum BR 6.1.5)", about: cert))
            case .ed25519 where index == 0, .ed448 where index == 0:
                findings.append(.warning("eddsa-leaf", "the leaf has an \(cert.keyFamily.family) key, which no browser accepts for TLS server certificates yet; use ECDSA P-256 for public sites", about: cert))
            default:
                break
            }
        }
        return findings.isEmpty ? .meets : .fails(findings)
    }
}

/// Serial numbers are positive and at most 20 octets (RFC 5280 4.1.2.2; BR 7.1: greater than
/// zero). The trust anchor's serial is not judged (some long-trusted roots have serial 0).
struct SerialNumberPolicy: ServerCertificatePolicy {
    func evaluate(_ c: PolicyContext) -> PolicyVerdict {
        var findings: [Finding] = []
        for (index, cert) in c.signedCertificates.enumerated() {
            let serial = cert.serialEncoding
            let problem: String
            if serial.zero { problem = "is zero" }
            else if serial.negative { problem = "is negative" }
            else if serial.octets > 20 { problem = "is \(serial.octets) octets long" }
            else { continue }
            findings.append(Finding("invalid-serial", "\(c.role(index)) \(Describe.quoted(cert))'s serial number \(problem); it must be a positive integer of at most 20 octets (RFC 5280 4.1.2.2)", about: cert))
        }
        return findings.isEmpty ? .meets : .fails(findings)
    }
}

/// authorityKeyIdentifier with a keyIdentifier on every certificate but a self-signed one
/// (RFC 5280 4.2.1.1); subjectKeyIdentifier on every CA certificate (RFC 5280 4.2.1.2). The root
/// is judged by RootProfilePolicy.
struct KeyIdentifierPolicy: ServerCertificatePolicy {
    func evaluate(_ c: PolicyContext) -> PolicyVerdict {
        var findings: [Finding] = []
        let root = c.root
        for (index, cert) in c.chain.enumerated() where cert !== root {
            var what: String { "\(c.role(index)) \(Describe.quoted(cert))" }
            let aki = cert.authorityKeyIdentifierShape
            if !aki.present {
                if !cert.isSelfSigned {
                    findings.append(Finding("missing-aki", "\(what) has no authorityKeyIdentifier, which every certificate but a self-signed root must carry (RFC 5280 4.2.1.1)", about: cert))
                }
            } else if !aki.hasKeyIdentifier {
                findings.append(Finding("aki-without-keyid", "\(what)'s authorityKeyIdentifier has no keyIdentifier (RFC 5280 4.2.1.1 requires it)", about: cert))
            }
            if cert.isCA, !cert.hasSubjectKeyIdentifier {
                findings.append(Finding("missing-ski", "\(what) is a CA certificate without subjectKeyIdentifier (RFC 5280 4.2.1.2 requires it)", about: cert))
            }
        }
        return findings.isEmpty ? .meets : .fails(findings)
    }
}

/// The root (the self-signed anchor) has a critical basicConstraints, a subjectKeyIdentifier, no
/// extendedKeyUsage, and an authorityKeyIdentifier, if any, with a keyIdentifier (BR 7.1.2.1.2,
/// 7.1.2.1.3). Web PKI only: RFC 5280 6.1.1 (d) uses only a trust anchor's name and key. A root
/// EKU that still allows serverAuth is only a warning (browsers treat it as a restriction).
///
/// Errors for a private anchor (`--trust`, the local CA). For a root of the system store,
/// warnings: browsers' root programs still ship a few older roots that predate these rules (in
/// Debian's store in 2026: 3 with a non-critical basicConstraints, 2 without subjectKeyIdentifier,
/// among them Go Daddy Class 2 and Starfield Class 2), and browsers accept their chains.
struct RootProfilePolicy: ServerCertificatePolicy {
    func evaluate(_ c: PolicyContext) -> PolicyVerdict {
        guard c.webPKI, let root = c.root else { return .meets }
        var what: String { "the root \(Describe.quoted(root))" }
        let severity: Finding.Severity = c.systemTrust ? .warning : .error
        func Finding(_ code: String, _ message: String, about cert: Certificate) -> CertsCore.Finding {
            CertsCore.Finding(code, message + (c.systemTrust ? "; only a warning because the system trust store ships this root and browsers accept it" : ""), severity: severity, about: cert)
        }
        var findings: [Finding] = []
        if let bc = root.rawExtension(.basicConstraints) {
            if !bc.critical {
                findings.append(Finding("root-basic-constraints", "\(what)'s basicConstraints is not critical (CA/B Forum BR 7.1.2.1.2 requires it critical)", about: root))
            }
        } else {
            findings.append(Finding("root-basic-constraints", "\(what) has no basicConstraints (CA/B Forum BR 7.1.2.1.2 requires a critical CA:TRUE)", about: root))
        }
        if let eku = root.extendedKeyUsage {
            let listed = "\(what) carries an extendedKeyUsage (\(eku.joined(separator: ", "))); a root must not (CA/B Forum BR 7.1.2.1.2)"
            if eku.contains("serverAuth") || eku.contains("anyExtendedKeyUsage") {
                // Test and private CAs do this (Pebble's root lists serverAuth, clientAuth), and
                // browsers accept their chains: the EKU only restricts, and serverAuth is allowed.
                findings.append(.warning("root-has-eku", listed + "; browsers read it as a restriction that still allows TLS servers", about: root))
            } else {
                findings.append(Finding("root-has-eku", listed + ", and this one does not even allow serverAuth, so clients that honour it refuse every server certificate below it", about: root))
            }
        }
        if !root.hasSubjectKeyIdentifier {
            findings.append(Finding("missing-ski", "\(what) has no subjectKeyIdentifier (CA/B Forum BR 7.1.2.1.2)", about: root))
        }
        let aki = root.authorityKeyIdentifierShape
        if aki.present && !aki.hasKeyIdentifier {
            findings.append(Finding("aki-without-keyid", "\(what)'s authorityKeyIdentifier has no keyIdentifier (CA/B Forum BR 7.1.2.1.3; RFC 5280 4.2.1.1)", about: root))
        }
        return findings.isEmpty ? .meets : .fails(findings)
    }
}

/// nameConstraints only in CA certificates, critical, with at least one subtree, and dNSName
/// bases without a leading period (RFC 5280 4.2.1.10; the period form is for URIs and email).
/// Non-critical constraints are an error under rfc5280 and a warning for the Web PKI, where the
/// BR (7.1.2.10.8) let CAs leave them non-critical for old clients and browsers enforce them anyway.
struct NameConstraintsPolicy: ServerCertificatePolicy {
    func evaluate(_ c: PolicyContext) -> PolicyVerdict {
        var findings: [Finding] = []
        if !c.leaf.isCA, c.leaf.rawExtension(.nameConstraints) != nil {
            findings.append(Finding("name-constraints-in-leaf", "the leaf carries nameConstraints, which only a CA certificate may (RFC 5280 4.2.1.10)", about: c.leaf))
        }
        // Under RFC 5280 the trust anchor's extensions are not part of the path (6.1.1 (d)).
        let judged = c.webPKI ? c.chain.count : c.signedCertificates.count
        for index in 1..<max(1, judged) {
            let cert = c.chain[index]
            guard let nc = cert.nameConstraints else { continue }
            var what: String { "\(c.role(index)) \(Describe.quoted(cert))" }
            if let malformed = nc.malformed {
                findings.append(Finding("name-constraints-malformed", "\(what)'s nameConstraints cannot be read (\(malformed))", about: cert))
                continue
            }
            if !nc.critical {
                findings.append(Finding("name-constraints-not-critical", "\(what)'s nameConstraints is not critical: RFC 5280 4.2.1.10 requires it to be (clients that do not know the extension would ignore the constraints)",
                                        severity: c.webPKI ? .warning : .error, about: cert))
            }
            if (nc.permitted ?? 0) == 0 && (nc.excluded ?? 0) == 0 {
                findings.append(Finding("name-constraints-empty", "\(what)'s nameConstraints has neither permitted nor excluded subtrees (RFC 5280 4.2.1.10 requires at least one)", about: cert))
            } else if nc.permitted == 0 || nc.excluded == 0 {
                findings.append(Finding("name-constraints-empty", "\(what)'s nameConstraints has an empty \(nc.permitted == 0 ? "permitted" : "excluded") subtree list (RFC 5280 4.2.1.10: SIZE (1..MAX))", about: cert))
            }
            let dotted = nc.dnsBases.filter { $0.hasPrefix(".") }
            if !dotted.isEmpty {
                findings.append(Finding("name-constraints-dns-period", "\(what)'s nameConstraints has the DNS constraint \(dotted.map { "\"\($0)\"" }.joined(separator: ", ")) with a leading period, which RFC 5280 4.2.1.10 defines only for URIs and email; write \"\(dotted[0].dropFirst())\" (it covers the subdomains too)", about: cert))
            }
        }
        return findings.isEmpty ? .meets : .fails(findings)
    }
}

/// authorityInfoAccess, when present, is a non-empty list of well-formed AccessDescriptions
/// (RFC 5280 4.2.2.1). OpenSSL's decoder may reject a malformed one and then say nothing.
struct AuthorityInfoAccessPolicy: ServerCertificatePolicy {
    func evaluate(_ c: PolicyContext) -> PolicyVerdict {
        var findings: [Finding] = []
        for (index, cert) in c.signedCertificates.enumerated() {
            guard let defect = cert.authorityInfoAccessDefect else { continue }
            findings.append(Finding("malformed-aia", "\(c.role(index)) \(Describe.quoted(cert))'s authorityInfoAccess is malformed: \(defect) (RFC 5280 4.2.2.1)", about: cert))
        }
        return findings.isEmpty ? .meets : .fails(findings)
    }
}
