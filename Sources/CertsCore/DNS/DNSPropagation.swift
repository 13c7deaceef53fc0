/// DNS-01 waits for the right thing: after the hook added the TXT records and before the CA is
/// told to look, every value must be served by every authoritative server of the name's zone.
/// A recursive resolver's view is not enough (it may cache the empty answer, and the CA asks the
/// authoritative servers through its own resolvers); a lagging secondary is what makes a CA fail
/// the challenge, so each authoritative server is asked directly, with recursion off.
///
/// The zone is found through the resolver: the `_acme-challenge` name's CNAME chain is followed
/// first (delegating the challenge to another zone is common), then the zone cut is where an SOA
/// is found climbing from the name (in the answer, or the authority section of a negative
/// answer), and its NS records, with their addresses, name the servers to ask.
public struct DNSPropagationCheck {
    public var resolver: DNSResolver
    /// For the authoritative servers (recursion off).
    public var client = DNSClient(timeout: 2, attempts: 1)
    /// --dns-timeout: how long every value may take to appear everywhere.
    public var timeout: Double
    public var log: (String) -> Void = { _ in }
    public var wait: (Double) -> Void = { pause($0) }
    /// Monotonic seconds.
    public var clock: () -> Double = { Double(Deadline.now()) / 1e9 }

    public init(resolver: DNSResolver, timeout: Double) {
        self.resolver = resolver
        self.timeout = timeout
    }

    /// Where one challenge name's TXT values are looked for.
    public struct Target: Equatable {
        /// The name asked (the end of the CNAME chain).
        public let name: String
        /// The zone apex, or nil when the resolver served no SOA (then the resolver is asked).
        public let zone: String?
        /// Each authoritative server by name, with its addresses.
        public let servers: [(host: String, addresses: [DNSServer])]

        public static func == (a: Target, b: Target) -> Bool {
            a.name == b.name && a.zone == b.zone && a.servers.map(\.host) == b.servers.map(\.host)
                && a.servers.map(\.addresses) == b.servers.map(\.addresses)
        }
    }

    /// Follows `name`'s CNAME chain (at most 8 links) and finds the zone and servers of its end.
    public func locate(_ name: String) throws -> Target {
        var current = DNSClient.canonical(name)
        var seen: Set<String> = [current]
        while let link = try resolver.query(current, .cname).answers.first(where: { $0.name == current }), case .cname(let target) = link.data {
            guard seen.insert(target).inserted, seen.count <= 9 else { throw DNSError.malformed("the CNAME chain from \(name) loops or is longer than 8") }
            log("\(current) is a CNAME for \(target)")
            current = target
        }
        guard let zone = try zoneApex(of: current) else {
            return Target(name: current, zone: nil, servers: resolver.servers.map { ($0.description, [$0]) })
        }
        let answer = try resolver.query(zone, .ns)
        let hosts = answer.answers.compactMap { r -> String? in
            if r.name == zone, case .ns(let host) = r.data { return host }
            return nil
        }
        guard !hosts.isEmpty else {
            throw DNSError.noAnswer(server: resolver.servers.map(\.description).joined(separator: ", "), name: zone, type: "NS", reason: "no NS records for the zone")
        }
        var servers: [(String, [DNSServer])] = []
        for host in Array(Set(hosts)).sorted() {
            var addresses = answer.additional.compactMap { Self.address($0, of: host) }
            if addresses.isEmpty {
                for type in [DNSType.a, .aaaa] {
                    if let found = try? resolver.query(host, type) { addresses += found.answers.compactMap { Self.address($0, of: nil) } }
                }
            }
            guard !addresses.isEmpty else {
                throw DNSError.noAnswer(server: resolver.servers.map(\.description).joined(separator: ", "), name: host, type: "A/AAAA",
                                        reason: "no address for the zone \(zone)'s name server")
            }
            servers.append((host, addresses))
        }
        return Target(name: current, zone: zone, servers: servers)
    }

