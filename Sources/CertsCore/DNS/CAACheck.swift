/// CAA (RFC 8659) before ordering: a name whose CAA records do not allow the CA gets a clear
/// refusal naming the record, instead of an order the CA turns down after the challenges.
///
/// The CA makes the binding check; this one is a courtesy, so a lookup that fails (no resolver,
/// SERVFAIL) is logged and the order goes ahead. The CA's identity is its directory's
/// `meta.caaIdentities` (RFC 8555 §7.1.1); a CA that lists none can only be refused by a record
/// that allows no CA at all (`issue ";"`).
public struct CAACheck {
    public var resolver: DNSResolver
    public var log: (String) -> Void = { _ in }

    public init(resolver: DNSResolver) { self.resolver = resolver }

    /// Property tags certs understands (RFC 8659 §4.2–4.4, RFC 9495 issuemail, RFC 8657 params
    /// live inside issue values). A critical flag on any other tag forbids issuance (§4.1).
    static let knownTags: Set<String> = ["issue", "issuewild", "iodef", "issuemail", "contactemail", "contactphone"]

    public enum Verdict: Equatable {
        case allowed
        case forbidden(record: DNSRecord, reason: String)
        /// The records restrict issuance but the CA's identity is unknown (no caaIdentities).
        case undecided(String)
    }

    /// Checks every DNS identifier; throws `DNSError.caaForbids` for the first that forbids.
    public func check(_ identifiers: [ACMEIdentifier], caaIdentities: [String]) throws {
        for id in identifiers where id.type == "dns" {
            let fqdn = DNSClient.canonical(id.isWildcard ? String(id.value.dropFirst(2)) : id.value)
            let found: (owner: String, records: [DNSRecord])?
            do {
                found = try relevantRecordSet(fqdn)
            } catch {
                log("could not check CAA for \(id.value) (\(error)); the CA will check it")
                continue
            }
            guard let found else { log("\(id.value): no CAA records up to the top-level domain; any CA may issue"); continue }
            switch Self.evaluate(found.records, wildcard: id.isWildcard, caaIdentities: caaIdentities) {
            case .allowed: log("\(id.value): CAA at \(found.owner) allows this CA")
            case .undecided(let why): log("\(id.value): \(why); the CA will check it")
            case .forbidden(let record, let reason): throw DNSError.caaForbids(name: id.value, record: record.description, reason: reason)
            }
        }
    }

    /// RFC 8659 §3: the CAA RRset of the name, else of each parent up to (not including) the
    /// root; the first non-empty one is relevant. The resolver follows a CNAME at each step as
    /// any DNS lookup does; the parents of a CNAME's target are not climbed (RFC 8659 dropped
    /// that rule of RFC 6844).
    func relevantRecordSet(_ fqdn: String) throws -> (owner: String, records: [DNSRecord])? {
        var candidate = fqdn
        while !candidate.isEmpty {
            let m = try resolver.query(candidate, .caa)
            guard m.responseCode == DNSResponseCode.noError.rawValue || m.responseCode == DNSResponseCode.nameError.rawValue else {
                throw DNSError.noAnswer(server: resolver.servers.map(\.description).joined(separator: ", "), name: candidate, type: "CAA", reason: m.rcodeText)
            }
            let records = m.answers.filter { $0.type == DNSType.caa.rawValue }
            if !records.isEmpty { return (candidate, records) }
            guard let dot = candidate.firstIndex(of: ".") else { break }
            candidate = String(candidate[candidate.index(after: dot)...])
        }
        return nil
    }

    /// The decision for one relevant RRset (pure: the tests feed it records).
    public static func evaluate(_ records: [DNSRecord], wildcard: Bool, caaIdentities: [String]) -> Verdict {
        var properties: [(record: DNSRecord, flags: UInt8, tag: String, value: String)] = []
        for r in records { if case .caa(let f, let t, let v) = r.data { properties.append((r, f, t, v)) } }
        if let critical = properties.first(where: { $0.flags & 0x80 != 0 && !knownTags.contains($0.tag) }) {
            return .forbidden(record: critical.record, reason: "is critical and its tag \"\(critical.tag)\" is unknown, so no CA may issue")
        }
        // §4.3: for a wildcard, issuewild replaces issue when present; otherwise issue applies.
        let wild = properties.filter { $0.tag == "issuewild" }
        let relevant = wildcard && !wild.isEmpty ? wild : properties.filter { $0.tag == "issue" }
        guard !relevant.isEmpty else { return .allowed }
        let identities = Set(caaIdentities.map { DNSClient.canonical($0) })
        var named: [String] = []
        for p in relevant {
            // issuer-domain-name [";" parameters]; an empty domain authorizes no CA (§4.2).
            let domain = DNSClient.canonical(String(p.value.prefix { $0 != ";" }).trimmingSpaces)
            if domain.isEmpty { continue }
            if identities.contains(domain) { return .allowed }
            named.append(domain)
        }
        let tag = relevant[0].tag
        if named.isEmpty { return .forbidden(record: relevant[0].record, reason: "allows no CA to issue") }
        if identities.isEmpty {
            return .undecided("CAA names \(named.joined(separator: ", ")) (\(tag)) and the CA's directory lists no caaIdentities")
        }
        return .forbidden(record: relevant[0].record,
                          reason: "names only \(named.joined(separator: ", ")) (\(tag)), not this CA (its caaIdentities: \(caaIdentities.joined(separator: ", ")))")
    }
}
