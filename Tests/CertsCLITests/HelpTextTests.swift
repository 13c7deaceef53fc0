import Foundation
import Testing

/// Help text: each option's default is printed once, by ArgumentParser from the value itself
/// (issue 17: `(default 80). (default: 80)`).
@Suite struct HelpTextTests {
    @Test func everyDefaultIsPrintedOnce() throws {
        let dump = try certs("--experimental-dump-help")
        let root = try #require(try JSONSerialization.jsonObject(with: Data(dump.stdout.utf8)) as? [String: Any])
        var offenders: [String] = []
        func walk(_ command: [String: Any], path: [String]) {
            for arg in command["arguments"] as? [[String: Any]] ?? [] where arg["defaultValue"] != nil {
                let text = (arg["abstract"] as? String ?? "") + " " + (arg["discussion"] as? String ?? "")
                if text.contains("(default") || text.contains("default:") {
                    offenders.append((path + [arg["valueName"] as? String ?? "?"]).joined(separator: " "))
                }
            }
            for sub in command["subcommands"] as? [[String: Any]] ?? [] {
                walk(sub, path: path + [sub["commandName"] as? String ?? "?"])
            }
        }
        walk(try #require(root["command"] as? [String: Any]), path: ["certs"])
        #expect(offenders.isEmpty, "options that spell out a default ArgumentParser also prints: \(offenders)")
    }
}