    /// The nearest enclosing zone's apex: where the resolver shows an SOA climbing from `name`.
    func zoneApex(of name: String) throws -> String? {
        var candidate = name
        while !candidate.isEmpty {
            if let m = try? resolver.query(candidate, .soa),
               m.responseCode == DNSResponseCode.noError.rawValue || m.responseCode == DNSResponseCode.nameError.rawValue {
                if m.answers.contains(where: { $0.name == candidate && $0.type == DNSType.soa.rawValue }) { return candidate }
                if let soa = m.authority.first(where: { $0.type == DNSType.soa.rawValue && Self.isWithin(candidate, $0.name) }) { return soa.name }
            }
            guard let dot = candidate.firstIndex(of: ".") else { break }
            candidate = String(candidate[candidate.index(after: dot)...])
        }
        return nil
    }

    static func isWithin(_ name: String, _ zone: String) -> Bool {
        zone.isEmpty || name == zone || name.hasSuffix("." + zone)
    }

    static func address(_ r: DNSRecord, of host: String?) -> DNSServer? {
        if let host, r.name != host { return nil }
        switch r.data {
        case .a(let b), .aaaa(let b): return DNSServer(address: IPAddress.format(b))
        default: return nil
        }
    }

    /// Waits until each name's TXT values are all served by every one of its authoritative
    /// servers, polling with backoff (0.25 s doubling to 4 s); throws `DNSError.notPropagated`
    /// naming the first server and name still missing a value when `timeout` passes.
    public func waitUntilVisible(_ records: [(name: String, values: [String])]) throws {
        let start = clock()
        // One name may get several values (a wildcard and its base name share _acme-challenge).
        var wanted: [(name: String, values: Set<String>)] = []
        for r in records {
            let n = DNSClient.canonical(r.name)
            if let i = wanted.firstIndex(where: { $0.name == n }) { wanted[i].values.formUnion(r.values) } else { wanted.append((n, Set(r.values))) }
        }
        struct Pending { let original: String; let target: Target; let values: Set<String>; var host: String; var addresses: [DNSServer]; var seen: String }
        var pending: [Pending] = []
        var located: [(String, Target)] = []
        var unresolved = wanted
        var delay = 0.25
        while true {
            // Locate (once per name; a failed lookup is retried on the next round).
            unresolved = try unresolved.filter { w in
                do {
                    let t = try locate(w.name)
                    located.append((w.name, t))
                    if let zone = t.zone {
                        log("\(w.name): zone \(zone), authoritative servers \(t.servers.map { "\($0.host) (\($0.addresses.map(\.description).joined(separator: ", ")))" }.joined(separator: ", "))")
                    } else {
                        log("\(w.name): the resolver shows no SOA for its zone; checking the TXT values at the resolver itself")
                    }
                    for s in t.servers { pending.append(Pending(original: w.name, target: t, values: w.values, host: s.host, addresses: s.addresses, seen: "not asked yet")) }
                    return false
                } catch let e as DNSError {
                    if clock() - start >= timeout { throw DNSError.notPropagated(name: w.name, server: resolver.servers.map(\.description).joined(separator: ", "), seen: "\(e)", seconds: timeout) }
                    log("\(w.name): cannot find its zone yet (\(e))")
                    return true
                }
            }
            pending = pending.compactMap { p in
                var p = p
                let recursion = p.target.zone == nil
                for address in p.addresses {
                    do {
                        let m = try client.query(p.target.name, .txt, server: address, recursionDesired: recursion)
                        let texts = Set(m.answers.filter { $0.name == p.target.name }.compactMap(\.text))
                        let missing = p.values.subtracting(texts).count
                        if missing == 0 {
                            log("\(p.target.name): all \(p.values.count) value(s) visible at \(p.host)")
                            return nil
                        }
                        p.seen = m.responseCode == 0 ? "it serves \(p.values.count - missing) of the \(p.values.count) value(s)" : "it answers \(m.rcodeText)"
                    } catch {
                        p.seen = "\(error)"
                    }
                }
                return p
            }
            if pending.isEmpty && unresolved.isEmpty { return }
            let elapsed = clock() - start
            if elapsed >= timeout {
                if let p = pending.first {
                    let where_ = p.addresses.map(\.description).joined(separator: ", ")
                    throw DNSError.notPropagated(name: p.target.name == p.original ? p.original : "\(p.original) (CNAME to \(p.target.name))",
                                                 server: p.host == where_ ? p.host : "\(p.host) (\(where_))", seen: p.seen, seconds: timeout)
                }
            }
            wait(min(delay, max(0.01, timeout - elapsed)))
            delay = min(delay * 2, 4)
        }
    }
}
