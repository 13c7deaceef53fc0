/// How to make browsers and tools on a machine trust the local CA's root (what mkcert -install
/// does, given as commands to paste rather than done behind the user's back: trusting a root is
/// the user's decision, and it needs root privileges).
public enum LocalCATrust {
    /// One way to trust the root: where, and the command (the root's path shell-quoted).
    public struct Step: Sendable, Equatable {
        public let target: String
        public let command: String
    }

    /// `<store>/ca/root.pem`.
    public static func rootPath(store: String) -> String { "\(LocalCA.directory(inStore: store))/root.pem" }

    /// The commands for the common systems and browsers, in that order.
    public static func steps(root: String) -> [Step] {
        let r = ScheduleEmitter.quote(root)
        return [
            Step(target: "Debian/Ubuntu", command: "sudo cp \(r) /usr/local/share/ca-certificates/certs-local-ca.crt && sudo update-ca-certificates"),
            Step(target: "Fedora/RHEL", command: "sudo cp \(r) /etc/pki/ca-trust/source/anchors/certs-local-ca.pem && sudo update-ca-trust"),
            Step(target: "macOS", command: "sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain \(r)"),
            // Chrome and Chromium on Linux read the NSS database; Firefox keeps its own per profile.
            Step(target: "Chrome on Linux", command: "certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n certs-local-ca -i \(r)"),
            Step(target: "Firefox", command: "Settings > Privacy & Security > Certificates > View Certificates > Authorities > Import \(r)"),
            Step(target: "curl, one command", command: "curl --cacert \(r) https://…"),
        ]
    }
}
