import Foundation
import Support
/// One tensor of a safetensors file, as its header describes it.
public struct SafeTensorsTensorInfo: Sendable, Equatable {
    public var name: String
    public var dtype: SafeTensorsDType
    public var shape: [Int]
    /// The byte range within the data section (after the 8-byte length and the header).
    public var dataOffsets: Range<Int>

    public var elementCount: Int { shape.reduce(1, *) }
    public var byteCount: Int { dataOffsets.count }
}

/// The parsed and validated header of a safetensors file.
///
/// Layout: an 8-byte little-endian u64 N, N bytes of UTF-8 JSON
/// `{"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ..., "__metadata__": {str: str}}`,
/// then the data section; offsets are relative to its start. Validation makes a crafted file unable to
/// make a reader go out of bounds or allocate without limit: N is capped and must fit in the file, every
/// shape is non-negative with a product that does not overflow, `end - begin` equals the element count
/// times the dtype size, every range lies inside the data section, and no two non-empty ranges overlap.
/// Gaps between tensors and trailing bytes are tolerated (they are never read).
public struct SafeTensorsHeader: Sendable, Equatable {
    /// Largest header accepted (the reference implementation's limit).
    public static let maximumHeaderLength = 100_000_000

    /// Byte offset of the data section in the file: 8 + N.
    public var dataStart: Int
    public var dataSize: Int
    /// Tensors by name.
    public var tensors: [String: SafeTensorsTensorInfo]
    public var metadata: [String: String]

    /// Parses the header of a whole file held in `bytes`; `file` names it in errors.
    public static func parse(fileBytes bytes: UnsafeRawBufferPointer, file: String) throws -> SafeTensorsHeader {
        func fail(_ message: String, key: String? = nil, hint: String = WeightError.corruptHint) -> WeightError {
            WeightError(file: file, key: key, message: message, hint: hint)
        }
        let size = bytes.count
        guard size >= 8 else {
            throw fail("the file is \(size) bytes, too short for a safetensors file (8-byte header length, then the header)")
        }
        var n64: UInt64 = 0
        for i in 0..<8 { n64 |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard n64 <= UInt64(maximumHeaderLength) else {
            throw fail("the header length field says \(n64) bytes, over the \(maximumHeaderLength)-byte limit")
        }
        let n = Int(n64)
        guard n >= 2 else {
            throw fail("the header length field says \(n) bytes; a header is at least `{}` (2 bytes)")
        }
        guard 8 + n <= size else {
            throw fail("the header length field says \(n) bytes but only \(size - 8) follow it: the file is truncated")
        }
        let headerBytes = UnsafeRawBufferPointer(rebasing: bytes[8..<(8 + n)])
        guard headerBytes[0] == UInt8(ascii: "{") else {
            throw fail("the header does not start with `{`: not a safetensors file")
        }
        let root: JSONValue
        switch JSONValue.parse(Data(headerBytes)) {
        case .success(let value): root = value
        case .failure(let failure): throw fail("the header is not valid JSON: \(failure.reason)")
        }
        guard case .object(let entries) = root else {
            throw fail("the header is \(root.typeName), not a JSON object")
        }

        let dataStart = 8 + n
        let dataSize = size - dataStart
        var tensors: [String: SafeTensorsTensorInfo] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in entries {
            if name == "__metadata__" {
                guard case .object(let fields) = value else {
                    throw fail("`__metadata__` is \(value.typeName), not an object of strings")
                }
                for (k, v) in fields {
                    guard case .string(let s) = v else {
                        throw fail("`__metadata__` field `\(k)` is \(v.typeName), not a string")
                    }
                    metadata[k] = s
                }
                continue
            }
            tensors[name] = try parseEntry(name: name, value: value, dataSize: dataSize, fail: fail)
        }

        // No two non-empty ranges may overlap (empty tensors occupy no bytes).
        let ranges = tensors.values.filter { !$0.dataOffsets.isEmpty }
            .sorted { ($0.dataOffsets.lowerBound, $0.name) < ($1.dataOffsets.lowerBound, $1.name) }
        for (a, b) in zip(ranges, ranges.dropFirst()) where b.dataOffsets.lowerBound < a.dataOffsets.upperBound {
            throw fail("tensors `\(a.name)` (bytes \(a.dataOffsets.lowerBound)..<\(a.dataOffsets.upperBound)) and `\(b.name)` "
                + "(bytes \(b.dataOffsets.lowerBound)..<\(b.dataOffsets.upperBound)) overlap in the data section")
        }
        return SafeTensorsHeader(dataStart: dataStart, dataSize: dataSize, tensors: tensors, metadata: metadata)
    }

    private static func parseEntry(
        name: String, value: JSONValue, dataSize: Int,
        fail: (String, String?, String) -> WeightError
    ) throws -> SafeTensorsTensorInfo {
        let hint = WeightError.corruptHint
        guard case .object(let fields) = value else {
            throw fail("the header entry is \(value.typeName), not an object with dtype, shape and data_offsets", name, hint)
        }
        guard case .string(let dtypeName)? = fields["dtype"] else {
            throw fail("the header entry has no string `dtype`", name, hint)
        }
        guard let dtype = SafeTensorsDType(rawValue: dtypeName) else {
            throw fail("unknown dtype `\(dtypeName)`", name,
                       "safetensors dtypes are \(SafeTensorsDType.allCases.map(\.rawValue).joined(separator: ", ")); "
                       + "of these \(SafeTensorsDType.supportedList) load as fp32. Re-export the weights as F32, F16 or BF16")
        }
        guard case .array(let dims)? = fields["shape"] else {
            throw fail("the header entry has no `shape` array", name, hint)
        }
        var shape: [Int] = []
        var count = 1
        for d in dims {
            guard case .int(let v) = d, v >= 0 else {
                throw fail("the shape \(render(dims)) has an entry that is not a non-negative integer", name, hint)
            }
            shape.append(v)
            let (product, overflow) = count.multipliedReportingOverflow(by: v)
            guard !overflow else { throw fail("the shape \(render(dims)) has too many elements (the product overflows)", name, hint) }
            count = product
        }
        let (byteCount, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow else { throw fail("the shape \(shape) of \(dtypeName) is too large (the byte count overflows)", name, hint) }
        guard case .array(let offsets)? = fields["data_offsets"], offsets.count == 2,
              case .int(let begin) = offsets[0], case .int(let end) = offsets[1], begin >= 0, end >= 0 else {
            throw fail("`data_offsets` is not a pair of non-negative integers [begin, end]", name, hint)
        }
        guard begin <= end, end <= dataSize else {
            throw fail("data_offsets [\(begin), \(end)] lie outside the data section (\(dataSize) bytes)"
                       + (end > dataSize ? ": the file is truncated" : ""), name, hint)
        }
        guard end - begin == byteCount else {
            throw fail("data_offsets [\(begin), \(end)] span \(end - begin) bytes but shape \(shape) of \(dtypeName) needs \(byteCount)", name, hint)
        }
        return SafeTensorsTensorInfo(name: name, dtype: dtype, shape: shape, dataOffsets: begin..<end)
    }

    private static func render(_ values: [JSONValue]) -> String {
        "[" + values.map { v -> String in
            switch v {
            case .int(let i): return String(i)
            case .double(let d): return String(d)
            case .string(let s): return "\"\(s)\""
            default: return v.typeName
            }
        }.joined(separator: ", ") + "]"
    }
}
