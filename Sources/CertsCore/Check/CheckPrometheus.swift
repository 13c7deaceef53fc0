/// The Prometheus text exposition format (node_exporter's textfile collector, and `--listen`):
/// metric names as x509-certificate-exporter (`x509_cert_*`, one series per certificate of a
/// bundle or served chain) and blackbox_exporter (`probe_*`, per endpoint) use them, plus
/// `certs_*` for what only certs knows. docs/prometheus.md is the mapping.
public enum CheckPrometheus {
    public typealias Labels = [(String, String)]

    /// Appends one gauge (or `type`) family; series whose labels repeat an earlier one are dropped
    /// (the same file named twice), since a duplicate series fails the whole scrape.
    public static func family(_ out: inout String, _ name: String, _ help: String, type: String = "gauge", _ samples: [(labels: Labels, value: String)]) {
        guard !samples.isEmpty else { return }
        out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        var seen = Set<String>()
        for s in samples {
            let labels = s.labels.map { "\($0.0)=\"\(escape($0.1))\"" }.joined(separator: ",")
            guard seen.insert(labels).inserted else { continue }
            out += labels.isEmpty ? "\(name) \(s.value)\n" : "\(name){\(labels)} \(s.value)\n"
        }
    }

    public static func render(_ report: CheckReport, lastSuccess: Int64?) -> String {
        var out = ""
        func family(_ name: String, _ help: String, _ samples: [(labels: Labels, value: String)]) {
            Self.family(&out, name, help, samples)
        }
        let sorted = report.sorted  // once: each use sorted (and copied) all the results again
        let checked = sorted.filter { $0.notAfter != nil }
        func where_(_ r: CheckedCertificate) -> Labels {
            r.kind == .endpoint ? [("instance", r.source)] : [("filepath", r.source), ("filename", baseName(r.source))]
        }
        // One series per certificate: the leaf (chain_position 0) and every certificate after it.
        var certs: [(labels: Labels, member: ChainMember)] = []
        for r in checked {
            for (i, m) in r.members.enumerated() {
                certs.append((where_(r) + [("source_kind", r.kind.rawValue), ("chain_position", String(i)),
                                           ("subject_CN", m.commonName ?? ""), ("issuer_CN", m.issuerCommonName ?? ""),
                                           ("serial_number", m.serial)], m))
            }
        }
        family("x509_cert_not_after", "The certificate's notAfter, Unix seconds.", certs.map { ($0.labels, String($0.member.notAfter)) })
        family("x509_cert_not_before", "The certificate's notBefore, Unix seconds.", certs.map { ($0.labels, String($0.member.notBefore)) })
        family("x509_cert_expired", "1 when the certificate has expired.", certs.map { ($0.labels, $0.member.notAfter <= report.at ? "1" : "0") })
        family("x509_cert_expires_in_seconds", "Seconds until the certificate expires (negative once expired).",
               certs.map { ($0.labels, String($0.member.notAfter - report.at)) })
        family("x509_cert_valid_since_seconds", "Seconds since the certificate's notBefore (negative before it).",
               certs.map { ($0.labels, String(report.at - $0.member.notBefore)) })
        family("x509_cert_revoked", "1 when the certificate is revoked (CRL or OCSP), 0 when checked and good.",
               certs.compactMap { c in c.member.revoked.map { (c.labels, $0 ? "1" : "0") } })
        family("x509_cert_valid_chain", "1 when the chain verifies (trust, host name for endpoints); on the leaf's series.",
               checked.compactMap { r in
                   guard let valid = r.chainValid, let leaf = r.members.first else { return nil }
                   return (where_(r) + [("source_kind", r.kind.rawValue), ("chain_position", "0"), ("subject_CN", leaf.commonName ?? ""),
                                        ("issuer_CN", leaf.issuerCommonName ?? ""), ("serial_number", leaf.serial)], valid ? "1" : "0")
               })
        let unreadable = sorted.filter { $0.problems.contains { $0.code == "unreadable" } }
        family("x509_cert_error", "1 for a file the scan found but could not read (the reason is in certs check --json).",
               unreadable.map { (where_($0) + [("source_kind", $0.kind.rawValue)], "1") })
        family("x509_read_errors", "Files and directories the scan found but could not read (each is also an UNKNOWN result).",
               [([], String(unreadable.count))])
        family("x509_skipped_files", "Files in the scanned directories that held no certificate.", [([], String(report.skipped.count))])
        let endpoints = sorted.filter { $0.kind == .endpoint }
        family("probe_success", "1 when the TLS handshake with the endpoint succeeded.",
               endpoints.map { ([("instance", $0.source)], $0.notAfter == nil ? "0" : "1") })
        family("probe_ssl_earliest_cert_expiry", "The soonest notAfter of the served chain, Unix seconds.",
               endpoints.compactMap { r in r.earliestExpiry.map { ([("instance", r.source)], String($0)) } })
        family("probe_tls_version_info", "The negotiated TLS version (label version), always 1.",
               endpoints.compactMap { r in r.tls.map { ([("instance", r.source), ("version", $0.versionLabel)], "1") } })
        family("probe_tls_cipher_info", "The negotiated cipher suite (label cipher, OpenSSL's name), always 1.",
               endpoints.compactMap { r in r.tls.map { ([("instance", r.source), ("cipher", $0.cipher)], "1") } })
        family("certs_tls_group_info", "The negotiated key-exchange group (label group), always 1.",
               endpoints.compactMap { r in r.tls?.group.map { ([("instance", r.source), ("group", $0)], "1") } })
        family("certs_endpoint_serves_current", "1 when the endpoint serves the store's current certificate, 0 when another.",
               endpoints.compactMap { r in r.servesCurrent.map { ([("instance", r.source), ("store_name", r.storeName ?? "")], $0 ? "1" : "0") } })
        family("certs_endpoint_consecutive_failures", "Failed runs in a row for an unreachable endpoint (counted with --state).",
               endpoints.map { ([("instance", $0.source)], String($0.consecutiveFailures)) })
        family("certs_check_status", "The check's verdict per certificate: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
               sorted.map { ([("source", $0.source), ("source_kind", $0.kind.rawValue)], String($0.status.rawValue)) })
        family("certs_check_exit_code", "The run's exit code (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).", [([], String(report.status.rawValue))])
        family("certs_check_last_run_timestamp_seconds", "When this check ran, Unix seconds.", [([], String(report.at))])
        if let beat = report.renewal {
            family("certs_renew_last_run_timestamp_seconds", "When certs renew last ran, Unix seconds.", [([], String(beat.lastRun))])
            family("certs_renew_last_run_success", "1 when the last certs renew run succeeded.", [([], beat.lastOutcome == "success" ? "1" : "0")])
            if let s = beat.lastSuccess {
                family("certs_renew_last_success_timestamp_seconds", "The last certs renew run that succeeded, Unix seconds.", [([], String(s))])
            }
        }
        // check --ari: 0 before the CA's renewal window, 1 open, 2 closed, -1 answer rejected.
        let windows = sorted.filter { $0.renewalInfo.map { $0.windowStart != nil || $0.problem != nil } ?? false }
        family("certs_ari_window_state", "The CA's renewal window (ARI): 0 not open yet, 1 open, 2 closed, -1 answer rejected.",
               windows.map { r in
                   let ri = r.renewalInfo!
                   let value = ri.problem != nil ? "-1" : report.at >= ri.windowEnd! ? "2" : report.at >= ri.windowStart! ? "1" : "0"
                   return ([("filepath", r.source), ("explanation_url", ri.explanationURL ?? "")], value)
               })
        family("certs_ari_window_start_seconds", "Start of the CA's suggested renewal window, Unix seconds.",
               windows.compactMap { r in r.renewalInfo!.windowStart.map { ([("filepath", r.source)], String($0)) } })
        family("certs_ari_window_end_seconds", "End of the CA's suggested renewal window, Unix seconds.",
               windows.compactMap { r in r.renewalInfo!.windowEnd.map { ([("filepath", r.source)], String($0)) } })
        if let lastSuccess {
            family("certs_check_last_success_timestamp_seconds", "The last run that read every input and delivered every alert.", [([], String(lastSuccess))])
        }
        return out
    }

    static func baseName(_ path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? path
    }

    /// Label values escape backslash, double quote and line feed.
    static func escape(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }
}

extension TrustStore {
    /// The system roots plus `extra` (the local CA's root): certificates from both verify.
    public static func system(adding extra: [Certificate], origin: String) throws -> TrustStore {
        let trust = try TrustStore.system()
        for cert in extra {
            try trust.add(cert)
        }
        return trust
    }
}
