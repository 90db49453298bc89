import Foundation

/// A parsed JSON value, for safetensors headers and shard index files (`*.safetensors.index.json`).
/// Parsed by Foundation's `JSONDecoder`, which rejects invalid UTF-8 and limits nesting depth, so a crafted
/// header fails with an error instead of exhausting the stack. Integers that fit in `Int` are kept exact.
enum SafeTensorsJSON: Decodable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([SafeTensorsJSON])
    case object([String: SafeTensorsJSON])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null; return }
        if let v = try? c.decode(Bool.self) { self = .bool(v); return }
        if let v = try? c.decode(Int.self) { self = .int(v); return }
        if let v = try? c.decode(Double.self) { self = .double(v); return }
        if let v = try? c.decode(String.self) { self = .string(v); return }
        if let v = try? c.decode([SafeTensorsJSON].self) { self = .array(v); return }
        self = .object(try c.decode([String: SafeTensorsJSON].self))
    }

    /// Parses `bytes`; on failure returns a short reason.
    static func parse(_ bytes: UnsafeRawBufferPointer) -> Result<SafeTensorsJSON, ParseFailure> {
        let data = Data(bytes)
        do {
            return .success(try JSONDecoder().decode(SafeTensorsJSON.self, from: data))
        } catch let DecodingError.dataCorrupted(context) {
            var reason = context.debugDescription
            if let underlying = context.underlyingError { reason += " (\(underlying))" }
            return .failure(ParseFailure(reason: reason))
        } catch {
            return .failure(ParseFailure(reason: "\(error)"))
        }
    }

    struct ParseFailure: Error { var reason: String }

    var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .int, .double: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}
