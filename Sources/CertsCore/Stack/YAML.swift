import CYAML

/// A YAML node with the position it came from, so every stack-file error can say file:line:column.
public indirect enum YAMLNode: Sendable {
    case scalar(String, plain: Bool, Mark)
    case sequence([YAMLNode], Mark)
    case mapping([(key: YAMLNode, value: YAMLNode)], Mark)

    /// 1-based line and column.
    public struct Mark: Sendable, Equatable, CustomStringConvertible {
        public let line: Int
        public let column: Int
        public var description: String { "\(line):\(column)" }
    }

    public var mark: Mark {
        switch self {
        case .scalar(_, _, let m), .sequence(_, let m), .mapping(_, let m): return m
        }
    }

    /// "a string", "a list", "a mapping": for messages.
    public var kindDescription: String {
        switch self {
        case .scalar: return "a value"
        case .sequence: return "a list"
        case .mapping: return "a mapping"
        }
    }
}

/// Parses YAML through libyaml into `YAMLNode`s. Bounded: a document nested deeper than
/// `maximumDepth` or expanding (through aliases) to more than `maximumNodes` is refused, so a
/// "billion laughs" file cannot exhaust memory.
public enum YAMLReader {
    public static let maximumDepth = 64
    public static let maximumNodes = 100_000

    public static func parse(_ bytes: [UInt8], source: String) throws -> YAMLNode? {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { throw StackError(source: source, mark: nil, message: "cannot start the YAML parser") }
        defer { yaml_parser_delete(&parser) }
        return try bytes.withUnsafeBufferPointer { buffer -> YAMLNode? in
            try checkDepth(buffer, source: source)
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var document = yaml_document_t()
            guard yaml_parser_load(&parser, &document) == 1 else {
                let problem = parser.problem.map { String(cString: $0) } ?? "invalid YAML"
                let mark = YAMLNode.Mark(line: Int(parser.problem_mark.line) + 1, column: Int(parser.problem_mark.column) + 1)
                let context = parser.context.map { " " + String(cString: $0) } ?? ""
                // libyaml says "found character that cannot start any token" for a tab: name it.
                let index = min(Int(parser.problem_mark.index), buffer.count)
                var lineStart = index
                while lineStart > 0 && buffer[lineStart - 1] != 10 { lineStart -= 1 }
                let lineEnd = buffer[index...].firstIndex(of: 10) ?? buffer.count
                if let tab = buffer[lineStart..<lineEnd].firstIndex(of: 9), tab <= index {
                    throw StackError(source: source, mark: YAMLNode.Mark(line: mark.line, column: tab - lineStart + 1),
                                     message: "a tab character: YAML indents with spaces only")
                }
                throw StackError(source: source, mark: mark, message: "YAML syntax: \(problem)\(context)")
            }
            defer { yaml_document_delete(&document) }
            guard let root = yaml_document_get_root_node(&document) else { return nil }
            var budget = maximumNodes
            return try convert(root, document: &document, depth: 0, budget: &budget, source: source)
        }
    }

    /// Streams the events once and refuses a document nested deeper than `maximumDepth` before
    /// it is loaded: libyaml's scanner costs O(depth) per token, so loading 20,000 nested `[`
    /// first took seconds (minutes on a loaded machine) for a file refused anyway.
    static func checkDepth(_ buffer: UnsafeBufferPointer<UInt8>, source: String) throws {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { throw StackError(source: source, mark: nil, message: "cannot start the YAML parser") }
        defer { yaml_parser_delete(&parser) }
        yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
        var depth = 0
        while true {
            var event = yaml_event_t()
            // A syntax error is reported by the full load, with its context.
            guard yaml_parser_parse(&parser, &event) == 1 else { return }
            defer { yaml_event_delete(&event) }
            switch event.type {
            case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                depth += 1
                if depth > maximumDepth + 1 {
                    let mark = YAMLNode.Mark(line: Int(event.start_mark.line) + 1, column: Int(event.start_mark.column) + 1)
                    throw StackError(source: source, mark: mark, message: "nested deeper than \(maximumDepth) levels")
                }
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                depth -= 1
            case YAML_STREAM_END_EVENT:
                return
            default:
                break
            }
        }
    }

    static func convert(_ node: UnsafeMutablePointer<yaml_node_t>, document: inout yaml_document_t, depth: Int, budget: inout Int, source: String) throws -> YAMLNode {
        let mark = YAMLNode.Mark(line: Int(node.pointee.start_mark.line) + 1, column: Int(node.pointee.start_mark.column) + 1)
        budget -= 1
        if budget < 0 { throw StackError(source: source, mark: mark, message: "the document expands to more than \(maximumNodes) nodes (alias bomb?)") }
        if depth > maximumDepth { throw StackError(source: source, mark: mark, message: "nested deeper than \(maximumDepth) levels") }
        switch node.pointee.type {
        case YAML_SCALAR_NODE:
            let length = certs_yaml_scalar_length(node)
            let value = certs_yaml_scalar_value(node).map {
                $0.withMemoryRebound(to: UInt8.self, capacity: length) { String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self) }
            } ?? ""
            return .scalar(value, plain: certs_yaml_scalar_plain(node) == 1, mark)
        case YAML_SEQUENCE_NODE:
            var items: [YAMLNode] = []
            for i in 0..<certs_yaml_sequence_count(node) {
                guard let child = yaml_document_get_node(&document, certs_yaml_sequence_item(node, i)) else { continue }
                items.append(try convert(child, document: &document, depth: depth + 1, budget: &budget, source: source))
            }
            return .sequence(items, mark)
        case YAML_MAPPING_NODE:
            var pairs: [(key: YAMLNode, value: YAMLNode)] = []
            for i in 0..<certs_yaml_mapping_count(node) {
                guard let k = yaml_document_get_node(&document, certs_yaml_mapping_key(node, i)),
                      let v = yaml_document_get_node(&document, certs_yaml_mapping_value(node, i)) else { continue }
                pairs.append((try convert(k, document: &document, depth: depth + 1, budget: &budget, source: source),
                               try convert(v, document: &document, depth: depth + 1, budget: &budget, source: source)))
            }
            return .mapping(pairs, mark)
        default:
            return .scalar("", plain: true, mark)
        }
    }
}

/// A problem in the stack file, located at file:line:column.
public struct StackError: CertsFailure, Equatable {
    public let source: String
    public let mark: YAMLNode.Mark?
    public let message: String

    public init(source: String, mark: YAMLNode.Mark?, message: String) {
        self.source = source
        self.mark = mark
        self.message = message
    }

    public var kind: FailureKind { .input }
    public var description: String { "\(source)\(mark.map { ":\($0)" } ?? ""): \(message)" }
}
