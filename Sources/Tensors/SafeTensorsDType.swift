/// The element types a safetensors header may name (the reference implementation's list of whole-byte
/// types). A file may hold any of them; only `F32`, `F16` and `BF16` convert to a fp32 `Tensor`.
public enum SafeTensorsDType: String, CaseIterable, Sendable {
    case bool = "BOOL"
    case u8 = "U8"
    case i8 = "I8"
    case f8e5m2 = "F8_E5M2"
    case f8e4m3 = "F8_E4M3"
    case f8e8m0 = "F8_E8M0"
    case i16 = "I16"
    case u16 = "U16"
    case f16 = "F16"
    case bf16 = "BF16"
    case i32 = "I32"
    case u32 = "U32"
    case f32 = "F32"
    case f64 = "F64"
    case c64 = "C64"
    case i64 = "I64"
    case u64 = "U64"

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .bool, .u8, .i8, .f8e5m2, .f8e4m3, .f8e8m0: return 1
        case .i16, .u16, .f16, .bf16: return 2
        case .i32, .u32, .f32: return 4
        case .f64, .c64, .i64, .u64: return 8
        }
    }

    /// The dtypes `SafeTensorsFile.tensor(_:)` converts to fp32 and `SafeTensorsWriter` writes.
    public static let floatingPointSupported: [SafeTensorsDType] = [.f32, .f16, .bf16]

    public var isFloatingPointSupported: Bool { Self.floatingPointSupported.contains(self) }

    /// "F32, F16, BF16", for messages.
    static var supportedList: String { floatingPointSupported.map(\.rawValue).joined(separator: ", ") }
}
