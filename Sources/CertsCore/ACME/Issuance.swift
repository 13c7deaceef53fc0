/// Everything `certs request` needs to obtain and install one certificate.
public struct IssuanceRequest {
    public var directoryURL: String
    public var identifiers: [ACMEIdentifier]
    public var method: ChallengeMethod
    public var email: String?
    public var agreeToTerms: Bool
    public var externalAccountBinding: (keyID: String, macKey: [UInt8])?
    public var keyType: KeyType
    public var reuseKey: Bool
    public var name: String
    public var preferredChain: String?
    public var dnsPropagationWait: Double
    /// An ACME certificate profile the CA lists in its directory (e.g. "shortlived"), or nil.
    public var profile: String?

    public init(directoryURL: String, identifiers: [ACMEIdentifier], method: ChallengeMethod, email: String? = nil, agreeToTerms: Bool = false,
                externalAccountBinding: (keyID: String, macKey: [UInt8])? = nil, keyType: KeyType = .default, reuseKey: Bool = false,
                name: String, preferredChain: String? = nil, dnsPropagationWait: Double = 0, profile: String? = nil) {
        self.profile = profile
        self.directoryURL = directoryURL
        self.identifiers = identifiers
        self.method = method
        self.email = email
        self.agreeToTerms = agreeToTerms
        self.externalAccountBinding = externalAccountBinding
        self.keyType = keyType
        self.reuseKey = reuseKey
        self.name = name
        self.preferredChain = preferredChain
        self.dnsPropagationWait = dnsPropagationWait
    }

    /// Checks identifiers before anything is sent: no duplicates, wildcards only with DNS-01.
    public static func validate(identifiers: [ACMEIdentifier], method: ChallengeMethod) throws {
        guard !identifiers.isEmpty else { throw ACMEError.invalidRequest("give at least one domain name") }
        var seen = Set<ACMEIdentifier>()
        for id in identifiers {
            guard seen.insert(id).inserted else { throw InputError.invalidValue(option: "domain", value: id.value, reason: "given twice") }
            if id.isWildcard, method.challengeType != "dns-01" {
                throw InputError.invalidValue(option: "domain", value: id.value, reason: "wildcard names can only be validated over DNS: use --dns-hook")
            }
            if id.type == "ip", method.challengeType == "dns-01" {
                throw InputError.invalidValue(option: "domain", value: id.value, reason: "IP addresses cannot be validated over DNS: use --standalone or --webroot")
            }
        }
        if identifiers.count > 100 { throw ACMEError.invalidRequest("at most 100 names per certificate") }
    }
}

public struct IssuanceResult {
    public let name: String
    public let paths: CertificateStore.Paths
    public let version: Int
    public let certificate: Certificate
    public let chain: [Certificate]
    public let accountURL: String
    public let orderURL: String
    public let keyReused: Bool
    /// Issuer CN of the top of the chain that was chosen.
    public let chainTop: String
    public let alternateChains: Int
}

/// ACME accounts under `<store>/accounts/<directory-host>/`: `account.key` (0600) and `account.json`.
public struct ACMEAccountStore {
    public let store: CertificateStore

    public init(store: CertificateStore) { self.store = store }

