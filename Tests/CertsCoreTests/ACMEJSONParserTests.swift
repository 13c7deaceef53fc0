import Foundation
import Testing
@testable import CertsCore

@Suite struct ACMEJSONParserTests {
    @Test func parsesAnACMEDirectoryInOrder() throws {
        let v = try JSONParser.parse("""
        {"newNonce":"https://a/nonce","newAccount":"https://a/acct","meta":{"termsOfService":"https://a/tos","externalAccountRequired":false},"n":-12,"list":[1,"x",null,true]}
        """)
        #expect(v["newNonce"]?.stringValue == "https://a/nonce")
        #expect(v["meta"]?["externalAccountRequired"]?.boolValue == false)
        #expect(v["n"]?.intValue == -12)
        #expect(v["list"]?.arrayValue?.count == 4)
        #expect(v.objectValue?.map(\.0) == ["newNonce", "newAccount", "meta", "n", "list"])
    }

    @Test(arguments: ["plain", "quote \" and \\ slash /", "ünïcödé ✓ 🔐", "nl\ntab\t\u{1}", "\u{2028}"])
    func stringsWrittenByFoundationReadBack(_ s: String) throws {
        let data = try JSONSerialization.data(withJSONObject: ["k": s])
        #expect(try JSONParser.parse(Array(data))["k"]?.stringValue == s)
        // and our own writer's output too
        #expect(try JSONParser.parse(JSON.object([("k", .string(s))]).rendered())["k"]?.stringValue == s)
    }

    @Test func surrogatePairsDecode() throws {
        #expect(try JSONParser.parse(#""\ud83d\udd10""#).stringValue == "🔐")
        #expect(throws: JSONParseError.self) { try JSONParser.parse(#""\ud83d""#) }
        #expect(throws: JSONParseError.self) { try JSONParser.parse(#""\udd10""#) }
    }

    @Test(arguments: ["", "{", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "tru", "01", "1.", "\"\u{1}\"", "\"abc", "{} x", "[1 2]", "-", "'a'"])
    func malformedDocumentsAreRejected(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
    }

    @Test func nonIntegralNumbersKeepTheirText() throws {
        #expect(try JSONParser.parse("[1.5e3]").arrayValue?.first == .string("1.5e3"))
    }

    @Test func depthIsBounded() throws {
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(deep) }
        let ok = String(repeating: "[", count: 20) + String(repeating: "]", count: 20)
        #expect(try JSONParser.parse(ok).arrayValue != nil)
    }

    @Test func sizeIsBounded() throws {
        let parser = JSONParser(maximumSize: 10, maximumDepth: 8)
        #expect(throws: JSONParseError.self) { try parser.parse(Array("[1,2,3,4,5,6]".utf8)) }
        #expect(try parser.parse(Array("[1,2]".utf8)).arrayValue?.count == 2)
    }

    @Test func invalidUTF8IsRejected() {
        #expect(throws: JSONParseError.self) { try JSONParser.parse([0x22, 0xff, 0xfe, 0x22]) }
    }
}
