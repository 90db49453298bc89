extension Tensor {
    /// Nearest-neighbour 2x upsampling of (N, C, H, W) to (N, C, 2H, 2W)
    /// (`F.interpolate(x, scale_factor=2.0, mode="nearest")`, diffusers' Upsample2D).
    public func upsampledNearest2x() -> Tensor {
        precondition(rank == 4, "upsampledNearest2x: input must be (N, C, H, W), got \(shape)")
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        return Tensor(uninitializedShape: [n, c, 2 * h, 2 * w]) { out in
            withPointer { src0 in
                let src = SharedPointer(UnsafeMutablePointer(mutating: src0)), dst = SharedPointer(out)
                parallelUnits(n * c) { plane in
                    let from = src.base + plane * h * w, to = dst.base + plane * 4 * h * w
                    for y in 0..<h {
                        let row = to + 2 * y * 2 * w, input = from + y * w
                        for x in 0..<w {
                            let v = input[x]
                            row[2 * x] = v
                            row[2 * x + 1] = v
                        }
                        (row + 2 * w).update(from: row, count: 2 * w)
                    }
                }
            }
        }
    }
}