    /// `host` or `host_port` of a URL, safe as one path component.
    public static func directoryHost(_ url: String) throws -> String {
        var rest = Substring(url)
        guard let scheme = rest.firstRange(of: "://") else { throw InputError.invalidValue(option: "--acme", value: url, reason: "not an https:// URL") }
        rest = rest[scheme.upperBound...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        let hostPort = authority.split(separator: "@").last.map(String.init) ?? ""
        var safe = ""
        for c in hostPort.lowercased().unicodeScalars {
            if (c >= "a" && c <= "z") || (c >= "0" && c <= "9") || c == "." || c == "-" { safe.unicodeScalars.append(c) }
            else if c == ":" { safe += "_" }
        }
        while safe.hasPrefix(".") || safe.hasPrefix("_") { safe.removeFirst() }
        guard !safe.isEmpty else { throw InputError.invalidValue(option: "--acme", value: url, reason: "no host") }
        return safe
    }

    public func directory(for url: String) throws -> String { "\(store.root)/accounts/\(try Self.directoryHost(url))" }

    /// The account key for this CA, created (EC P-256) when there is none.
    public func key(for url: String, create: Bool = true) throws -> (key: PrivateKey, created: Bool) {
        let dir = try directory(for: url)
        let path = "\(dir)/account.key"
        if FileSystem.exists(path) {
            return (try PrivateKey(bytes: try FileSystem.read(path), source: path), false)
        }
        guard create else { throw ACMEError.noAccount("no ACME account for \(url) in \(dir)") }
        try FileSystem.makeDirectories(dir, mode: 0o700)
        let key = try PrivateKey.generate(.ecP256)
        try FileSystem.writeAtomically(try key.pem(), to: path, mode: 0o600)
        return (key, true)
    }

    public func accountURL(for url: String) -> String? {
        guard let dir = try? directory(for: url), let bytes = try? FileSystem.read("\(dir)/account.json"),
              let json = try? JSONParser.parse(bytes) else { return nil }
        return json["url"]?.stringValue
    }

    public func save(accountURL: String, directoryURL: String, contact: [String]) throws {
        let dir = try directory(for: directoryURL)
        let json = JSON.object([("version", .int(1)), ("directory", .string(directoryURL)), ("url", .string(accountURL)), ("contact", .strings(contact))])
        try FileSystem.writeAtomically(Array((json.rendered() + "\n").utf8), to: "\(dir)/account.json", mode: 0o644, existing: .replace)
    }
}

/// Drives one issuance: account, order, challenges, CSR, download, checks, install.
public struct ACMEIssuer {
    public let store: CertificateStore
    public let http: HTTPClient
    public var policy = ACMEPolicy()
    public var log: (String) -> Void = { _ in }

    public init(store: CertificateStore, http: HTTPClient) {
        self.store = store
        self.http = http
    }

    /// A client with the stored (or a new) account for the directory, registered on the server.
    public func client(directoryURL: String, email: String?, agreeToTerms: Bool, eab: (keyID: String, macKey: [UInt8])?, create: Bool = true) throws -> ACMEClient {
        let accounts = ACMEAccountStore(store: store)
        let (accountKey, _) = try accounts.key(for: directoryURL, create: create)
        let client = try ACMEClient(directoryURL: directoryURL, accountKey: accountKey, http: http, policy: policy, log: log)
        let contact = email.map { ["mailto:\($0)"] } ?? []
        if let known = accounts.accountURL(for: directoryURL) {
            client.useAccount(known)
        } else if !create {
            guard let found = try client.findAccount() else { throw ACMEError.noAccount("the ACME server has no account for the stored key") }
            try accounts.save(accountURL: found, directoryURL: directoryURL, contact: contact)
        } else {
            let url = try client.registerAccount(contact: contact, agreeToTerms: agreeToTerms, externalAccountBinding: eab)
            try accounts.save(accountURL: url, directoryURL: directoryURL, contact: contact)
        }
        return client
    }

