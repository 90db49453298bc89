import XCTest
@testable import Tensors

/// F16 / BF16 <-> Float conversions used by the safetensors reader and writer.
final class SafeTensorsFloat16Tests: XCTestCase {
    func testHalfToFloatKnownValues() {
        let cases: [(UInt16, Float)] = [
            (0x3C00, 1), (0xC000, -2), (0x7BFF, 65504), (0x0001, 0x1p-24), (0x03FF, 1023 * 0x1p-24),
            (0x0400, 0x1p-14), (0x3555, 0.333251953125), (0x7C00, .infinity), (0xFC00, -.infinity), (0x0000, 0),
        ]
        for (bits, value) in cases {
            XCTAssertEqual(Float16Conversion.float(fromHalfBits: bits), value, "0x\(String(bits, radix: 16))")
        }
        let negativeZero = Float16Conversion.float(fromHalfBits: 0x8000)
        XCTAssertEqual(negativeZero, 0)
        XCTAssertEqual(negativeZero.sign, .minus)
        XCTAssertTrue(Float16Conversion.float(fromHalfBits: 0x7E00).isNaN)
        XCTAssertTrue(Float16Conversion.float(fromHalfBits: 0x7C01).isNaN, "signalling NaN stays NaN, not inf")
        XCTAssertEqual(Float16Conversion.float(fromHalfBits: 0xFE00).sign, .minus)
    }

    /// Every half value survives half -> Float -> half unchanged (NaN stays NaN with its sign), and the
    /// lookup table agrees with the function.
    func testAllHalfValuesRoundTrip() {
        for h in 0...0xFFFF {
            let bits = UInt16(h)
            let f = Float16Conversion.float(fromHalfBits: bits)
            XCTAssertEqual(Float16Conversion.halfTable[h].bitPattern, f.bitPattern)
            let back = Float16Conversion.halfBits(from: f)
            if f.isNaN {
                XCTAssertEqual(back & 0x7C00, 0x7C00)
                XCTAssertNotEqual(back & 0x03FF, 0)
                XCTAssertEqual(back & 0x8000, bits & 0x8000)
            } else if back != bits {
                XCTFail("0x\(String(h, radix: 16)) -> \(f) -> 0x\(String(back, radix: 16))")
                return
            }
        }
    }

    func testFloatToHalfRoundsToNearestEven() {
        let cases: [(Float, UInt16)] = [
            (1 + 0x1p-11, 0x3C00),          // tie, rounds down to even
            (1 + 3 * 0x1p-11, 0x3C02),      // tie, rounds up to even
            (1 + 0x1p-11 + 0x1p-20, 0x3C01),  // just above the tie
            (-(1 + 0x1p-11), 0xBC00),
            (65504, 0x7BFF), (65519, 0x7BFF), (65520, 0x7C00), (-65520, 0xFC00), (1e10, 0x7C00),
            (0x1p-24, 0x0001), (0x1p-25, 0x0000), (3 * 0x1p-25, 0x0002), (5 * 0x1p-25, 0x0002),
            (0x1p-25 + 0x1p-40, 0x0001),    // just above half the smallest subnormal
            (0x1p-14 - 0x1p-25, 0x0400),    // tie between the largest subnormal and the smallest normal -> even (normal)
            (0x1p-14 - 0x1p-24, 0x03FF),
            (Float.leastNonzeroMagnitude, 0x0000), (-Float.leastNonzeroMagnitude, 0x8000),
            (-0.0, 0x8000), (.infinity, 0x7C00), (-.infinity, 0xFC00),
        ]
        for (value, bits) in cases {
            XCTAssertEqual(Float16Conversion.halfBits(from: value), bits, "\(value)")
        }
        XCTAssertTrue(Float16Conversion.float(fromHalfBits: Float16Conversion.halfBits(from: .nan)).isNaN)
    }

    #if !(os(macOS) && arch(x86_64))
    /// Agrees with Swift's own Float16 conversion (IEEE round to nearest even) on specials and on many
    /// pseudo-random bit patterns spread over all exponents.
    func testFloatToHalfMatchesSwiftFloat16() {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var mismatches = 0
        for i in 0..<400_000 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            var bits = UInt32(truncatingIfNeeded: state >> 32)
            if i % 2 == 0 {  // concentrate on the half range: exponents 100...145
                bits = (bits & 0x807F_FFFF) | (UInt32(100 + (state >> 8) % 46) << 23)
            }
            let f = Float(bitPattern: bits)
            let ours = Float16Conversion.halfBits(from: f)
            let swift = Float16(f).bitPattern
            if f.isNaN {
                XCTAssertTrue(Float16(bitPattern: ours).isNaN)
            } else if ours != swift {
                mismatches += 1
                if mismatches < 5 { XCTFail("\(f) (0x\(String(bits, radix: 16))): ours 0x\(String(ours, radix: 16)), Swift 0x\(String(swift, radix: 16))") }
            }
        }
        XCTAssertEqual(mismatches, 0)
        for h in 0...0xFFFF where !Float16(bitPattern: UInt16(h)).isNaN {
            XCTAssertEqual(Float16Conversion.float(fromHalfBits: UInt16(h)).bitPattern, Float(Float16(bitPattern: UInt16(h))).bitPattern)
        }
    }
    #endif

    func testBFloat16() {
        XCTAssertEqual(Float16Conversion.float(fromBFloat16Bits: 0x3F80), 1)
        XCTAssertEqual(Float16Conversion.float(fromBFloat16Bits: 0xC020), -2.5)
        XCTAssertEqual(Float16Conversion.float(fromBFloat16Bits: 0x0001), Float(bitPattern: 0x0001_0000))
        XCTAssertEqual(Float16Conversion.bfloat16Bits(from: 1 + 0x1p-8), 0x3F80, "tie rounds to even")
        XCTAssertEqual(Float16Conversion.bfloat16Bits(from: 1 + 3 * 0x1p-8), 0x3F82, "tie rounds to even")
        XCTAssertEqual(Float16Conversion.bfloat16Bits(from: 1 + 0x1p-8 + 0x1p-20), 0x3F81)
        XCTAssertEqual(Float16Conversion.bfloat16Bits(from: .greatestFiniteMagnitude), 0x7F80, "overflows to inf")
        XCTAssertEqual(Float16Conversion.bfloat16Bits(from: -.infinity), 0xFF80)
        XCTAssertTrue(Float16Conversion.float(fromBFloat16Bits: Float16Conversion.bfloat16Bits(from: .nan)).isNaN)
        // A NaN whose payload lies only in the low 16 bits must not become inf.
        XCTAssertTrue(Float16Conversion.float(fromBFloat16Bits: Float16Conversion.bfloat16Bits(from: Float(bitPattern: 0x7F80_0001))).isNaN)
    }
}
