/// A unified diff of two texts (LCS over lines), for `--dry-run` output.
public enum LineDiff {
    public static func unified(old: String, new: String, oldName: String, newName: String, context: Int = 3) -> String {
        let a = old.isEmpty ? [] : old.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let b = new.isEmpty ? [] : new.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if a == b { return "" }
        // LCS table (configs are small: a few hundred lines).
        var lcs = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in stride(from: a.count - 1, through: 0, by: -1) {
            for j in stride(from: b.count - 1, through: 0, by: -1) {
                lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : max(lcs[i + 1][j], lcs[i][j + 1])
            }
        }
        enum Op { case same(String), del(String), add(String) }
        var ops: [Op] = []
        var i = 0, j = 0
        while i < a.count || j < b.count {
            if i < a.count, j < b.count, a[i] == b[j] { ops.append(.same(a[i])); i += 1; j += 1 }
            else if j < b.count, i == a.count || lcs[i][j + 1] >= lcs[i + 1][j] { ops.append(.add(b[j])); j += 1 }
            else { ops.append(.del(a[i])); i += 1 }
        }
        var out = "--- \(oldName)\n+++ \(newName)\n"
        var k = 0
        var oldLine = 1, newLine = 1
        while k < ops.count {
            guard case .same = ops[k] else {
                // A hunk: back up `context` lines, run until `context` unchanged lines follow the last change.
                let start = max(0, k - context)
                var end = k
                var lastChange = k
                while end < ops.count {
                    if case .same = ops[end] { if end - lastChange > context * 2 { break } } else { lastChange = end }
                    end += 1
                }
                end = min(ops.count, lastChange + context + 1)
                var oStart = oldLine, nStart = newLine
                for op in ops[start..<k] { if case .same = op { oStart -= 1; nStart -= 1 } }
                var oCount = 0, nCount = 0, body = ""
                for op in ops[start..<end] {
                    switch op {
                    case .same(let l): body += " \(l)\n"; oCount += 1; nCount += 1
                    case .del(let l): body += "-\(l)\n"; oCount += 1
                    case .add(let l): body += "+\(l)\n"; nCount += 1
                    }
                }
                out += "@@ -\(oStart),\(oCount) +\(nStart),\(nCount) @@\n" + body
                for op in ops[k..<end] {
                    switch op {
                    case .same: oldLine += 1; newLine += 1
                    case .del: oldLine += 1
                    case .add: newLine += 1
                    }
                }
                k = end
                continue
            }
            oldLine += 1; newLine += 1; k += 1
        }
        return out
    }
}