    public func issue(_ request: IssuanceRequest) throws -> IssuanceResult {
        try IssuanceRequest.validate(identifiers: request.identifiers, method: request.method)
        try CertificateStore.validate(name: request.name)

        // The standalone server binds before any ACME traffic (a busy port fails fast) and answers
        // on its own thread from before the first challenge POST until the order is final: a CA
        // may validate while that POST is in flight (acme2certifier does).
        var server: ChallengeServer? = nil
        if case .standalone(let address, let port) = request.method {
            server = try ChallengeServer(address: address, port: port)
            try server?.start()
        }
        defer { server?.close() }

        let client = try self.client(directoryURL: request.directoryURL, email: request.email, agreeToTerms: request.agreeToTerms, eab: request.externalAccountBinding)

        let order: ACMEOrder
        do {
            order = try client.newOrder(request.identifiers, profile: request.profile)
        } catch let p as ACMEProblem where p.shortType == "accountDoesNotExist" || (p.shortType == "unauthorized" && p.detail.lowercased().contains("account")) {
            // The stored account URL is unknown to the server (a reset test CA, a deactivated account): register the key again.
            log("the CA does not know the stored account; registering again")
            let contact = request.email.map { ["mailto:\($0)"] } ?? []
            let url = try client.registerAccount(contact: contact, agreeToTerms: request.agreeToTerms, externalAccountBinding: request.externalAccountBinding)
            try ACMEAccountStore(store: store).save(accountURL: url, directoryURL: request.directoryURL, contact: contact)
            order = try client.newOrder(request.identifiers, profile: request.profile)
        }
        var cleanups: [() -> Void] = []
        defer { for c in cleanups.reversed() { c() } }

        // Collect pending authorizations and set every challenge up before answering any.
        var ready: [(ACMEAuthorization, ACMEChallenge)] = []
        for url in order.authorizations {
            let (authz, _) = try client.authorization(url)
            if authz.status == "valid" { log("\(authz.identifier): already authorized"); continue }
            guard authz.status == "pending" else {
                throw ACMEError.authorizationFailed(identifier: authz.identifier.value, detail: "the authorization is \(authz.status)")
            }
            let wanted = request.method.challengeType
            guard let challenge = authz.challenges.first(where: { $0.type == wanted }) else {
                throw ACMEError.noSupportedChallenge(identifier: authz.identifier.value, wanted: wanted, offered: authz.challenges.map(\.type))
            }
            guard Self.isSafeToken(challenge.token) else { throw ACMEError.protocolViolation("challenge token with unsafe characters") }
            let keyAuthorization = try JWS.keyAuthorization(token: challenge.token, accountKey: client.accountKey)
            switch request.method {
            case .standalone:
                server?.add(token: challenge.token, keyAuthorization: keyAuthorization)
            case .webroot(let root):
                let dir = "\(root)/.well-known/acme-challenge"
                try FileSystem.makeDirectories(dir, mode: 0o755)
                let file = "\(dir)/\(challenge.token)"
                try FileSystem.writeAtomically(Array(keyAuthorization.utf8), to: file, mode: 0o644, existing: .replace)
                cleanups.append { try? FileSystem.remove(file) }
            case .dnsHook(let command):
                let base = authz.identifier.value.hasPrefix("*.") ? String(authz.identifier.value.dropFirst(2)) : authz.identifier.value
                let name = "_acme-challenge.\(base)"
                let value = JWS.dnsValue(keyAuthorization: keyAuthorization)
                try runHook(command, action: "add", name: name, value: value)
                cleanups.append { [self] in _ = try? self.runHook(command, action: "remove", name: name, value: value) }
            }
            ready.append((authz, challenge))
        }
        if case .dnsHook = request.method, request.dnsPropagationWait > 0, !ready.isEmpty {
            log("waiting \(request.dnsPropagationWait) s for DNS propagation")
            pause(request.dnsPropagationWait)
        }
        for (_, challenge) in ready { try client.respond(to: challenge) }
        for (authz, _) in ready {
            _ = try client.waitUntilValid(authorization: authz.url)
            log("\(authz.identifier): valid")
        }

        // Key and CSR: a new key unless --reuse-key and there is a live one.
        var key: PrivateKey? = nil
        if request.reuseKey, FileSystem.exists(store.paths(request.name).key) {
            key = try PrivateKey(bytes: try FileSystem.read(store.paths(request.name).key), source: store.paths(request.name).key)
        }
        let keyReused = key != nil
        let certificateKey = try key ?? PrivateKey.generate(request.keyType)
        let names = request.identifiers.map(\.generalName)
        let firstDNS = request.identifiers.first { $0.type == "dns" }?.value
        let csr = try CertificateSigningRequest.create(key: certificateKey, subject: DistinguishedName(commonName: firstDNS.flatMap { $0.utf8.count <= 64 ? $0 : nil }),
                                                       subjectAlternativeNames: names)
        let finalOrder = try client.finalize(order, csrDER: try csr.der())
        server?.close()
        let chains = try client.downloadChains(finalOrder.certificate!)

        // Pick the chain, check it against the request and the key, then install.
        var parsed: [(ACMEChain, [Certificate])] = []
        for chain in chains {
            let certs = try Certificate.parseAll(chain.pem, source: chain.url)
            guard !certs.isEmpty else { throw ACMEError.protocolViolation("\(chain.url) held no certificate") }
            parsed.append((chain, certs))
        }
        let chosen = Self.choose(parsed.map(\.1), preferred: request.preferredChain)
        if let preferred = request.preferredChain, chosen == 0, parsed[0].1.last?.issuer.commonName != preferred {
            log("no chain up to \(preferred) among \(parsed.count); using the CA's default chain")
        }
        let certs = parsed[chosen].1
        let leaf = certs[0]
        guard certificateKey.matches(leaf.publicKey) else { throw StoreError.keyMismatch(name: request.name) }
        let issued = Set(leaf.subjectAlternativeNames)
        for name in names where !issued.contains(name) {
            throw ACMEError.protocolViolation("the issued certificate lacks \(name)")
        }
        for i in 1..<max(certs.count, 1) where !certs[i - 1].isIssued(by: certs[i]) {
            throw ACMEError.protocolViolation("the chain from the server is out of order at certificate \(i + 1)")
        }
        let paths = try store.install(name: request.name, key: certificateKey, certificate: leaf, chain: Array(certs.dropFirst()))
        return IssuanceResult(name: request.name, paths: paths, version: store.currentVersion(request.name) ?? 0, certificate: leaf,
                              chain: Array(certs.dropFirst()), accountURL: client.accountURL ?? "", orderURL: order.url, keyReused: keyReused,
                              chainTop: (certs.last?.issuer.commonName) ?? "", alternateChains: chains.count - 1)
    }

