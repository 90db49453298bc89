/// Bit-exact conversions between Float and the two 16-bit float formats of checkpoints, done on bit
/// patterns so they behave the same on every platform (Swift's `Float16` is missing on macOS x86_64).
///
/// - IEEE binary16 (safetensors `F16`): 1 sign, 5 exponent, 10 mantissa bits. Every half value is exactly
///   representable as a Float, subnormals, infinities and signed zeros included; NaN stays NaN with its sign.
/// - bfloat16 (`BF16`): the upper 16 bits of a Float.
///
/// Float -> 16 bits rounds to nearest, ties to even (what numpy's `astype(float16)` and PyTorch's
/// `.half()` / `.bfloat16()` do); overflow gives infinity, NaN stays a quiet NaN.
public enum Float16Conversion {
    /// The Float value of an IEEE half bit pattern (exact).
    @inlinable
    public static func float(fromHalfBits h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = UInt32(h >> 10) & 0x1F
        let mantissa = UInt32(h & 0x3FF)
        if exponent == 0 {
            if mantissa == 0 { return Float(bitPattern: sign) }
            // Subnormal: mantissa * 2^-24, exact in Float (10 significant bits, exponent well in range).
            let magnitude = Float(mantissa) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        }
        if exponent == 0x1F {
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        }
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
    }

    /// The IEEE half bit pattern nearest to `value` (ties to even).
    @inlinable
    public static func halfBits(from value: Float) -> UInt16 {
        let x = value.bitPattern
        let sign = UInt16(truncatingIfNeeded: (x >> 16) & 0x8000)
        let exponent = Int((x >> 23) & 0xFF)
        let mantissa = x & 0x7F_FFFF
        if exponent == 0xFF {  // inf or NaN; a NaN keeps its top payload bits and is made quiet
            return mantissa == 0 ? sign | 0x7C00 : sign | 0x7E00 | UInt16(truncatingIfNeeded: mantissa >> 13)
        }
        let e = exponent - 127 + 15  // the half exponent field, before rounding
        if e >= 0x1F { return sign | 0x7C00 }  // >= 2^16: infinity
        if e <= 0 {
            // Half subnormal (or zero). With m the 24-bit significand, value = m * 2^(e - 38) and a half
            // subnormal is h * 2^-24, so h = m >> (14 - e), rounded.
            if e < -10 { return sign }  // below 2^-25: rounds to zero
            let m = mantissa | 0x80_0000
            let shift = UInt32(14 - e)
            var half = m >> shift
            let remainder = m & ((1 << shift) - 1)
            let halfway = UInt32(1) << (shift - 1)
            if remainder > halfway || (remainder == halfway && half & 1 == 1) { half += 1 }
            return sign | UInt16(truncatingIfNeeded: half)  // a carry to 0x400 is the smallest normal: correct
        }
        var half = (UInt32(e) << 10) | (mantissa >> 13)
        let remainder = mantissa & 0x1FFF
        if remainder > 0x1000 || (remainder == 0x1000 && half & 1 == 1) { half += 1 }  // a carry may reach inf: correct
        return sign | UInt16(truncatingIfNeeded: half)
    }

    /// The Float value of a bfloat16 bit pattern (exact).
    @inlinable
    public static func float(fromBFloat16Bits b: UInt16) -> Float {
        Float(bitPattern: UInt32(b) << 16)
    }

    /// The bfloat16 bit pattern nearest to `value` (ties to even).
    @inlinable
    public static func bfloat16Bits(from value: Float) -> UInt16 {
        let x = value.bitPattern
        if value.isNaN { return UInt16(truncatingIfNeeded: x >> 16) | 0x0040 }
        let rounded = x &+ 0x7FFF &+ ((x >> 16) & 1)
        return UInt16(truncatingIfNeeded: rounded >> 16)
    }

    /// Float values of all 65,536 half bit patterns, for bulk conversion (256 KB, built on first use).
    public static let halfTable: [Float] = (0...0xFFFF).map { float(fromHalfBits: UInt16($0)) }
}
