import Foundation
import Testing
@testable import CertsCore

@Suite struct JSONTests {
    /// Parses with Foundation: the independent reader every consumer of `--json` will use.
    func decode(_ text: String) throws -> Any { try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]) }

    @Test(arguments: [
        "plain", "quote \" inside", "back\\slash", "new\nline", "cr\r tab\t", "nul \u{0} bell \u{7} esc \u{1b} us \u{1f}",
        "del \u{7f}", "ünïcödé ✓ 🔐", "</script>", "\u{2028}\u{2029}", "",
    ])
    func stringsSurviveARoundTripThroughFoundation(_ value: String) throws {
        for pretty in [true, false] {
            let text = JSON.string(value).rendered(pretty: pretty)
            #expect(try decode(text) as? String == value, "\(text)")
            #expect(!text.dropFirst().dropLast().contains("\n"), "raw newline in \(text)")
        }
    }

    @Test func controlCharactersUseTheShortOrUnicodeEscapes() {
        #expect(JSON.string("a\"b\\c\nd\re\tf\u{1}g").rendered() == #""a\"b\\c\nd\re\tf\u0001g""#)
        #expect(JSON.string("\u{1f}").rendered() == #""\u001f""#)
        #expect(JSON.string("\u{0}").rendered() == #""\u0000""#)
    }

    @Test func objectsKeepFieldOrderAndNestCorrectly() throws {
        let value = JSON.object([
            ("version", .int(1)),
            ("zeta", .string("z")),
            ("alpha", .array([.int(-5), .bool(true), .bool(false), .null, .object([]), .array([])])),
            ("k\"ey", .object([("n", .int(Int64.max))])),
        ])
        for pretty in [true, false] {
            let text = value.rendered(pretty: pretty)
            let zeta = try #require(text.range(of: "zeta")), alpha = try #require(text.range(of: "alpha"))
            #expect(text.hasPrefix(pretty ? "{\n  \"version\": 1," : "{\"version\":1,"))
            #expect(zeta.lowerBound < alpha.lowerBound)
            let obj = try #require(try decode(text) as? [String: Any])
            #expect(obj["version"] as? Int == 1)
            #expect(obj["zeta"] as? String == "z")
            let array = try #require(obj["alpha"] as? [Any])
            #expect(array.count == 6)
            #expect(array[0] as? Int == -5)
            #expect(array[3] is NSNull)
            #expect((obj["k\"ey"] as? [String: Any])?["n"] as? Int64 == Int64.max)
        }
        #expect(value.rendered(pretty: false) == #"{"version":1,"zeta":"z","alpha":[-5,true,false,null,{},[]],"k\"ey":{"n":9223372036854775807}}"#)
    }

    @Test func helpersMapOptionalsAndStringLists() {
        #expect(JSON.optional(nil) == .null)
        #expect(JSON.optional("x") == .string("x"))
        #expect(JSON.strings(["a", "b"]).rendered(pretty: false) == #"["a","b"]"#)
        #expect(JSON.object([("a", .int(1))]) != JSON.object([("a", .int(2))]))
    }
}
