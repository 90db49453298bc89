import XCTest
@testable import Tensors

final class AttentionTests: XCTestCase {
    /// softmax(scale Q K^T + mask) V per (batch, head), in Double; causal masks key j > query i.
    private func reference(_ q: Tensor, _ k: Tensor, _ v: Tensor, scale: Double? = nil, causal: Bool) -> [Double] {
        let r = q.rank
        let (tq, d, tk, dv) = (q.shape[r - 2], q.shape[r - 1], k.shape[r - 2], v.shape[r - 1])
        let problems = q.count / (tq * d)
        let s = scale ?? 1 / Double(d).squareRoot()
        var out: [Double] = []
        for p in 0..<problems {
            for i in 0..<tq {
                var scores = (0..<tk).map { j -> Double in
                    if causal && j > i { return -.infinity }
                    var dot = 0.0
                    for c in 0..<d { dot += Double(q.scalars[(p * tq + i) * d + c]) * Double(k.scalars[(p * tk + j) * d + c]) }
                    return dot * s
                }
                let m = scores.max()!
                scores = scores.map { Foundation.exp($0 - m) }
                let sum = scores.reduce(0, +)
                for c in 0..<dv {
                    var acc = 0.0
                    for j in 0..<tk { acc += scores[j] / sum * Double(v.scalars[(p * tk + j) * dv + c]) }
                    out.append(acc)
                }
            }
        }
        return out
    }

    func testCrossAttentionWithDifferentLengths() {
        var rng = TestRandom(seed: 60)
        let q = rng.tensor([2, 3, 7, 8]), k = rng.tensor([2, 3, 5, 8]), v = rng.tensor([2, 3, 5, 6])
        assertClose(Tensor.scaledDotProductAttention(query: q, key: k, value: v), reference(q, k, v, causal: false),
                    shape: [2, 3, 7, 6], "cross")
        assertClose(Tensor.scaledDotProductAttention(query: q, key: k, value: v, scale: 0.3), reference(q, k, v, scale: 0.3, causal: false),
                    "explicit scale")
    }

    func testCausalSelfAttentionAndCausalWithTqNotTk() {
        var rng = TestRandom(seed: 61)
        let q = rng.tensor([1, 2, 9, 4], -2, 2), k = rng.tensor([1, 2, 9, 4], -2, 2), v = rng.tensor([1, 2, 9, 4])
        assertClose(Tensor.scaledDotProductAttention(query: q, key: k, value: v, causal: true), reference(q, k, v, causal: true), "causal")
        let q2 = rng.tensor([2, 1, 5, 4], -2, 2), k2 = rng.tensor([2, 1, 8, 4], -2, 2), v2 = rng.tensor([2, 1, 8, 3])
        assertClose(Tensor.scaledDotProductAttention(query: q2, key: k2, value: v2, causal: true), reference(q2, k2, v2, causal: true),
                    "causal Tq < Tk")
    }

    func testQueryRowBlocksGiveTheSameResult() {
        let saved = AttentionCore.scoreBudget
        AttentionCore.scoreBudget = 20   // 2 query rows per block with 9 keys
        defer { AttentionCore.scoreBudget = saved }
        var rng = TestRandom(seed: 62)
        let q = rng.tensor([2, 2, 11, 4], -2, 2), k = rng.tensor([2, 2, 9, 4], -2, 2), v = rng.tensor([2, 2, 9, 5])
        assertClose(Tensor.scaledDotProductAttention(query: q, key: k, value: v), reference(q, k, v, causal: false), "blocked")
        let ks = rng.tensor([2, 2, 11, 4], -2, 2), vs = rng.tensor([2, 2, 11, 5])
        assertClose(Tensor.scaledDotProductAttention(query: q, key: ks, value: vs, causal: true), reference(q, ks, vs, causal: true),
                    "blocked causal")
    }

    func testMultiHeadAttentionEqualsSplitAttendMerge() {
        var rng = TestRandom(seed: 63)
        let heads = 3
        let q = rng.tensor([2, 7, heads * 4]), k = rng.tensor([2, 5, heads * 4]), v = rng.tensor([2, 5, heads * 2])
        let expected = Tensor.scaledDotProductAttention(query: q.splitHeads(heads), key: k.splitHeads(heads), value: v.splitHeads(heads))
            .mergeHeads()
        let fused = Tensor.multiHeadAttention(query: q, key: k, value: v, heads: heads)
        XCTAssertEqual(fused.shape, [2, 7, heads * 2])
        assertClose(fused, doubles(expected), rtol: 1e-6, atol: 1e-7, "fused heads")
        let qs = rng.tensor([1, 6, heads * 4])
        assertClose(Tensor.multiHeadAttention(query: qs, key: qs, value: qs, heads: heads, causal: true),
                    doubles(Tensor.scaledDotProductAttention(query: qs.splitHeads(heads), key: qs.splitHeads(heads),
                                                             value: qs.splitHeads(heads), causal: true).mergeHeads()),
                    rtol: 1e-6, atol: 1e-7, "fused causal")
    }
}
