import Foundation
import Testing
@testable import CertsCore

/// JSON in goes through FoundationEssentials' JSONDecoder (JSONParser.swift): these pin what the
/// rest of the code relies on: values, bounds, and one clear line for a bad document.
@Suite struct ACMEJSONParserTests {
    @Test func parsesAnACMEDirectory() throws {
        let v = try JSONParser.parse("""
        {"newNonce":"https://a/nonce","newAccount":"https://a/acct","meta":{"termsOfService":"https://a/tos","externalAccountRequired":false},"n":-12,"list":[1,"x",null,true]}
        """)
        #expect(v["newNonce"]?.stringValue == "https://a/nonce")
        #expect(v["meta"]?["externalAccountRequired"]?.boolValue == false)
        #expect(v["n"]?.intValue == -12)
        #expect(v["list"]?.arrayValue?.count == 4)
        // Keys come back sorted (a stable rendering; JSONDecoder keeps no order).
        #expect(v.objectValue?.map(\.0) == ["list", "meta", "n", "newAccount", "newNonce"])
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

    // (JSONDecoder accepts a trailing comma, "[1,]": harmless in a CA's answer.)
    @Test(arguments: ["", "{", "{\"a\" 1}", "tru", "01", "1.", "\"\u{1}\"", "\"abc", "{} x", "[1 2]", "-", "'a'"])
    func malformedDocumentsAreRejected(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
    }

    @Test func nonIntegralNumbersBecomeText() throws {
        #expect(try JSONParser.parse("[1.25]").arrayValue?.first == .string("1.25"))
        #expect(try JSONParser.parse("[9007199254740993]").arrayValue?.first == .int(9007199254740993))
    }

    /// What a CA sends that is not JSON, or not the JSON we need, is one line naming what is wrong.
    @Test(arguments: ["<html>502 Bad Gateway</html>", "{\"status\": \"valid\",\n \"x\": }", "[1,\n2,\n"])
    func aBadDocumentIsOneClearLine(_ text: String) throws {
        do {
            _ = try JSONParser.parse(text)
            Issue.record("parsed \(text)")
        } catch let e as JSONParseError {
            #expect(e.description.hasPrefix("invalid JSON: "), "\(e)")
            #expect(!e.description.contains("\n") && e.description.count < 320, "\(e)")
            #expect(!e.description.contains("Swift.") && !e.description.contains("codingPath"), "\(e)")
        }
    }

    struct Order: Decodable { let status: String; let finalize: String; let identifiers: [Identifier] }
    struct Identifier: Decodable { let type: String; let value: String }

    @Test func decodableTypesSayWhatIsMissingOrWrongAndWhere() throws {
        let ok = try JSONParser.decode(Order.self, from: Array(#"{"status":"ready","finalize":"https://a/f","identifiers":[{"type":"dns","value":"a.example"}],"extra":1}"#.utf8))
        #expect(ok.identifiers.first?.value == "a.example")
        #expect(throws: JSONParseError(reason: "\"finalize\" is missing", syntax: false)) {
            try JSONParser.decode(Order.self, from: Array(#"{"status":"ready","identifiers":[]}"#.utf8))
        }
        #expect(throws: JSONParseError(reason: "expected a string at identifiers[0].value", syntax: false)) {
            try JSONParser.decode(Order.self, from: Array(#"{"status":"ready","finalize":"f","identifiers":[{"type":"dns","value":7}]}"#.utf8))
        }
    }

    /// ACME objects are Decodable types: an order without finalize is one line saying so.
    @Test func acmeObjectsDecodeAndSayWhatIsMissing() throws {
        let order = try JSONParser.decode(ACMEOrder.Wire.self, from: Array(#"{"status":"valid","finalize":"https://a/f","certificate":"https://a/c","error":null}"#.utf8))
        #expect(ACMEOrder(url: "https://a/o", wire: order).certificate == "https://a/c")
        do {
            _ = try JSONParser.decode(ACMEOrder.Wire.self, from: Array(#"{"status":"pending"}"#.utf8))
            Issue.record("an order without finalize decoded")
        } catch let e as JSONParseError {
            #expect(e.description == "unexpected JSON: \"finalize\" is missing")
        }
        let wire = try JSONParser.decode(ACMEDirectory.Wire.self, from: Array(#"""
            {"newNonce":"https://a/n","newAccount":"https://a/a","newOrder":"https://a/o",
             "meta":{"profiles":{"tlsserver":"TLS","shortlived":"6 days"},"externalAccountRequired":true}}
            """#.utf8))
        let directory = try ACMEDirectory(url: "https://a/dir", wire: wire)
        #expect(directory.externalAccountRequired && directory.profiles.map(\.name) == ["shortlived", "tlsserver"])
        #expect(throws: ACMEError.protocolViolation("https://a/dir is not an ACME directory (no newNonce)")) {
            try ACMEDirectory(url: "https://a/dir", wire: try JSONParser.decode(ACMEDirectory.Wire.self, from: Array("{}".utf8)))
        }
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