    /// The index of the chain whose top issuer (or any CA certificate's subject) has the
    /// preferred common name; 0 (the server's default) otherwise.
    public static func choose(_ chains: [[Certificate]], preferred: String?) -> Int {
        guard let preferred, !preferred.isEmpty else { return 0 }
        if let i = chains.firstIndex(where: { $0.last?.issuer.commonName == preferred }) { return i }
        if let i = chains.firstIndex(where: { $0.dropFirst().contains { $0.subject.commonName == preferred } }) { return i }
        return 0
    }

    static func isSafeToken(_ token: String) -> Bool {
        !token.isEmpty && token.utf8.count <= 256 && token.utf8.allSatisfy { ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 || $0 == 95 }
    }

    func runHook(_ command: String, action: String, name: String, value: String) throws {
        log("dns hook: \(action) \(name)")
        let r = try Subprocess.shell(command, environment: ["CERTS_DNS_ACTION": action, "CERTS_DNS_NAME": name, "CERTS_DNS_VALUE": value], timeout: 120)
        guard r.succeeded else { throw ACMEError.hookFailed(action: action, name: name, detail: r.failureDetail) }
    }

    /// Revokes the live certificate `name` with the account of its renewal config's CA.
    public func revoke(name: String, directoryURL: String, reason: Int?) throws -> Certificate {
        let path = store.paths(name).certificate
        guard FileSystem.exists(path) else { throw StoreError.notFound(name: name, store: store.root) }
        let cert = try Certificate.parseAll(try FileSystem.read(path), source: path)[0]
        let client = try self.client(directoryURL: directoryURL, email: nil, agreeToTerms: false, eab: nil, create: false)
        try client.revoke(certificateDER: try cert.der(), reason: reason)
        return cert
    }
}
