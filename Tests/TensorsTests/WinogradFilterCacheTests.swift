import Foundation
import XCTest
@testable import Tensors

/// Kept Winograd filters (issue 17): a kept filter gives the bits of the weight transformed in the call with the same
/// variant, and layers keep the variant a plain call chooses, so `--winograd-cache-mb` changes speed and memory,
/// never results.
final class WinogradFilterCacheTests: XCTestCase {
    func testAKeptFilterGivesTheBitsOfTheInCallTransform() {
        let saved = WinogradGeometry.filterBlockBudget
        defer { WinogradGeometry.filterBlockBudget = saved }
        var rng = TestRandom(seed: 901)
        for (budget, c, o, side) in [(saved, 24, 40, 12), (1, 24, 40, 12), (saved, 16, 33, 20), (36 * 16 * 9, 16, 33, 20)] {
            WinogradGeometry.filterBlockBudget = budget   // 1: blocks of 8 output channels
            let x = rng.tensor([2, c, side, side]), w = rng.tensor([o, c, 3, 3], -0.2, 0.2), b = rng.tensor([o])
            for variant in WinogradVariant.allCases {
                let inCall = x.conv2d(weight: w, bias: b, padding: Padding2D(1), using: .winograd(variant))
                let kept = x.conv2d(winograd: WinogradFilter(weight: w, variant: variant), bias: b, padding: Padding2D(1))
                XCTAssertEqual(kept.scalars, inCall.scalars, "\(variant), \(c) -> \(o) at \(side)x\(side), filter blocks of \(budget) floats")
            }
        }
    }

    func testTheBudgetDecidesWhatIsKeptAndNotTheBits() {
        let savedProduct = WinogradCacheBudget.minimumChannelProduct
        defer {
            WinogradCacheBudget.minimumChannelProduct = savedProduct
            WinogradCacheBudget.set(megabytes: WinogradCacheBudget.defaultMegabytes)
        }
        WinogradCacheBudget.minimumChannelProduct = 1
        var rng = TestRandom(seed: 902)
        let (c, o) = (96, 80)   // C + O >= 160: Winograd; a 32x32 plane: F(4,3) transformed in the call
        let x = rng.tensor([1, c, 32, 32]), w = rng.tensor([o, c, 3, 3], -0.2, 0.2), b = rng.tensor([o])
        let bytes = 36 * o * c * 4
        let plain = x.conv2d(weight: w, bias: b, stride: 1, padding: Padding2D(1))

        WinogradCacheBudget.set(megabytes: 0)
        let none = WinogradFilterCache()
        let before = WinogradCacheBudget.usedBytes
        let inCall = x.conv2d(weight: w, bias: b, stride: 1, padding: Padding2D(1), keeping: none)
        XCTAssertEqual(WinogradCacheBudget.usedBytes, before, "no room: nothing kept")
        XCTAssertNil(none.filter(for: w, variant: .f4x3))

        WinogradCacheBudget.set(megabytes: 1 << 20)
        let cache = WinogradFilterCache()
        let first = x.conv2d(weight: w, bias: b, stride: 1, padding: Padding2D(1), keeping: cache)
        XCTAssertEqual(WinogradCacheBudget.usedBytes, before + bytes, "the F(4,3) filter is kept: 36 x O x C floats")
        let second = x.conv2d(weight: w, bias: b, stride: 1, padding: Padding2D(1), keeping: cache)
        XCTAssertEqual(WinogradCacheBudget.usedBytes, before + bytes, "kept once")
        XCTAssertEqual(first.scalars, inCall.scalars, "kept or not, the same bits")
        XCTAssertEqual(inCall.scalars, plain.scalars, "and the bits of a plain conv2d call")
        XCTAssertEqual(second.scalars, inCall.scalars)
        let reference = x.conv2d(weight: w, bias: b, padding: Padding2D(1), using: .im2col)
        let error = zip(first.scalars, reference.scalars).map { abs($0 - $1) }.max()!
        XCTAssertLessThan(error, 1e-4, "Winograd agrees with im2col")

        WinogradCacheBudget.minimumChannelProduct = savedProduct
        let small = WinogradFilterCache()
        _ = x.conv2d(weight: w, bias: b, stride: 1, padding: Padding2D(1), keeping: small)
        XCTAssertEqual(WinogradCacheBudget.usedBytes, before + bytes, "96 x 80 channels is below the product that is kept")
    }
}
