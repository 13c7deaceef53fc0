import Testing
@testable import CertsCore

/// The RFC 4514 text of names (what check, verify and inspect print), escaped byte by byte.
@Suite struct NameTextTests {
    @Test(arguments: [
        ("example.com", "example.com"),
        ("", ""),
        ("Example, Inc.", "Example\\, Inc."),
        ("a+b=c;d<e>f\"g\\h", "a\\+b\\=c\\;d\\<e\\>f\\\"g\\\\h"),
        ("#1 CA", "\\#1 CA"),
        (" padded ", "\\ padded\\ "),
        (" ", "\\ "),
        ("x#y z", "x#y z"),
        ("Überprüfung=ja, é", "Überprüfung\\=ja\\, é"),
        ("日本語 ", "日本語\\ "),
    ])
    func valuesAreEscapedAsRFC4514Says(value: String, text: String) {
        #expect(DistinguishedName.escape(value) == text)
    }

    @Test func attributesComeMostSpecificFirst() {
        let name = DistinguishedName([.init("C", "US"), .init("O", "Example, Inc."), .init("CN", "www.example.com")])
        #expect(name.description == "CN=www.example.com, O=Example\\, Inc., C=US")
        #expect(DistinguishedName().description == "")
    }
}
