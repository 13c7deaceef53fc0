import Foundation
import Testing

/// One vocabulary (docs/cli.md): -o is always --out, subject fields have full names, old spellings
/// still work with a note, repeated single-value options are refused, typos get a did-you-mean.
@Suite struct FlagVocabularyTests {
    @Test func dashOIsTheOutputAndTheOrganizationHasItsFullName() throws {
        let s = Scratch()
        let r = try certs("csr", "new", "--key-type", "ec-p256", "--cn", "shop.example.com", "-o", s.file("shop.csr"),
                          "--org", "Example Ltd", "--org-unit", "Web", "--country", "gb", "--state", "London", "--locality", "Soho")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(s.exists("shop.csr") && s.exists("shop.key"))
        #expect(!s.exists("Example Ltd"))
        let text = try opensslOK("req", "-in", s.file("shop.csr"), "-noout", "-subject")
        #expect(text.contains("C = GB, ST = London, L = Soho, O = Example Ltd, OU = Web, CN = shop.example.com"), "\(text)")
    }

    @Test func theOldDoubleDashOIsRefusedWithTheNewNames() throws {
        let s = Scratch()
        let r = try certs("csr", "new", "--key-type", "ec-p256", "--cn", "a.example", "--out", s.file("r.csr"), "--o", "Example Ltd")
        expectOneLineError(r, exit: 2, mentioning: "--org")
        #expect(r.stderr.contains("see 'certs csr new --help'"), "\(r.stderr)")
        #expect(s.listing().isEmpty)
    }

    @Test func oldSpellingsStillWorkWithADeprecationNote() throws {
        let s = Scratch()
        let key = try certs("key", "new", "--type", "ed25519", "--out", s.file("k.pem"))
        #expect(key.status == 0, "\(key.stderr)")
        #expect(key.stderr.contains("note: --type is deprecated; use --key-type"), "\(key.stderr)")
        let csr = try certs("csr", "new", "--new-key", "ec-p256", "--cn", "a.example", "--c", "DE", "--out", s.file("r.csr"))
        #expect(csr.status == 0, "\(csr.stderr)")
        #expect(csr.stderr.contains("--new-key is deprecated; use --key-type"))
        #expect(csr.stderr.contains("--c is deprecated; use --country"))
        #expect(try opensslOK("req", "-in", s.file("r.csr"), "-noout", "-subject").contains("C = DE"))
    }

    @Test func aSingleValueOptionGivenTwiceIsAnError() throws {
        let s = Scratch()
        let r = try certs("key", "new", "--out", s.file("a.pem"), "--out", s.file("b.pem"))
        expectOneLineError(r, exit: 2, mentioning: "--out was given more than once")
        #expect(s.listing().isEmpty)
        // An old and a new spelling of the same option count as the same option.
        let mixed = try certs("key", "new", "--type", "ed25519", "--key-type", "ec-p256", "-o", s.file("c.pem"))
        #expect(mixed.status == 2)
        #expect(mixed.stderrLines.last?.hasPrefix("error: --key-type was given more than once") == true, "\(mixed.stderr)")
        expectOneLineError(try certs("key", "new", "-o", s.file("d.pem"), "--out", s.file("e.pem")), exit: 2, mentioning: "--out was given more than once")
        // Repeatable options stay repeatable.
        let csr = try certs("csr", "new", "--key-type", "ec-p256", "--san", "a.example", "--san", "b.example", "-o", s.file("r.csr"))
        #expect(csr.status == 0, "\(csr.stderr)")
    }

    @Test func aMistypedSubcommandGetsADidYouMean() throws {
        let r = try certs("emit", "ngnix")
        expectOneLineError(r, exit: 2, mentioning: "did you mean 'nginx'?")
        #expect(r.stderr.contains("see 'certs emit --help'"), "\(r.stderr)")
        expectOneLineError(try certs("inspekt", "x.pem"), exit: 2, mentioning: "did you mean 'inspect'?")
    }

    @Test func aUsageErrorPointsAtTheSubcommandsHelp() throws {
        let r = try certs("emit", "nginx", "--no-such-flag")
        expectOneLineError(r, exit: 2, mentioning: "see 'certs emit nginx --help'")
    }

    @Test func quietSilencesNotesOnEveryCommand() throws {
        let s = Scratch()
        let loud = try certs("key", "new", "-o", s.file("a.pem"))
        #expect(loud.stderr.contains("wrote"))
        let quiet = try certs("key", "new", "-o", s.file("b.pem"), "--quiet")
        #expect(quiet.status == 0)
        #expect(quiet.stderr.isEmpty, "\(quiet.stderr)")
    }
}

@Suite struct InspectManyTests {
    @Test func inspectShowsTheGoodFilesAndNamesTheBadOne() throws {
        let s = Scratch()
        #expect(try certs("key", "new", "-o", s.file("a.pem")).status == 0)
        #expect(try certs("key", "new", "-o", s.file("c.pem")).status == 0)
        let r = try certs("inspect", s.file("a.pem"), s.file("missing.pem"), s.file("c.pem"))
        expectOneLineError(r, exit: 2, mentioning: "missing.pem")
        #expect(r.stdout.contains("\(s.file("a.pem")): private key"), "\(r.stdout)")
        #expect(r.stdout.contains("\(s.file("c.pem")): private key"), "\(r.stdout)")
    }
}

@Suite struct StackTabTests {
    @Test func aTabInTheStackFileIsCalledATab() throws {
        let s = Scratch()
        let stack = s.write("stack.yaml", "domains:\n\t- name: example.com\n")
        let r = try certs("emit", "nginx", "--stack", stack, "-o", s.file("nginx"))
        expectOneLineError(r, exit: 2, mentioning: "tab character")
        #expect(r.stderr.contains("stack.yaml:2:1"), "\(r.stderr)")
    }
}

@Suite struct URLAsHostTests {
    @Test func aURLWhereAHostIsExpectedGivesItsHostWithANote() throws {
        let s = Scratch()
        let store = s.file("store")
        #expect(try certs("ca", "init", "--store", store).status == 0)
        let issue = try certs("ca", "issue", "--store", store, "https://shop.example/")
        #expect(issue.status == 0, "\(issue.stderr)")
        #expect(issue.stderr.contains("using shop.example"), "\(issue.stderr)")
        #expect(FileManager.default.fileExists(atPath: "\(store)/live/shop.example/cert.pem"))
        let verify = try certs("verify", "\(store)/live/shop.example/fullchain.pem", "--trust", "\(store)/ca/root.pem", "--host", "https://shop.example/path")
        #expect(verify.status == 0, "\(verify.stdout)\n\(verify.stderr)")
        #expect(verify.stderr.contains("--host takes a host: using shop.example"), "\(verify.stderr)")
    }
}
