import Testing
@testable import CertsCore

@Suite struct HostNameTests {
    @Test(arguments: [
        ("example.com", "example.com"), ("Example.COM", "example.com"), ("example.com.", "example.com"),
        ("*.example.com", "*.example.com"), ("a-b.c_d.example", "a-b.c_d.example"), ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("localhost", "localhost"), ("1.example", "1.example"),
    ])
    func validNamesAreLowerCasedAndTrailingDotDropped(_ raw: String, _ expected: String) throws {
        #expect(try HostName.validate(raw) == expected)
    }

    @Test(arguments: [
        "", ".", "bad..name", ".leading.dot", "-start.example", "end-.example", "sp ace.example", "a/b.example",
        "*.com", "foo.*.example.com", "*foo.example.com", "**.example.com", "bücher.example", "a@b.example",
        String(repeating: "a", count: 64) + ".example", String(repeating: "abcdefghi.", count: 26) + "com",
    ])
    func invalidNamesAreRejected(_ raw: String) {
        #expect(throws: InputError.self) { try HostName.validate(raw) }
    }

    @Test func labelAndNameLengthLimitsAreInclusive() throws {
        let label63 = String(repeating: "a", count: 63)
        #expect(try HostName.validate("\(label63).example") == "\(label63).example")
        let name253 = [label63, label63, label63, String(repeating: "b", count: 61)].joined(separator: ".")
        #expect(name253.utf8.count == 253)
        #expect(try HostName.validate(name253) == name253)
        #expect(throws: InputError.self) { try HostName.validate(name253 + "c") }
    }
}

@Suite struct GeneralNameTests {
    @Test(arguments: [
        ("IP:2001:DB8:0:0:0:0:0:1", GeneralName.ip("2001:db8::1")),
        ("IP:2001:0db8:0000::0001", .ip("2001:db8::1")),
        ("2001:db8::1", .ip("2001:db8::1")),
        ("[::1]", .ip("::1")),
        ("IP:0:0:0:0:0:0:0:1", .ip("::1")),
        ("IP:::ffff:192.0.2.1", .ip("::ffff:192.0.2.1")),
        ("IP:fe80:0:0:0:0:0:0:0", .ip("fe80::")),
        ("192.0.2.1", .ip("192.0.2.1")),
        ("ip:10.0.0.1", .ip("10.0.0.1")),
        ("DNS:Example.COM", .dns("example.com")),
        ("dns:*.Example.com", .dns("*.example.com")),
        ("WWW.example.com", .dns("www.example.com")),
        ("  spaced.example  ", .dns("spaced.example")),
        ("email:admin@example.com", .email("admin@example.com")),
        ("URI:https://example.com/x", .uri("https://example.com/x")),
    ])
    func parsingNormalises(_ text: String, _ expected: GeneralName) throws {
        #expect(try GeneralName(parsing: text) == expected)
    }

    @Test(arguments: ["IP:999.1.1.1", "IP:1.2.3", "IP:2001:db8:::1", "IP:example.com", "DNS:bad..name", "FTP:x.example",
                      "email:nobody", "URI:no-scheme", "DNS:", "IP:"])
    func invalidNamesAreRejected(_ text: String) {
        #expect(throws: InputError.self) { try GeneralName(parsing: text) }
    }

    @Test func descriptionIsTheFormUsersAndOpenSSLWrite() throws {
        #expect(try GeneralName(parsing: "IP:2001:DB8::0:1").description == "IP:2001:db8::1")
        #expect(GeneralName.dns("a.example").description == "DNS:a.example")
        #expect(GeneralName.email("a@b.example").description == "email:a@b.example")
    }

    @Test func ipAddressBytesRoundTrip() {
        #expect(IPAddress.parse("192.0.2.1") == [192, 0, 2, 1])
        #expect(IPAddress.parse("::1") == [UInt8](repeating: 0, count: 15) + [1])
        #expect(IPAddress.format([192, 0, 2, 1]) == "192.0.2.1")
        #expect(IPAddress.format([0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1]) == "2001:db8::1")
        #expect(IPAddress.normalize("not-an-ip") == nil)
    }
}
