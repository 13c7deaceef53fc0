import COpenSSL

/// The node_exporter textfile-collector format: metric names as x509-certificate-exporter
/// (`x509_cert_*`) and blackbox_exporter (`probe_*`) use them, plus `certs_check_*` for the run.
public enum CheckPrometheus {
    public static func render(_ report: CheckReport, lastSuccess: Int64?) -> String {
        var out = ""
        func family(_ name: String, _ help: String, _ samples: [(labels: [(String, String)], value: String)]) {
            guard !samples.isEmpty else { return }
            out += "# HELP \(name) \(help)\n# TYPE \(name) gauge\n"
            for s in samples {
                let labels = s.labels.map { "\($0.0)=\"\(escape($0.1))\"" }.joined(separator: ",")
                out += labels.isEmpty ? "\(name) \(s.value)\n" : "\(name){\(labels)} \(s.value)\n"
            }
        }
        let certs = report.sorted.filter { $0.notAfter != nil }
        func labels(_ r: CheckedCertificate) -> [(String, String)] {
            [(r.kind == .endpoint ? "instance" : "filepath", r.source), ("source_kind", r.kind.rawValue),
             ("subject_CN", r.commonName ?? ""), ("issuer_CN", r.issuerCommonName ?? ""), ("serial_number", r.serial)]
        }
        family("x509_cert_not_after", "The certificate's notAfter, Unix seconds.", certs.map { (labels($0), String($0.notAfter!)) })
        family("x509_cert_not_before", "The certificate's notBefore, Unix seconds.", certs.map { (labels($0), String($0.notBefore)) })
        family("x509_cert_expired", "1 when the certificate has expired.", certs.map { (labels($0), $0.notAfter! <= report.at ? "1" : "0") })
        family("x509_cert_expires_in_seconds", "Seconds until the certificate expires (negative once expired).",
               certs.map { (labels($0), String($0.notAfter! - report.at)) })
        family("x509_cert_valid_chain", "1 when the chain verifies (trust, host name for endpoints).",
               certs.filter { $0.chainValid != nil }.map { (labels($0), $0.chainValid! ? "1" : "0") })
        family("x509_read_errors", "Files and directories the scan found but could not read (each is also an UNKNOWN result).",
               [([], String(report.sorted.filter { $0.problems.contains { $0.code == "unreadable" } }.count))])
        family("x509_skipped_files", "Files in the scanned directories that held no certificate.", [([], String(report.skipped.count))])
        let endpoints = report.sorted.filter { $0.kind == .endpoint }
        family("probe_success", "1 when the TLS handshake with the endpoint succeeded.",
               endpoints.map { ([("instance", $0.source)], $0.notAfter == nil ? "0" : "1") })
        family("probe_ssl_earliest_cert_expiry", "The served leaf's notAfter, Unix seconds.",
               endpoints.filter { $0.notAfter != nil }.map { ([("instance", $0.source)], String($0.notAfter!)) })
        family("certs_check_status", "The check's verdict per certificate: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
               report.sorted.map { ([("source", $0.source), ("source_kind", $0.kind.rawValue)], String($0.status.rawValue)) })
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
        let windows = report.sorted.filter { $0.renewalInfo.map { $0.windowStart != nil || $0.problem != nil } ?? false }
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
            try osslCheck("adding \(cert.subject) to the trust store") { X509_STORE_add_cert(trust.pointer, cert.pointer) }
        }
        return trust
    }
}
